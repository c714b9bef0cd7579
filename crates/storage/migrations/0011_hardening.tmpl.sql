-- The audit chain is keyed: from entry keyed_from on, each entry's hash is an
-- HMAC-SHA256 under a key kept outside the database (audit_key_file), and the
-- head carries its own MAC, so that a writer of the database cannot rewrite,
-- remove or forge an entry and recompute the hashes after it. Entries sealed
-- before this migration stay plain SHA-256 links, anchored by the first keyed
-- entry (whose MAC covers their last hash).
ALTER TABLE audit_head ADD COLUMN keyed_from {{INT}};
ALTER TABLE audit_head ADD COLUMN mac TEXT;
UPDATE audit_head SET keyed_from = seq + 1;

-- When an account was last active (a login, or a use of one of its API tokens,
-- recorded at most once a day): accounts inactive for account_inactive_days
-- are disabled by the instance.
ALTER TABLE users ADD COLUMN last_active_at {{INT}};
UPDATE users SET last_active_at = updated_at;

-- Versions of the lookups every instance caches (the routing table, teams,
-- organisations, territory names: 'intake'; the territory index:
-- 'territories'), bumped by each change, read by every instance at most once
-- a second: a change made through one instance reaches the others' caches.
CREATE TABLE lookup_versions (
    name TEXT PRIMARY KEY,
    version {{INT}} NOT NULL
);
INSERT INTO lookup_versions (name, version) VALUES ('intake', 0);
INSERT INTO lookup_versions (name, version) VALUES ('territories', 0);
