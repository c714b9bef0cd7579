-- Rights of the people recorded (issue 17): retention stages of person files,
-- legal holds, anonymous tallies that keep past figures when a person is
-- anonymised or erased, the erasure journal, and the history of changes to a
-- person file (rectification).

-- Where a person file stands: active, archived (restricted archive), or
-- anonymised (every personal column emptied; the row only carries ids and dates).
ALTER TABLE people ADD COLUMN retention_stage TEXT NOT NULL DEFAULT 'active';
ALTER TABLE people ADD COLUMN retention_stage_at {{INT}};
CREATE INDEX people_retention ON people (retention_stage, last_contact_at);

-- A legal hold stops the retention clock of one person file (and forbids its erasure).
CREATE TABLE legal_holds (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    placed_by TEXT REFERENCES users (id),
    placed_at {{INT}} NOT NULL,
    lifted_by TEXT REFERENCES users (id),
    lifted_at {{INT}},
    lift_reason TEXT
);
CREATE INDEX legal_holds_person ON legal_holds (person_id, lifted_at);

-- What a person anonymised or erased counted in the figures of past periods,
-- without anyone: per organisation, month, measure and coarse category.
CREATE TABLE figure_tallies (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    period TEXT NOT NULL,
    measure TEXT NOT NULL,
    category TEXT NOT NULL,
    n {{INT}} NOT NULL
);
CREATE INDEX figure_tallies_period ON figure_tallies (organisation_id, period, measure);

-- Erasures done (ids only): `veille restore` applies them again to a backup
-- taken before them. The same entries are appended to a file kept outside
-- the database (`erasure_journal_file`).
CREATE TABLE erasures (
    person_id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    erased_at {{INT}} NOT NULL,
    erased_by TEXT
);

-- The history of changes to a person file's fields (rectification): old and
-- new values are personal data, erased with the person.
CREATE TABLE person_changes (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    at {{INT}} NOT NULL,
    by_user TEXT REFERENCES users (id),
    field TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL
);
CREATE INDEX person_changes_person ON person_changes (person_id, at);
