-- Signalements: reports from the public and partners, their timeline, internal
-- notes, the routing table, and the per-address submission counter.

CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    channel TEXT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    address TEXT NOT NULL DEFAULT '',
    territory_id TEXT REFERENCES territories (id),
    seen TEXT NOT NULL DEFAULT '',
    adults BIGINT NOT NULL DEFAULT 0,
    children BIGINT NOT NULL DEFAULT 0,
    tents BIGINT NOT NULL DEFAULT 0,
    description TEXT NOT NULL,
    contact_email TEXT,
    contact_phone TEXT,
    contact_consent BIGINT NOT NULL DEFAULT 0,
    email_confirmed BIGINT NOT NULL DEFAULT 0,
    email_confirm_hash TEXT,
    level BIGINT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]',
    level_override BIGINT,
    override_reason TEXT,
    status TEXT NOT NULL,
    outcome TEXT,
    organisation_id TEXT REFERENCES organisations (id),
    triage_organisation_id TEXT REFERENCES organisations (id),
    team_id TEXT REFERENCES teams (id),
    public_answer TEXT NOT NULL DEFAULT '',
    public_answer_at BIGINT,
    version BIGINT NOT NULL DEFAULT 1,
    CONSTRAINT reports_reference_unique UNIQUE (reference),
    CONSTRAINT reports_token_unique UNIQUE (token_hash)
);
CREATE INDEX reports_created ON reports (created_at);
CREATE INDEX reports_organisation ON reports (organisation_id, status);
CREATE INDEX reports_place ON reports (lon, lat);

CREATE TABLE report_notes (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    author_id TEXT NOT NULL REFERENCES users (id),
    at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX report_notes_report ON report_notes (report_id, at);

CREATE TABLE report_events (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    actor_user_id TEXT REFERENCES users (id),
    kind TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX report_events_report ON report_events (report_id, at);

CREATE TABLE routing_rules (
    id TEXT PRIMARY KEY,
    territory_id TEXT REFERENCES territories (id) ON DELETE CASCADE,
    level BIGINT,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

CREATE TABLE report_submissions (
    id TEXT PRIMARY KEY,
    client_key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX report_submissions_client ON report_submissions (client_key, at);
