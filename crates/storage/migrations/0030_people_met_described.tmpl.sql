-- Each file met carries what describes it in the figures — its gender,
-- birth year and age band (from `people`) and its first encounter with the
-- encounter's organisation (from `person_first_encounters`) — beside its
-- encounter's organisation, instant and territory (decision 105). An
-- organisation's people met in a period are then counted from one range of
-- one index, without joining the period's files to `people` and to their
-- first encounters: on PostgreSQL that join (two hashes of 100,000 rows for
-- 40,000 files a month at a million encounters) was most of the activity
-- report's time (215 → 80 ms a month, EXPLAIN ANALYZE).
--
-- Kept by triggers, as migration 0029: a file met takes its description and
-- first encounter when it is copied; a change of a file's gender, birth year
-- or age band reaches its copies; a change of a first encounter (added,
-- moved, removed) reaches the copies of that file with that organisation;
-- an encounter moved to another organisation takes its files' first
-- encounters with the new one. Whatever order the triggers of one change run
-- in, the copies end with the values of `people` and
-- `person_first_encounters` (each reads them when it writes a copy, and
-- each change of those reaches the copies). Derived, not backed up; its
-- changes move no epoch (those of `people`, `encounters` and
-- `encounter_people` do).
{{SQLITE}}
DROP TRIGGER people_met_in;
DROP TRIGGER people_met_out;
DROP TRIGGER people_met_moved_file;
DROP TRIGGER people_met_moved;
{{END}}
{{POSTGRES}}
DROP TRIGGER people_met_in ON encounter_people;
DROP TRIGGER people_met_out ON encounter_people;
DROP TRIGGER people_met_moved_file ON encounter_people;
DROP TRIGGER people_met_moved ON encounters;
DROP FUNCTION people_met_in();
DROP FUNCTION people_met_out();
DROP FUNCTION people_met_moved_file();
DROP FUNCTION people_met_moved();
{{END}}
DROP TABLE people_met;

{{SQLITE}}
CREATE TABLE people_met (
    encounter_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    territory_id TEXT,
    gender TEXT,
    birth_year INTEGER,
    age_band TEXT,
    first_at INTEGER,
    PRIMARY KEY (encounter_id, person_id)
) WITHOUT ROWID;
{{END}}
{{POSTGRES}}
CREATE TABLE people_met (
    encounter_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    territory_id TEXT,
    gender TEXT,
    birth_year BIGINT,
    age_band TEXT,
    first_at BIGINT,
    PRIMARY KEY (encounter_id, person_id)
);
{{END}}

INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id, gender, birth_year, age_band, first_at)
SELECT ep.encounter_id, ep.person_id, e.organisation_id, e.at, e.territory_id, p.gender, p.birth_year, p.age_band, fe.first_at
FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id
LEFT JOIN people p ON p.id = ep.person_id
LEFT JOIN person_first_encounters fe ON fe.person_id = ep.person_id AND fe.organisation_id = e.organisation_id;

-- An organisation's files met in a period (and in a territory), with what
-- describes them, from the index alone.
CREATE INDEX people_met_organisation ON people_met (organisation_id, at, person_id, territory_id, gender, birth_year, age_band, first_at);
-- A file's copies (a change of its description or of a first encounter).
CREATE INDEX people_met_person ON people_met (person_id, organisation_id);

{{SQLITE}}
CREATE TRIGGER people_met_in AFTER INSERT ON encounter_people BEGIN
    INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id, gender, birth_year, age_band, first_at)
    SELECT NEW.encounter_id, NEW.person_id, e.organisation_id, e.at, e.territory_id, p.gender, p.birth_year, p.age_band, fe.first_at
    FROM encounters e LEFT JOIN people p ON p.id = NEW.person_id
    LEFT JOIN person_first_encounters fe ON fe.person_id = NEW.person_id AND fe.organisation_id = e.organisation_id
    WHERE e.id = NEW.encounter_id;
