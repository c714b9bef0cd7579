-- Offline sync (decision 90): the phones and browsers registered for offline
-- work, every operation they sent (its id made on the device is the
-- idempotency key) with the one reply it got, the per-field versions of the
-- mutable fields a phone may change offline, and the conflicts waiting for a
-- coordinator.

-- A device: made at login on the phone, tied to one account; revoked when
-- the account is, or by hand. `highest_seq` is the highest sequence number
-- applied: an operation further ahead is held until the gap is filled.
CREATE TABLE sync_devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    created_at {{INT}} NOT NULL,
    highest_seq {{INT}} NOT NULL DEFAULT 0,
    last_seen_at {{INT}},
    revoked_at {{INT}}
);
CREATE INDEX sync_devices_user ON sync_devices (user_id);

-- An operation received: `state` is applied, duplicate, conflict, rejected or
-- held; `reply` the JSON answer sent again when the phone sends the operation
-- again. `payload` (sealed) is kept only while the operation is held, and
-- cleared when it is decided.
CREATE TABLE sync_ops (
    op_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES sync_devices (id),
    seq {{INT}} NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    received_at {{INT}} NOT NULL,
    decided_at {{INT}},
    state TEXT NOT NULL,
    reply TEXT NOT NULL,
    payload TEXT,
    acknowledged_at {{INT}}
);
CREATE INDEX sync_ops_device ON sync_ops (device_id, state, seq);

-- The version of each mutable field a phone changed: how many changes, the
-- operation that made the last one (none: a page), and the value it wrote
-- (JSON), to see a change made by a page since.
CREATE TABLE sync_field_versions (
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    version {{INT}} NOT NULL,
    written_by_op TEXT,
    value TEXT NOT NULL,
    updated_at {{INT}} NOT NULL,
    PRIMARY KEY (entity, record_id, field)
);

-- A competing value of a field: the current value stayed; a coordinator keeps
-- one or types a new value (`resolution`: keep_current, keep_proposed,
-- new_value).
CREATE TABLE sync_conflicts (
    id TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    -- The operation's row is written after its decision, in the same transaction.
    op_id TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    current_value TEXT NOT NULL,
    current_version {{INT}} NOT NULL,
    current_op TEXT,
    proposed_value TEXT NOT NULL,
    base_version {{INT}} NOT NULL,
    base_op TEXT,
    author_id TEXT NOT NULL REFERENCES users (id),
    device_id TEXT NOT NULL REFERENCES sync_devices (id),
    written_at {{INT}} NOT NULL,
    received_at {{INT}} NOT NULL,
    resolution TEXT,
    resolved_value TEXT,
    resolved_by TEXT REFERENCES users (id),
    resolved_at {{INT}}
);
CREATE INDEX sync_conflicts_record ON sync_conflicts (entity, record_id, resolved_at);
CREATE INDEX sync_conflicts_open ON sync_conflicts (organisation_id, resolved_at);
