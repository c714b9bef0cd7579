-- Duplicates of signalements: a report attached to the main report it repeats
-- (with what it was before, so that detaching restores it), and the pairs a
-- person judged distinct, so they are not suggested again.
-- No foreign key on duplicate_of: backups restore reports in any order.

ALTER TABLE reports ADD COLUMN duplicate_of TEXT;
ALTER TABLE reports ADD COLUMN duplicate_prev_status TEXT;
ALTER TABLE reports ADD COLUMN duplicate_prev_outcome TEXT;
CREATE INDEX reports_duplicate_of ON reports (duplicate_of);

CREATE TABLE report_distinct_pairs (
    id TEXT PRIMARY KEY,
    report_a TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    report_b TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    decided_by TEXT REFERENCES users (id),
    decided_at {{INT}} NOT NULL,
    CONSTRAINT report_distinct_pairs_unique UNIQUE (report_a, report_b)
);
CREATE INDEX report_distinct_pairs_b ON report_distinct_pairs (report_b);