END;
CREATE TRIGGER people_met_out AFTER DELETE ON encounter_people BEGIN
    DELETE FROM people_met WHERE encounter_id = OLD.encounter_id AND person_id = OLD.person_id;
END;
CREATE TRIGGER people_met_moved_file AFTER UPDATE OF encounter_id, person_id ON encounter_people BEGIN
    DELETE FROM people_met WHERE encounter_id = OLD.encounter_id AND person_id = OLD.person_id;
    INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id, gender, birth_year, age_band, first_at)
    SELECT NEW.encounter_id, NEW.person_id, e.organisation_id, e.at, e.territory_id, p.gender, p.birth_year, p.age_band, fe.first_at
    FROM encounters e LEFT JOIN people p ON p.id = NEW.person_id
    LEFT JOIN person_first_encounters fe ON fe.person_id = NEW.person_id AND fe.organisation_id = e.organisation_id
    WHERE e.id = NEW.encounter_id;
END;
-- An encounter moved in time, to another organisation or territory.
CREATE TRIGGER people_met_moved AFTER UPDATE OF at, organisation_id, territory_id ON encounters
WHEN NEW.at <> OLD.at OR NEW.organisation_id <> OLD.organisation_id OR NEW.territory_id IS NOT OLD.territory_id BEGIN
    UPDATE people_met SET organisation_id = NEW.organisation_id, at = NEW.at, territory_id = NEW.territory_id,
        first_at = (SELECT fe.first_at FROM person_first_encounters fe WHERE fe.person_id = people_met.person_id AND fe.organisation_id = NEW.organisation_id)
    WHERE encounter_id = NEW.id;
END;
-- A file's description changed.
CREATE TRIGGER people_met_described AFTER UPDATE OF gender, birth_year, age_band ON people
WHEN NEW.gender IS NOT OLD.gender OR NEW.birth_year IS NOT OLD.birth_year OR NEW.age_band IS NOT OLD.age_band BEGIN
    UPDATE people_met SET gender = NEW.gender, birth_year = NEW.birth_year, age_band = NEW.age_band WHERE person_id = NEW.id;
END;
-- A file's first encounter with an organisation added, moved or removed.
CREATE TRIGGER people_met_first_in AFTER INSERT ON person_first_encounters BEGIN
    UPDATE people_met SET first_at = NEW.first_at WHERE person_id = NEW.person_id AND organisation_id = NEW.organisation_id;
END;
CREATE TRIGGER people_met_first_up AFTER UPDATE ON person_first_encounters
WHEN NEW.first_at IS NOT OLD.first_at OR NEW.person_id <> OLD.person_id OR NEW.organisation_id <> OLD.organisation_id BEGIN
    UPDATE people_met SET first_at = NULL WHERE person_id = OLD.person_id AND organisation_id = OLD.organisation_id;
    UPDATE people_met SET first_at = NEW.first_at WHERE person_id = NEW.person_id AND organisation_id = NEW.organisation_id;
END;
CREATE TRIGGER people_met_first_out AFTER DELETE ON person_first_encounters BEGIN
    UPDATE people_met SET first_at = NULL WHERE person_id = OLD.person_id AND organisation_id = OLD.organisation_id;
