-- Signalements, second part: what is seen as situation types (one or several
-- from a fixed list), the reporter's identity for partner intake (restricted,
-- like the contact fields), an optional link to a known site (no foreign key:
-- sites live in their own module), acknowledgement and answer instants for the
-- deadlines, the routing table by situation type, photos, and photos accepted
-- on a form that had to be shown again (kept under a random token for a while).
-- The audit log gets its entries written without their place in the chain;
-- a sealer gives them their sequence number and hash shortly after commit.

ALTER TABLE reports ADD COLUMN situations TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN reporter_name TEXT;
ALTER TABLE reports ADD COLUMN site_id TEXT;
ALTER TABLE reports ADD COLUMN acknowledged_at BIGINT;
ALTER TABLE reports ADD COLUMN answered_at BIGINT;
CREATE INDEX reports_status_created ON reports (status, created_at);
CREATE INDEX reports_triage_organisation ON reports (triage_organisation_id, status);

ALTER TABLE routing_rules ADD COLUMN situation TEXT;

CREATE TABLE report_photos (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    data TEXT NOT NULL,
    CONSTRAINT report_photos_one_per_report UNIQUE (report_id)
);

CREATE TABLE photo_uploads (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    data TEXT NOT NULL,
    CONSTRAINT photo_uploads_token_unique UNIQUE (token_hash)
);
CREATE INDEX photo_uploads_expiry ON photo_uploads (expires_at);

-- The audit log, rebuilt: an entry has an id from its writer; `seq`,
-- `prev_hash` and `hash` are set by the sealer (NULL until then).
CREATE TABLE audit_entries (
    id TEXT PRIMARY KEY,
    seq BIGINT,
    at BIGINT NOT NULL,
    actor_user_id TEXT,
    actor_organisation_id TEXT,
    action TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    record_id TEXT,
    record_organisation_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT,
    hash TEXT,
    CONSTRAINT audit_entries_seq_unique UNIQUE (seq)
);
INSERT INTO audit_entries (id, seq, at, actor_user_id, actor_organisation_id, action, record_kind, record_id,
    record_organisation_id, detail, prev_hash, hash)
SELECT 'chained-' || CAST(seq AS TEXT), seq, at, actor_user_id, actor_organisation_id, action, record_kind, record_id,
    record_organisation_id, detail, prev_hash, hash FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_entries RENAME TO audit_log;
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, seq);
CREATE INDEX audit_log_record ON audit_log (record_id, seq);
CREATE INDEX audit_log_record_org ON audit_log (record_organisation_id, seq);
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;
