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
    hour INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, hour)
);

INSERT INTO encounter_hours (organisation_id, hour, n)
SELECT organisation_id, (at - ((at % 3600000000) + 3600000000) % 3600000000) / 3600000000 AS h, COUNT(*)
FROM encounters GROUP BY organisation_id, h;

CREATE TRIGGER encounter_hours_in AFTER INSERT ON encounters BEGIN
    INSERT INTO encounter_hours (organisation_id, hour, n)
    VALUES (NEW.organisation_id, (NEW.at - ((NEW.at % 3600000000) + 3600000000) % 3600000000) / 3600000000, 1)
    ON CONFLICT (organisation_id, hour) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER encounter_hours_out AFTER DELETE ON encounters BEGIN
    UPDATE encounter_hours SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND hour = (OLD.at - ((OLD.at % 3600000000) + 3600000000) % 3600000000) / 3600000000;
END;
CREATE TRIGGER encounter_hours_moved AFTER UPDATE OF at, organisation_id ON encounters
WHEN NEW.at <> OLD.at OR NEW.organisation_id <> OLD.organisation_id BEGIN
    UPDATE encounter_hours SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND hour = (OLD.at - ((OLD.at % 3600000000) + 3600000000) % 3600000000) / 3600000000;
    INSERT INTO encounter_hours (organisation_id, hour, n)
    VALUES (NEW.organisation_id, (NEW.at - ((NEW.at % 3600000000) + 3600000000) % 3600000000) / 3600000000, 1)
    ON CONFLICT (organisation_id, hour) DO UPDATE SET n = n + 1;
END;

-- Planner statistics for the new table (see migration 0027).
ANALYZE encounter_hours;
