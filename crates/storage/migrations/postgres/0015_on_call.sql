-- The on-call list (astreinte) of an organisation: the accounts that receive the
-- alerts the system raises (an overdue round, an overdue action without an active
-- case lead, an escalation not acknowledged in time) before its coordinators and
-- administrators. An entry names an account of the organisation and when it is on
-- call, Paris time: a day of the week (0 = Monday … 6 = Sunday; NULL: every day) and
-- a range of minutes from midnight (NULL: the whole day; a range that ends before it
-- starts runs past midnight into the next day). Entries are kept in order.
CREATE TABLE on_call (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    weekday BIGINT,
    starts_minute BIGINT,
    ends_minute BIGINT,
    position BIGINT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX on_call_organisation ON on_call (organisation_id, position);
