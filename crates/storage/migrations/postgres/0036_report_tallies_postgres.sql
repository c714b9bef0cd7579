-- The reports' figures on PostgreSQL read from indexes (decision 115), as
-- SQLite does since migration 0033. At 184,000 reports of an organisation
-- (`veille demo --scale 1000000`), PostgreSQL read the 41-column table twice
-- at once: the codes and situation sets grouped by hashing (145 ms) and the
-- steps' times sorted (116 ms). From these indexes, read alone in their
-- order: the combinations of codes with the steps reached 70 ms, the
-- situation sets 30 ms, each step's times 30-60 ms (the rows come in order;
-- the delays' indexes now hold the two instants their order is computed
-- from, without which PostgreSQL reads the table for each entry).
CREATE INDEX reports_tallied ON reports (source, channel, status, level, level_override, organisation_id,
    triage_organisation_id, acknowledged_at, answered_at, duplicate_of, created_at, territory_id, situations);
CREATE INDEX reports_situation_sets ON reports (situations, organisation_id, triage_organisation_id) WHERE situations <> '';
DROP INDEX reports_answer_delay;
CREATE INDEX reports_answer_delay ON reports ((answered_at - created_at), organisation_id, triage_organisation_id)
    INCLUDE (answered_at, created_at) WHERE answered_at IS NOT NULL AND duplicate_of IS NULL;
DROP INDEX reports_acknowledge_delay;
CREATE INDEX reports_acknowledge_delay ON reports ((acknowledged_at - created_at), organisation_id, triage_organisation_id)
    INCLUDE (acknowledged_at, created_at) WHERE acknowledged_at IS NOT NULL;
