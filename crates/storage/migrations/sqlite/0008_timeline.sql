-- One timeline for every kind of record: what happened to a report, a
-- referral, a site (and the cases, stays and logbooks to come), by whom, how
-- (staff, a partner's link, the reporter, the system), from which value to
-- which. The three timelines of reports, referrals and sites move into it.
CREATE TABLE timeline (
    id TEXT PRIMARY KEY,
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor_user_id TEXT REFERENCES users (id),
    actor_organisation_id TEXT REFERENCES organisations (id),
    via TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX timeline_record ON timeline (record_kind, record_id, at);

INSERT INTO timeline (id, record_kind, record_id, at, actor_user_id, actor_organisation_id, via, kind, from_value, to_value, detail)
SELECT e.id, 'report', e.report_id, e.at, e.actor_user_id, u.organisation_id,
       CASE WHEN e.actor_user_id IS NULL THEN 'system' ELSE 'staff' END, e.kind, e.from_value, e.to_value, e.detail
FROM report_events e LEFT JOIN users u ON u.id = e.actor_user_id;

INSERT INTO timeline (id, record_kind, record_id, at, actor_user_id, actor_organisation_id, via, kind, from_value, to_value, detail)
SELECT e.id, 'referral', e.referral_id, e.at, e.actor_user_id, u.organisation_id, e.via, e.kind, e.from_value, e.to_value, e.detail
FROM referral_events e LEFT JOIN users u ON u.id = e.actor_user_id;

INSERT INTO timeline (id, record_kind, record_id, at, actor_user_id, actor_organisation_id, via, kind, from_value, to_value, detail)
SELECT e.id, 'site', e.site_id, e.at, e.author_id, e.organisation_id,
       CASE WHEN e.author_id IS NULL THEN 'system' ELSE 'staff' END, e.kind, e.from_value, e.to_value, e.body
FROM site_events e;

DROP TABLE report_events;
DROP TABLE referral_events;
DROP TABLE site_events;
