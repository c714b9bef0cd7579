-- The encounters of each organisation counted by hour (decision 105): the
-- figures' trend of encounters, twelve months of an organisation's
-- encounters, counted ~800,000 entries of an index at a million encounters
-- (PostgreSQL 70–115 ms, SQLite 35 ms alone); summed from this table it is
-- at most 8,784 rows a year. An hour, not a day: a month in Paris time
-- starts on a whole hour of UTC, not on a UTC day. The hour of an instant
-- (microseconds since 1970, UTC) is its floor, written so that SQLite's
-- truncating division floors too.
--
-- Kept by triggers on `encounters`, so every path that records, moves or
-- removes an encounter keeps it, and a restore rebuilds it (derived, not
-- backed up; no personal data: counts by organisation and hour). Its
-- changes move no epoch of their own: each comes with a change of
-- `encounters`, whose triggers move the same days. An hour whose
-- encounters all went stays with a count of 0.
CREATE TABLE encounter_hours (
    organisation_id TEXT NOT NULL,
    hour {{INT}} NOT NULL,
    n {{INT}} NOT NULL,
    PRIMARY KEY (organisation_id, hour)
);

INSERT INTO encounter_hours (organisation_id, hour, n)
SELECT organisation_id, {{HOUR:at}} AS h, COUNT(*)
FROM encounters GROUP BY organisation_id, h;

{{SQLITE}}
CREATE TRIGGER encounter_hours_in AFTER INSERT ON encounters BEGIN
    INSERT INTO encounter_hours (organisation_id, hour, n)
    VALUES (NEW.organisation_id, {{HOUR:NEW.at}}, 1)
    ON CONFLICT (organisation_id, hour) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER encounter_hours_out AFTER DELETE ON encounters BEGIN
    UPDATE encounter_hours SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND hour = {{HOUR:OLD.at}};
END;
CREATE TRIGGER encounter_hours_moved AFTER UPDATE OF at, organisation_id ON encounters
WHEN NEW.at <> OLD.at OR NEW.organisation_id <> OLD.organisation_id BEGIN
    UPDATE encounter_hours SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND hour = {{HOUR:OLD.at}};
    INSERT INTO encounter_hours (organisation_id, hour, n)
    VALUES (NEW.organisation_id, {{HOUR:NEW.at}}, 1)
    ON CONFLICT (organisation_id, hour) DO UPDATE SET n = n + 1;
END;
{{END}}
{{POSTGRES}}
-- PostgreSQL: once per statement, the rows it changed counted by
-- organisation and hour, written in the order of their key (two statements
-- at once take the rows they share in the same order).
CREATE FUNCTION encounter_hours_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO encounter_hours (organisation_id, hour, n)
    SELECT m.organisation_id, {{HOUR:m.at}} AS h, COUNT(*) FROM met m GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (organisation_id, hour) DO UPDATE SET n = encounter_hours.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER encounter_hours_in AFTER INSERT ON encounters
REFERENCING NEW TABLE AS met FOR EACH STATEMENT EXECUTE FUNCTION encounter_hours_in();
CREATE FUNCTION encounter_hours_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO encounter_hours (organisation_id, hour, n)
    SELECT g.organisation_id, {{HOUR:g.at}} AS h, -COUNT(*) FROM gone g GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (organisation_id, hour) DO UPDATE SET n = encounter_hours.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER encounter_hours_out AFTER DELETE ON encounters
REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION encounter_hours_out();
-- An encounter moved in time or to another organisation: one fewer where it
-- was, one more where it is.
CREATE FUNCTION encounter_hours_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO encounter_hours (organisation_id, hour, n)
    SELECT o, h, SUM(d) FROM (
        SELECT m.organisation_id AS o, {{HOUR:m.at}} AS h, 1 AS d
        FROM moved m JOIN was w ON w.id = m.id WHERE m.at <> w.at OR m.organisation_id <> w.organisation_id
        UNION ALL
        SELECT w.organisation_id, {{HOUR:w.at}}, -1
        FROM moved m JOIN was w ON w.id = m.id WHERE m.at <> w.at OR m.organisation_id <> w.organisation_id) c
    GROUP BY o, h ORDER BY o, h
    ON CONFLICT (organisation_id, hour) DO UPDATE SET n = encounter_hours.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER encounter_hours_moved AFTER UPDATE ON encounters
REFERENCING OLD TABLE AS was NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION encounter_hours_moved();
{{END}}

-- Planner statistics for the new table (see migration 0027).
ANALYZE encounter_hours;
