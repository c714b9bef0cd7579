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
    at BIGINT NOT NULL,
    territory_id TEXT,
    PRIMARY KEY (encounter_id, person_id)
);

INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id)
SELECT ep.encounter_id, ep.person_id, e.organisation_id, e.at, e.territory_id FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id;

-- An organisation's files met in a period (and in a territory), from the index alone.
CREATE INDEX people_met_organisation ON people_met (organisation_id, at, person_id, territory_id);

-- PostgreSQL: once per statement, over the rows it changed.
CREATE FUNCTION people_met_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id)
    SELECT n.encounter_id, n.person_id, e.organisation_id, e.at, e.territory_id FROM met n JOIN encounters e ON e.id = n.encounter_id;
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_in AFTER INSERT ON encounter_people
REFERENCING NEW TABLE AS met FOR EACH STATEMENT EXECUTE FUNCTION people_met_in();
CREATE FUNCTION people_met_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM people_met pm USING gone g WHERE pm.encounter_id = g.encounter_id AND pm.person_id = g.person_id;
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_out AFTER DELETE ON encounter_people
REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION people_met_out();
CREATE FUNCTION people_met_moved_file() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM people_met pm USING gone g WHERE pm.encounter_id = g.encounter_id AND pm.person_id = g.person_id;
    INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id)
    SELECT n.encounter_id, n.person_id, e.organisation_id, e.at, e.territory_id FROM met n JOIN encounters e ON e.id = n.encounter_id;
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_moved_file AFTER UPDATE ON encounter_people
REFERENCING OLD TABLE AS gone NEW TABLE AS met FOR EACH STATEMENT EXECUTE FUNCTION people_met_moved_file();
-- An encounter moved in time, to another organisation or territory.
CREATE FUNCTION people_met_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE people_met pm SET organisation_id = m.organisation_id, at = m.at, territory_id = m.territory_id
    FROM moved m JOIN was w ON w.id = m.id
    WHERE pm.encounter_id = m.id
      AND (m.at <> w.at OR m.organisation_id <> w.organisation_id OR m.territory_id IS DISTINCT FROM w.territory_id);
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_moved AFTER UPDATE ON encounters
REFERENCING OLD TABLE AS was NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION people_met_moved();

-- Planner statistics for the new table and index (see migration 0027).
ANALYZE people_met;
