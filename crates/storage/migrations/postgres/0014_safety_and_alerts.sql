-- When an overdue action's alert was sent (once), and the team safety rules of
-- an organisation, shown at round check-in (empty: the default text of the
-- catalogues).
ALTER TABLE actions ADD COLUMN alerted_at BIGINT;
ALTER TABLE organisations ADD COLUMN safety_rules TEXT NOT NULL DEFAULT '';
