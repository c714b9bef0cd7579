-- Each file met, with its encounter's organisation, instant and territory
-- (decision 104): the figures' people met in a period were found by joining
-- a period's encounters to their people (a month of the main organisation at
-- a million encounters: 67,000 probes of `encounter_people` on SQLite, a hash
-- of its million rows on PostgreSQL — the largest part of the activity
-- report's time); here they are one range of one index. Kept by triggers
-- from `encounter_people` and `encounters`, so every path that records,
-- moves or removes an encounter (the forms, sync, imports, erasure, a
-- restore) keeps it; derived, it is not backed up (a restore rebuilds it as
-- it inserts the encounters' people). Its changes move no epoch of their own
-- (migration 0028): each comes with a change of `encounter_people` or
-- `encounters`, whose triggers move the same days.
CREATE TABLE people_met (
    encounter_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    territory_id TEXT,
    PRIMARY KEY (encounter_id, person_id)
) WITHOUT ROWID;

INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id)
SELECT ep.encounter_id, ep.person_id, e.organisation_id, e.at, e.territory_id FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id;

-- An organisation's files met in a period (and in a territory), from the index alone.
CREATE INDEX people_met_organisation ON people_met (organisation_id, at, person_id, territory_id);

CREATE TRIGGER people_met_in AFTER INSERT ON encounter_people BEGIN
    INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id)
    SELECT NEW.encounter_id, NEW.person_id, e.organisation_id, e.at, e.territory_id FROM encounters e WHERE e.id = NEW.encounter_id;
END;
CREATE TRIGGER people_met_out AFTER DELETE ON encounter_people BEGIN
    DELETE FROM people_met WHERE encounter_id = OLD.encounter_id AND person_id = OLD.person_id;
END;
CREATE TRIGGER people_met_moved_file AFTER UPDATE OF encounter_id, person_id ON encounter_people BEGIN
    DELETE FROM people_met WHERE encounter_id = OLD.encounter_id AND person_id = OLD.person_id;
    INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id)
    SELECT NEW.encounter_id, NEW.person_id, e.organisation_id, e.at, e.territory_id FROM encounters e WHERE e.id = NEW.encounter_id;
END;
-- An encounter moved in time, to another organisation or territory.
CREATE TRIGGER people_met_moved AFTER UPDATE OF at, organisation_id, territory_id ON encounters
WHEN NEW.at <> OLD.at OR NEW.organisation_id <> OLD.organisation_id OR NEW.territory_id IS NOT OLD.territory_id BEGIN
    UPDATE people_met SET organisation_id = NEW.organisation_id, at = NEW.at, territory_id = NEW.territory_id WHERE encounter_id = NEW.id;
END;

-- Planner statistics for the new table and index (see migration 0027).
ANALYZE people_met;
