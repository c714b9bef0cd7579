-- Neighbourhood work: the contact book of local relays (a restricted field
-- group), mediations with their parties, city and technical services and the
-- requests sent to them (answered through an expiring link with a code when
-- the service has no accounts), and logbooks of teams, sites, cases and
-- facilities with their handover entries and mentions. The site logbook (the
-- `log` events of sites on the timeline) moves into the logbooks.
-- No foreign key on round_id / site_id / report_id / contact_id / person_id /
-- book_id links that backups may restore in another order, or that a removal
-- on request clears.

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    structure TEXT NOT NULL DEFAULT '',
    place TEXT NOT NULL DEFAULT '',
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    reach TEXT NOT NULL DEFAULT '',
    consent_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX contacts_organisation ON contacts (organisation_id, role);

CREATE TABLE mediations (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    round_id TEXT,
    site_id TEXT,
    report_id TEXT,
    at BIGINT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    subject TEXT NOT NULL,
    actions TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    outcome_note TEXT NOT NULL DEFAULT '',
    follow_up_on BIGINT,
    follow_up_done_at BIGINT,
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX mediations_organisation ON mediations (organisation_id, at);
CREATE INDEX mediations_follow_up ON mediations (follow_up_on);
CREATE INDEX mediations_place ON mediations (lon, lat);
CREATE INDEX mediations_round ON mediations (round_id);

CREATE TABLE mediation_parties (
    id TEXT PRIMARY KEY,
    mediation_id TEXT NOT NULL REFERENCES mediations (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    role TEXT NOT NULL,
    contact_id TEXT,
    person_id TEXT,
    count BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX mediation_parties_mediation ON mediation_parties (mediation_id, position);
CREATE INDEX mediation_parties_contact ON mediation_parties (contact_id);

-- A city or technical service, kept by an organisation of the instance; its
-- accounts' organisation when it has accounts (then it answers from its
-- queue), otherwise it answers through a link mailed to its address.
CREATE TABLE city_services (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    territory_id TEXT REFERENCES territories (id),
    email TEXT NOT NULL DEFAULT '',
    member_organisation_id TEXT REFERENCES organisations (id),
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX city_services_category ON city_services (category, territory_id);

CREATE TABLE service_requests (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    service_id TEXT NOT NULL REFERENCES city_services (id),
    category TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    description TEXT NOT NULL DEFAULT '',
    urgency TEXT NOT NULL DEFAULT 'normal',
    origin_kind TEXT NOT NULL DEFAULT 'direct',
    origin_id TEXT,
    status TEXT NOT NULL DEFAULT 'sent',
    answer TEXT NOT NULL DEFAULT '',
    acknowledged_at BIGINT,
    answered_at BIGINT,
    link_token_hash TEXT,
    link_code_hash TEXT,
    link_expires_at BIGINT,
    link_failures BIGINT NOT NULL DEFAULT 0,
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX service_requests_service ON service_requests (service_id, created_at);
CREATE INDEX service_requests_origin ON service_requests (origin_kind, origin_id);
CREATE INDEX service_requests_link ON service_requests (link_token_hash);

CREATE TABLE service_request_photos (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX service_request_photos_request ON service_request_photos (request_id);

-- Logbooks: an entry belongs to the book of a team, site, case or facility,
-- written by an account of an organisation; a handover entry may name the
-- team it is for.
CREATE TABLE log_entries (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    case_id TEXT,
    book_kind TEXT NOT NULL,
    book_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    category TEXT NOT NULL,
    body TEXT NOT NULL,
    for_team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    author_id TEXT REFERENCES users (id),
    attachment_name TEXT,
    attachment_type TEXT,
    attachment_data TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX log_entries_book ON log_entries (book_kind, book_id, at);
CREATE INDEX log_entries_category ON log_entries (organisation_id, category, at);

CREATE TABLE log_mentions (
    entry_id TEXT NOT NULL REFERENCES log_entries (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (entry_id, user_id)
);
CREATE INDEX log_mentions_user ON log_mentions (user_id);

-- The site logbook becomes the logbook of sites.
INSERT INTO log_entries (id, organisation_id, territory_id, case_id, book_kind, book_id, at, category, body, author_id, created_at)
SELECT t.id, COALESCE(t.actor_organisation_id, s.organisation_id), s.territory_id, NULL, 'site', t.record_id, t.at, 'information', t.detail, t.actor_user_id, t.at
FROM timeline t JOIN sites s ON s.id = t.record_id
WHERE t.record_kind = 'site' AND t.kind = 'log';
DELETE FROM timeline WHERE record_kind = 'site' AND kind = 'log';
