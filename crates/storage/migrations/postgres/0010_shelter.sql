-- Shelter and housing: facilities with their capacity by night, bookings and
-- stays, the waiting list, operations on sites with their prior social
-- diagnosis, Housing First dwellings, landlords, tenancies and dwelling
-- checks, and follow-up actions. Nights are day numbers (days since
-- 1970-01-01, the evening's date in Europe/Paris); a stay occupies the nights
-- from_night .. to_night - 1.
CREATE TABLE facilities (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    territory_id TEXT REFERENCES territories (id),
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    publics TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT 'place',
    places BIGINT NOT NULL,
    accessible BIGINT NOT NULL DEFAULT 0,
    service_id TEXT REFERENCES directory_services (id),
    night_cost_cents BIGINT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX facilities_territory ON facilities (territory_id);

-- The places open on a night when they differ from the facility's usual
-- number (a temporary closure is 0 places with a note).
CREATE TABLE facility_nights (
    facility_id TEXT NOT NULL REFERENCES facilities (id),
    night BIGINT NOT NULL,
    places BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    updated_by TEXT REFERENCES users (id),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (facility_id, night)
);

CREATE TABLE stays (
    id TEXT PRIMARY KEY,
    facility_id TEXT NOT NULL REFERENCES facilities (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    operator_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    person_id TEXT REFERENCES people (id),
    household_id TEXT REFERENCES households (id),
    label TEXT NOT NULL DEFAULT '',
    places BIGINT NOT NULL,
    status TEXT NOT NULL,
    from_night BIGINT NOT NULL,
    to_night BIGINT NOT NULL,
    entered_at BIGINT,
    left_at BIGINT,
    destination TEXT,
    booking_ref TEXT NOT NULL DEFAULT '',
    night_cost_cents BIGINT,
    operation_id TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX stays_facility_nights ON stays (facility_id, to_night, from_night);
CREATE INDEX stays_person ON stays (person_id);
CREATE INDEX stays_organisation ON stays (organisation_id, status);

CREATE TABLE shelter_requests (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    person_id TEXT REFERENCES people (id),
    household_id TEXT REFERENCES households (id),
    label TEXT NOT NULL DEFAULT '',
    places BIGINT NOT NULL,
    public TEXT NOT NULL,
    priority BIGINT NOT NULL,
    wanted_from BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'waiting',
    stay_id TEXT REFERENCES stays (id),
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX shelter_requests_organisation ON shelter_requests (organisation_id, status);

CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    site_id TEXT NOT NULL REFERENCES sites (id),
    territory_id TEXT REFERENCES territories (id),
    kind TEXT NOT NULL,
    planned_on BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'planned',
    partners TEXT NOT NULL DEFAULT '',
    city_services TEXT NOT NULL DEFAULT '',
    legal_frame TEXT NOT NULL DEFAULT '',
    legal_reference TEXT NOT NULL DEFAULT '',
    report TEXT NOT NULL DEFAULT '',
    done_at BIGINT,
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX operations_site ON operations (site_id);

-- The prior social diagnosis: one line per person or household present.
CREATE TABLE operation_people (
    id TEXT PRIMARY KEY,
    operation_id TEXT NOT NULL REFERENCES operations (id),
    person_id TEXT REFERENCES people (id),
    label TEXT NOT NULL DEFAULT '',
    people_count BIGINT NOT NULL DEFAULT 1,
    vulnerabilities TEXT NOT NULL DEFAULT '',
    needs TEXT NOT NULL DEFAULT '',
    proposal TEXT NOT NULL DEFAULT '',
    outcome TEXT,
    facility_id TEXT REFERENCES facilities (id),
    stay_id TEXT REFERENCES stays (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX operation_people_operation ON operation_people (operation_id);

CREATE TABLE landlords (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    contact TEXT NOT NULL DEFAULT '',
    agreement TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE dwellings (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    landlord_id TEXT REFERENCES landlords (id),
    address TEXT NOT NULL,
    rooms BIGINT NOT NULL DEFAULT 1,
    state TEXT NOT NULL DEFAULT 'good',
    rent_cents BIGINT,
    check_every_days BIGINT NOT NULL DEFAULT 30,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE tenancies (
    id TEXT PRIMARY KEY,
    dwelling_id TEXT NOT NULL REFERENCES dwellings (id),
    person_id TEXT REFERENCES people (id),
    household_id TEXT REFERENCES households (id),
    label TEXT NOT NULL DEFAULT '',
    lease_start BIGINT NOT NULL,
    lease_end BIGINT,
    support TEXT NOT NULL DEFAULT 'regular',
    exit_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tenancies_dwelling ON tenancies (dwelling_id);

CREATE TABLE dwelling_checks (
    id TEXT PRIMARY KEY,
    dwelling_id TEXT NOT NULL REFERENCES dwellings (id),
    due_on BIGINT NOT NULL,
    done_on BIGINT,
    done_by TEXT REFERENCES users (id),
    checklist TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX dwelling_checks_due ON dwelling_checks (dwelling_id, done_on, due_on);

-- Follow-up actions of a record (a dwelling check today; action plans of
-- cases later): an owner organisation, a deadline, a status and a result.
CREATE TABLE actions (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    territory_id TEXT REFERENCES territories (id),
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    owner_organisation_id TEXT REFERENCES organisations (id),
    owner_name TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    due_on BIGINT,
    status TEXT NOT NULL DEFAULT 'todo',
    result TEXT NOT NULL DEFAULT '',
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX actions_record ON actions (record_kind, record_id);
CREATE INDEX actions_due ON actions (organisation_id, status, due_on);
