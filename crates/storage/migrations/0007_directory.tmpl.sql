-- The partner directory: structures and their services. Entries imported from
-- the national data·inclusion format are keyed by (source, source_id) and
-- refreshed by re-import (import_hash tells an unchanged record from a changed
-- one); they belong to the instance (no organisation). An organisation keeps
-- its own entries in veille (source 'veille', organisation_id set).
-- List-valued fields (networks, themes, publics, languages…) are JSON arrays of
-- codes from the data·inclusion vocabularies (languages: ISO 639 codes).

CREATE TABLE directory_structures (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    organisation_id TEXT REFERENCES organisations (id),
    name TEXT NOT NULL,
    siret TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    address_extra TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    insee_code TEXT NOT NULL DEFAULT '',
    lon {{REAL}},
    lat {{REAL}},
    territory_id TEXT REFERENCES territories (id),
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    website TEXT NOT NULL DEFAULT '',
    source_link TEXT NOT NULL DEFAULT '',
    accessibility_link TEXT NOT NULL DEFAULT '',
    opening_hours TEXT NOT NULL DEFAULT '',
    networks TEXT NOT NULL DEFAULT '[]',
    source_updated TEXT NOT NULL DEFAULT '',
    import_hash TEXT NOT NULL DEFAULT '',
    created_at {{INT}} NOT NULL,
    updated_at {{INT}} NOT NULL,
    version {{INT}} NOT NULL DEFAULT 1,
    CONSTRAINT directory_structures_key UNIQUE (source, source_id)
);
CREATE INDEX directory_structures_territory ON directory_structures (territory_id);
CREATE INDEX directory_structures_organisation ON directory_structures (organisation_id);

-- A service takes its structure's place, phone and hours when it has none of
-- its own; territory_id is that of its own point only.
CREATE TABLE directory_services (
    id TEXT PRIMARY KEY,
    structure_id TEXT NOT NULL REFERENCES directory_structures (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    themes TEXT NOT NULL DEFAULT '[]',
    publics TEXT NOT NULL DEFAULT '[]',
    publics_details TEXT NOT NULL DEFAULT '',
    access_conditions TEXT NOT NULL DEFAULT '',
    fees TEXT NOT NULL DEFAULT '',
    fees_details TEXT NOT NULL DEFAULT '',
    reception_modes TEXT NOT NULL DEFAULT '[]',
    mobilisation_modes TEXT NOT NULL DEFAULT '[]',
    mobilisable_by TEXT NOT NULL DEFAULT '[]',
    mobilisation_link TEXT NOT NULL DEFAULT '',
    mobilisation_details TEXT NOT NULL DEFAULT '',
    eligibility_zone TEXT NOT NULL DEFAULT '[]',
    address TEXT NOT NULL DEFAULT '',
    address_extra TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    insee_code TEXT NOT NULL DEFAULT '',
    lon {{REAL}},
    lat {{REAL}},
    territory_id TEXT REFERENCES territories (id),
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    opening_hours TEXT NOT NULL DEFAULT '',
    source_link TEXT NOT NULL DEFAULT '',
    source_updated TEXT NOT NULL DEFAULT '',
    import_hash TEXT NOT NULL DEFAULT '',
    -- veille's own, never in data·inclusion, kept across re-imports
    languages TEXT NOT NULL DEFAULT '[]',
    capacity TEXT NOT NULL DEFAULT 'unknown',
    capacity_note TEXT NOT NULL DEFAULT '',
    capacity_updated_at {{INT}},
    created_at {{INT}} NOT NULL,
    updated_at {{INT}} NOT NULL,
    version {{INT}} NOT NULL DEFAULT 1,
    CONSTRAINT directory_services_key UNIQUE (source, source_id)
);
CREATE INDEX directory_services_structure ON directory_services (structure_id);
CREATE INDEX directory_services_territory ON directory_services (territory_id);
