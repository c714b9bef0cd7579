-- The response times of the report figures (decision 99): on SQLite each
-- order statistic (the median, the 90th percentile) is read from the nearer
-- end of the reports that reached the step, in the order of their delay; these
-- indexes hold them in that order with the organisations of the figures' scope,
-- so a read walks the index up to the rank instead of sorting every report.
-- Partial: a report enters them when it reaches the step, so receiving one
-- writes nothing more. PostgreSQL reads both quantiles with one sort
-- (`percentile_disc`), which its planner prefers at 200,000 reports: there
-- they cost a write when a report reaches the step.
CREATE INDEX reports_answer_delay ON reports ((answered_at - created_at), organisation_id, triage_organisation_id) WHERE answered_at IS NOT NULL AND duplicate_of IS NULL;
CREATE INDEX reports_acknowledge_delay ON reports ((acknowledged_at - created_at), organisation_id, triage_organisation_id) WHERE acknowledged_at IS NOT NULL;
