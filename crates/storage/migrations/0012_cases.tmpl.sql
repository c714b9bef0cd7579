-- Complex cases (situations complexes) with their team across organisations,
-- the people they concern, dated evaluations by domain and an action plan
-- (the actions of migration 0010, now attached to a case, owned by an
-- organisation of the instance or by a partner without accounts who answers
-- through an expiring link with a code given orally).
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    title TEXT NOT NULL,
    origin_kind TEXT NOT NULL DEFAULT 'direct',
    origin_id TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    outcome TEXT,
    closed_at {{INT}},
    review_on {{INT}},
    lead_user_id TEXT REFERENCES users (id),
    created_by TEXT REFERENCES users (id),
    created_at {{INT}} NOT NULL,
    updated_at {{INT}} NOT NULL,
    version {{INT}} NOT NULL DEFAULT 1
);
CREATE INDEX cases_organisation ON cases (organisation_id, status);

CREATE TABLE case_people (
    case_id TEXT NOT NULL REFERENCES cases (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    PRIMARY KEY (case_id, person_id)
);

CREATE TABLE case_evaluations (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    domain TEXT NOT NULL,
    body TEXT NOT NULL,
    field_group TEXT,
    author_id TEXT REFERENCES users (id),
    at {{INT}} NOT NULL
);
CREATE INDEX case_evaluations_case ON case_evaluations (case_id, at);

ALTER TABLE actions ADD COLUMN case_id TEXT REFERENCES cases (id);
ALTER TABLE actions ADD COLUMN link_token_hash TEXT;
ALTER TABLE actions ADD COLUMN link_code_hash TEXT;
ALTER TABLE actions ADD COLUMN link_expires_at {{INT}};
ALTER TABLE actions ADD COLUMN link_failures {{INT}} NOT NULL DEFAULT 0;
CREATE INDEX actions_case ON actions (case_id);
CREATE UNIQUE INDEX actions_link ON actions (link_token_hash);
