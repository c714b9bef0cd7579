-- People (pseudonym first), households, consent, sharing, links between
-- records of the same person, notes, encounters and referrals (orientations).
--
-- By design no column holds ethnicity, religion, political opinion or a
-- precise nationality (nationality: france, eu, outside_eu, unknown).
-- Health information lives in tables of its own (person_health,
-- encounter_care), read only after the health field group is checked.
-- Seams without foreign keys, connected when the other work meets this one:
-- encounters.site_id and encounters.round_id (sites and maraudes),
-- referrals.service_id (the partner directory).

CREATE TABLE households (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    kind TEXT NOT NULL,
    created_at {{INT}} NOT NULL,
    updated_at {{INT}} NOT NULL,
    version {{INT}} NOT NULL DEFAULT 1
);

CREATE TABLE household_children (
    id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    birth_year {{INT}} NOT NULL,
    created_at {{INT}} NOT NULL
);
CREATE INDEX household_children_household ON household_children (household_id);

CREATE TABLE people (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    pseudonym TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '',
    birth_year {{INT}},
    age_band TEXT,
    gender TEXT NOT NULL DEFAULT 'unknown',
    languages TEXT NOT NULL DEFAULT '',
    nationality TEXT NOT NULL DEFAULT 'unknown',
    situation TEXT NOT NULL DEFAULT 'unknown',
    needs TEXT NOT NULL DEFAULT '',
    vulnerabilities TEXT NOT NULL DEFAULT '',
    household_id TEXT REFERENCES households (id),
    phone TEXT,
    civil_given_name TEXT,
    civil_family_name TEXT,
    active {{INT}} NOT NULL DEFAULT 1,
    exit_reason TEXT,
    exit_at {{INT}},
    last_contact_at {{INT}},
    created_by TEXT REFERENCES users (id),
    created_at {{INT}} NOT NULL,
    updated_at {{INT}} NOT NULL,
    version {{INT}} NOT NULL DEFAULT 1
);
CREATE INDEX people_organisation ON people (organisation_id, active);
CREATE INDEX people_updated ON people (updated_at);
CREATE INDEX people_household ON people (household_id);

CREATE TABLE person_health (
    person_id TEXT PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    flags TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    updated_by TEXT REFERENCES users (id),
    updated_at {{INT}} NOT NULL,
    version {{INT}} NOT NULL DEFAULT 1
);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    told_purpose {{INT}} NOT NULL,
    told_access {{INT}} NOT NULL,
    told_rights {{INT}} NOT NULL,
    agrees_identifying {{INT}} NOT NULL,
    agrees_sharing {{INT}} NOT NULL,
    language TEXT NOT NULL,
    interpreter {{INT}} NOT NULL DEFAULT 0,
    given_at {{INT}} NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at {{INT}} NOT NULL,
    withdrawn_at {{INT}},
    withdrawn_by TEXT REFERENCES users (id)
);
CREATE INDEX consents_person ON consents (person_id, recorded_at);

CREATE TABLE person_links (
    id TEXT PRIMARY KEY,
    person_a TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    person_b TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    agreements TEXT NOT NULL DEFAULT '[]',
    linked_by TEXT NOT NULL REFERENCES users (id),
    linked_at {{INT}} NOT NULL,
    unlinked_by TEXT REFERENCES users (id),
    unlinked_at {{INT}}
);
CREATE UNIQUE INDEX person_links_active ON person_links (person_a, person_b) WHERE unlinked_at IS NULL;
CREATE INDEX person_links_b ON person_links (person_b);

CREATE TABLE person_distinct_pairs (
    id TEXT PRIMARY KEY,
    person_a TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    person_b TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    decided_by TEXT NOT NULL REFERENCES users (id),
    decided_at {{INT}} NOT NULL,
    CONSTRAINT person_distinct_pairs_unique UNIQUE (person_a, person_b)
);
CREATE INDEX person_distinct_pairs_b ON person_distinct_pairs (person_b);

CREATE TABLE person_notes (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    author_id TEXT NOT NULL REFERENCES users (id),
    at {{INT}} NOT NULL,
    field_group TEXT,
    body TEXT NOT NULL
);
CREATE INDEX person_notes_person ON person_notes (person_id, at);

CREATE TABLE encounters (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    at {{INT}} NOT NULL,
    lon {{REAL}},
    lat {{REAL}},
    place TEXT NOT NULL DEFAULT '',
    site_id TEXT,
    round_id TEXT,
    unidentified_count {{INT}} NOT NULL DEFAULT 0,
    actions TEXT NOT NULL DEFAULT '',
    follow_up {{INT}} NOT NULL DEFAULT 0,
    follow_up_note TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    created_by TEXT REFERENCES users (id),
    created_at {{INT}} NOT NULL,
    updated_at {{INT}} NOT NULL,
    version {{INT}} NOT NULL DEFAULT 1
);
CREATE INDEX encounters_organisation ON encounters (organisation_id, at);
CREATE INDEX encounters_site ON encounters (site_id);
CREATE INDEX encounters_round ON encounters (round_id);

CREATE TABLE encounter_people (
    encounter_id TEXT NOT NULL REFERENCES encounters (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (encounter_id, person_id)
);
CREATE INDEX encounter_people_person ON encounter_people (person_id);

CREATE TABLE encounter_care (
    encounter_id TEXT PRIMARY KEY REFERENCES encounters (id) ON DELETE CASCADE,
    notes TEXT NOT NULL
);

CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    service_id TEXT,
    partner_name TEXT NOT NULL DEFAULT '',
    partner_organisation_id TEXT REFERENCES organisations (id),
    partner_email TEXT,
    reason TEXT NOT NULL,
    consent_confirmed {{INT}} NOT NULL DEFAULT 0,
    urgent_override_reason TEXT,
    status TEXT NOT NULL,
    sent_at {{INT}},
    answer_due_at {{INT}},
    answered_at {{INT}},
    answer TEXT NOT NULL DEFAULT '',
    answered_by TEXT REFERENCES users (id),
    answered_via TEXT,
    outcome_at {{INT}},
    link_token_hash TEXT,
    link_code_hash TEXT,
    link_expires_at {{INT}},
    link_revoked_at {{INT}},
    link_failures {{INT}} NOT NULL DEFAULT 0,
    created_by TEXT REFERENCES users (id),
    created_at {{INT}} NOT NULL,
    updated_at {{INT}} NOT NULL,
    version {{INT}} NOT NULL DEFAULT 1,
    CONSTRAINT referrals_link_unique UNIQUE (link_token_hash)
);
CREATE INDEX referrals_organisation ON referrals (organisation_id, status);
CREATE INDEX referrals_partner ON referrals (partner_organisation_id, status);
CREATE INDEX referrals_due ON referrals (status, answer_due_at);
CREATE INDEX referrals_person ON referrals (person_id);

CREATE TABLE referral_events (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    at {{INT}} NOT NULL,
    actor_user_id TEXT REFERENCES users (id),
    via TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX referral_events_referral ON referral_events (referral_id, at);

CREATE TABLE person_shares (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    basis TEXT NOT NULL,
    consent_id TEXT REFERENCES consents (id),
    referral_id TEXT REFERENCES referrals (id),
    created_by TEXT REFERENCES users (id),
    created_at {{INT}} NOT NULL,
    revoked_at {{INT}},
    revoked_by TEXT REFERENCES users (id)
);
CREATE INDEX person_shares_person ON person_shares (person_id);
CREATE INDEX person_shares_organisation ON person_shares (organisation_id, basis);
