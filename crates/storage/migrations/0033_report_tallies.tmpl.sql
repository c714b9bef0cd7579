-- The reports' figures on SQLite (decision 110): SQLite sorts what it
-- groups, unless an index gives the rows in the grouping's order. At
-- 200,000 reports of an organisation, 27 filtered counts over the table took
-- 123 ms and the situation sets grouped 112 ms (a sort of 122,000 rows);
-- from these indexes, holding every column the counts and the queue's
-- filters read, 43 and 12 ms. PostgreSQL groups both in one pass of hashed
-- grouping sets (decision 109) and needs neither.
{{SQLITE}}
CREATE INDEX reports_tallied ON reports (source, channel, status, level, level_override, organisation_id,
    triage_organisation_id, acknowledged_at, answered_at, duplicate_of, created_at, territory_id, situations);
CREATE INDEX reports_situation_sets ON reports (situations, organisation_id, triage_organisation_id) WHERE situations <> '';

-- Planner statistics for the new indexes (see migration 0027).
ANALYZE reports;
{{END}}
