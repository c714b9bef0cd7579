-- Spreadsheet imports (people, encounters, sites and their observations): the key
-- of each imported line, so that importing the same file again changes nothing.
-- The key is a salted SHA-256 (hex) of the line's external id when the file has
-- one, else of the line's mapped and normalised values: no value of the file is
-- kept. A key stays when its record is erased, so a later import of the same file
-- does not bring back a person whose file was erased.
CREATE TABLE import_keys (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    kind TEXT NOT NULL,
    import_key TEXT NOT NULL,
    record_id TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, kind, import_key)
);
