-- Sites (lieux de vie) and maraudes: sites with their dated observations,
-- status history and logbook, closures with where people went; circuits,
-- the shared weekly schedule, the distribution catalogue, rounds with their
-- check-in, stops, distributions, incidents and daily report.
-- No foreign key on round_id / to_site_id / report_id links that backups may
-- restore in another order than they were written.

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    outline TEXT,
    address TEXT NOT NULL DEFAULT '',
    territory_id TEXT REFERENCES territories (id),
    land_owner TEXT NOT NULL DEFAULT 'unknown',
    status TEXT NOT NULL DEFAULT 'active',
    heatwave INTEGER NOT NULL DEFAULT 0,
    closed_at INTEGER,
    closure_reason TEXT,
    last_checked_at INTEGER,
    created_by TEXT REFERENCES users (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sites_territory ON sites (territory_id, status);
CREATE INDEX sites_place ON sites (lon, lat);

-- The site's history: status changes, confirmations and logbook entries.
CREATE TABLE site_events (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    author_id TEXT REFERENCES users (id),
    organisation_id TEXT REFERENCES organisations (id),
    kind TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    body TEXT NOT NULL DEFAULT ''
);
CREATE INDEX site_events_site ON site_events (site_id, at);

CREATE TABLE site_observations (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    observed_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    author_id TEXT REFERENCES users (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    team_id TEXT REFERENCES teams (id),
    round_id TEXT,
    people INTEGER NOT NULL DEFAULT 0,
    men INTEGER NOT NULL DEFAULT 0,
    women INTEGER NOT NULL DEFAULT 0,
    minors_0_3 INTEGER NOT NULL DEFAULT 0,
    minors_3_6 INTEGER NOT NULL DEFAULT 0,
    minors_6_12 INTEGER NOT NULL DEFAULT 0,
    minors_12_16 INTEGER NOT NULL DEFAULT 0,
    minors_16_18 INTEGER NOT NULL DEFAULT 0,
    tents INTEGER NOT NULL DEFAULT 0,
    huts INTEGER NOT NULL DEFAULT 0,
    vehicles INTEGER NOT NULL DEFAULT 0,
    water TEXT NOT NULL DEFAULT 'unknown',
    toilets TEXT NOT NULL DEFAULT 'unknown',
    electricity TEXT NOT NULL DEFAULT 'unknown',
    waste TEXT NOT NULL DEFAULT 'unknown',
    fire_risk TEXT NOT NULL DEFAULT 'unknown',
    rodents TEXT NOT NULL DEFAULT 'unknown',
    overall TEXT NOT NULL DEFAULT 'unknown',
    atmosphere TEXT NOT NULL DEFAULT 'unknown',
    police_presence INTEGER NOT NULL DEFAULT 0,
    material_collected INTEGER NOT NULL DEFAULT 0,
    material_found INTEGER NOT NULL DEFAULT 0,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX site_observations_site ON site_observations (site_id, observed_at);
CREATE INDEX site_observations_round ON site_observations (round_id);

-- Where the people of a closed site went (counts by destination; a move to
-- another site names it).
CREATE TABLE site_destinations (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    destination TEXT NOT NULL,
    people INTEGER NOT NULL,
    to_site_id TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX site_destinations_site ON site_destinations (site_id);
CREATE INDEX site_destinations_to ON site_destinations (to_site_id);

CREATE TABLE circuits (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT circuits_name_unique UNIQUE (team_id, name)
);

CREATE TABLE circuit_stops (
    id TEXT PRIMARY KEY,
    circuit_id TEXT NOT NULL REFERENCES circuits (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    site_id TEXT REFERENCES sites (id) ON DELETE CASCADE,
    label TEXT NOT NULL DEFAULT '',
    lon REAL,
    lat REAL
);
CREATE INDEX circuit_stops_circuit ON circuit_stops (circuit_id, position);

-- The shared weekly schedule: weekday 1 (Monday) to 7, minutes after
-- midnight in Europe/Paris; an end before the start runs past midnight.
CREATE TABLE schedule_slots (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    weekday INTEGER NOT NULL,
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL,
    territory_id TEXT REFERENCES territories (id),
    circuit_id TEXT REFERENCES circuits (id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX schedule_slots_day ON schedule_slots (weekday, start_minute);

CREATE TABLE distribution_items (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    position INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    CONSTRAINT distribution_items_name_unique UNIQUE (organisation_id, name)
);

CREATE TABLE rounds (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    team_id TEXT NOT NULL REFERENCES teams (id),
    circuit_id TEXT REFERENCES circuits (id) ON DELETE SET NULL,
    slot_id TEXT REFERENCES schedule_slots (id) ON DELETE SET NULL,
    territory_id TEXT REFERENCES territories (id),
    planned_start INTEGER NOT NULL,
    planned_end INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'planned',
    started_at INTEGER,
    expected_return_at INTEGER,
    ended_at INTEGER,
    started_by TEXT REFERENCES users (id),
    ended_by TEXT REFERENCES users (id),
    overdue_alerted_at INTEGER,
    people_total INTEGER NOT NULL DEFAULT 0,
    people_new INTEGER NOT NULL DEFAULT 0,
    people_known INTEGER NOT NULL DEFAULT 0,
    mediations INTEGER NOT NULL DEFAULT 0,
    mediation_notes TEXT NOT NULL DEFAULT '',
    handover TEXT NOT NULL DEFAULT '',
    created_by TEXT REFERENCES users (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX rounds_team ON rounds (team_id, planned_start);
CREATE INDEX rounds_open ON rounds (status, expected_return_at);

CREATE TABLE round_members (
    round_id TEXT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id),
    checked_in_at INTEGER NOT NULL,
    PRIMARY KEY (round_id, user_id)
);

CREATE TABLE round_stops (
    id TEXT PRIMARY KEY,
    round_id TEXT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    site_id TEXT,
    report_id TEXT,
    label TEXT NOT NULL DEFAULT '',
    lon REAL,
    lat REAL,
    visited_at INTEGER,
    visited_by TEXT REFERENCES users (id),
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX round_stops_round ON round_stops (round_id, position);
CREATE INDEX round_stops_report ON round_stops (report_id);

CREATE TABLE round_distributions (
    round_id TEXT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    item_id TEXT NOT NULL REFERENCES distribution_items (id),
    quantity INTEGER NOT NULL,
    PRIMARY KEY (round_id, item_id)
);

CREATE TABLE round_incidents (
    id TEXT PRIMARY KEY,
    round_id TEXT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    author_id TEXT REFERENCES users (id),
    kind TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX round_incidents_round ON round_incidents (round_id, at);
