-- What a coordinator's home page reads at each view (decision 113). At
-- 200,000 reports and 50,000 rounds (`veille demo --scale 1000000`), on an
-- AMD EPYC of two cores: the rounds planned for the day and those ended in
-- the week scanned every round (9-15 ms each on PostgreSQL, twice a view);
-- the overdue count read every report (PostgreSQL 67-74 ms). The rounds by
-- their planned start; on PostgreSQL, the reports that can be past a
-- deadline (open, not yet acknowledged or not yet answered) with every
-- column the overdue count reads, which it then reads alone. SQLite, with
-- its statistics, prefers `reports_tallied` (migration 0033) for that count
-- whether or not such an index exists, so it does not get one.
CREATE INDEX rounds_planned ON rounds (planned_start);

CREATE INDEX reports_waiting ON reports (created_at, level, level_override, acknowledged_at, answered_at, organisation_id, triage_organisation_id)
    WHERE status <> 'closed' AND (acknowledged_at IS NULL OR answered_at IS NULL);