END;
{{END}}
{{POSTGRES}}
-- PostgreSQL: once per statement, over the rows it changed. An update of
-- `encounter_people` (the file or the encounter of a row changed) removes
-- the old copies, then writes the new ones: the triggers of one event run in
-- the order of their names (`people_met_gone_moved` < `people_met_in_moved`).
CREATE FUNCTION people_met_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO people_met (encounter_id, person_id, organisation_id, at, territory_id, gender, birth_year, age_band, first_at)
    SELECT n.encounter_id, n.person_id, e.organisation_id, e.at, e.territory_id, p.gender, p.birth_year, p.age_band, fe.first_at
    FROM met n JOIN encounters e ON e.id = n.encounter_id
    LEFT JOIN people p ON p.id = n.person_id
    LEFT JOIN person_first_encounters fe ON fe.person_id = n.person_id AND fe.organisation_id = e.organisation_id;
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_in AFTER INSERT ON encounter_people
REFERENCING NEW TABLE AS met FOR EACH STATEMENT EXECUTE FUNCTION people_met_in();
CREATE FUNCTION people_met_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM people_met pm USING gone g WHERE pm.encounter_id = g.encounter_id AND pm.person_id = g.person_id;
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_gone AFTER DELETE ON encounter_people
REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION people_met_gone();
CREATE TRIGGER people_met_gone_moved AFTER UPDATE ON encounter_people
REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION people_met_gone();
CREATE TRIGGER people_met_in_moved AFTER UPDATE ON encounter_people
REFERENCING NEW TABLE AS met FOR EACH STATEMENT EXECUTE FUNCTION people_met_in();
-- An encounter moved in time, to another organisation or territory.
CREATE FUNCTION people_met_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE people_met pm SET organisation_id = m.organisation_id, at = m.at, territory_id = m.territory_id,
        first_at = (SELECT fe.first_at FROM person_first_encounters fe WHERE fe.person_id = pm.person_id AND fe.organisation_id = m.organisation_id)
    FROM moved m JOIN was w ON w.id = m.id
    WHERE pm.encounter_id = m.id
      AND (m.at <> w.at OR m.organisation_id <> w.organisation_id OR m.territory_id IS DISTINCT FROM w.territory_id);
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_moved AFTER UPDATE ON encounters
REFERENCING OLD TABLE AS was NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION people_met_moved();
-- A file's description changed.
CREATE FUNCTION people_met_described() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE people_met pm SET gender = n.gender, birth_year = n.birth_year, age_band = n.age_band
    FROM described n JOIN was w ON w.id = n.id
    WHERE pm.person_id = n.id
      AND (n.gender IS DISTINCT FROM w.gender OR n.birth_year IS DISTINCT FROM w.birth_year OR n.age_band IS DISTINCT FROM w.age_band);
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_described AFTER UPDATE ON people
REFERENCING OLD TABLE AS was NEW TABLE AS described FOR EACH STATEMENT EXECUTE FUNCTION people_met_described();
-- A file's first encounter with an organisation added, moved or removed
-- (removed first: an update runs `people_met_first_gone` before
-- `people_met_first_in`, in the order of their names).
CREATE FUNCTION people_met_first_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE people_met pm SET first_at = f.first_at FROM firsts f
    WHERE pm.person_id = f.person_id AND pm.organisation_id = f.organisation_id AND pm.first_at IS DISTINCT FROM f.first_at;
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_first_in AFTER INSERT ON person_first_encounters
REFERENCING NEW TABLE AS firsts FOR EACH STATEMENT EXECUTE FUNCTION people_met_first_in();
CREATE FUNCTION people_met_first_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE people_met pm SET first_at = NULL FROM gone g
    WHERE pm.person_id = g.person_id AND pm.organisation_id = g.organisation_id AND pm.first_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM person_first_encounters fe WHERE fe.person_id = g.person_id AND fe.organisation_id = g.organisation_id);
    RETURN NULL;
END $$;
CREATE TRIGGER people_met_first_gone AFTER DELETE ON person_first_encounters
REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION people_met_first_gone();
CREATE TRIGGER people_met_first_gone_moved AFTER UPDATE ON person_first_encounters
REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION people_met_first_gone();
CREATE TRIGGER people_met_first_in_moved AFTER UPDATE ON person_first_encounters
REFERENCING NEW TABLE AS firsts FOR EACH STATEMENT EXECUTE FUNCTION people_met_first_in();
{{END}}

-- Planner statistics for the new table and indexes (see migration 0027).
ANALYZE people_met;
