-- Meetings of every kind (cellules de veille, commission cas complexes,
-- partner, public and residents' meetings, health-promotion sessions, working
-- groups, trainings): attendees (accounts, organisations, and anonymous
-- counts by public for collective sessions), agenda items (a case to review
-- or a topic) with notes and decisions, minutes sent through the outbox.
-- Escalations: critical situations raised to named people with an
-- acknowledgement deadline, going up a level when not acknowledged.
CREATE TABLE meetings (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    theme TEXT NOT NULL DEFAULT '',
    evaluation TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'planned',
    minutes_sent_at INTEGER,
    created_by TEXT REFERENCES users (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX meetings_when ON meetings (organisation_id, starts_at);

CREATE TABLE meeting_attendees (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    user_id TEXT REFERENCES users (id),
    name TEXT NOT NULL DEFAULT '',
    email TEXT,
    public TEXT,
    count INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX meeting_attendees_meeting ON meeting_attendees (meeting_id);

CREATE TABLE meeting_items (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    case_id TEXT REFERENCES cases (id),
    topic TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    decision TEXT NOT NULL DEFAULT '',
    action_id TEXT REFERENCES actions (id)
);
CREATE INDEX meeting_items_meeting ON meeting_items (meeting_id, position);

CREATE TABLE escalations (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    raised_by TEXT REFERENCES users (id),
    raised_at INTEGER NOT NULL,
    level INTEGER NOT NULL DEFAULT 1,
    ack_due_at INTEGER NOT NULL,
    acknowledged_by TEXT REFERENCES users (id),
    acknowledged_at INTEGER,
    resolved_at INTEGER,
    resolution TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX escalations_due ON escalations (acknowledged_at, ack_due_at);

CREATE TABLE escalation_recipients (
    escalation_id TEXT NOT NULL REFERENCES escalations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    level INTEGER NOT NULL,
    PRIMARY KEY (escalation_id, user_id)
);
