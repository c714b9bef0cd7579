-- The audit chain is keyed: from entry keyed_from on, each entry's hash is an
-- HMAC-SHA256 under a key kept outside the database (audit_key_file), and the
-- head carries its own MAC, so that a writer of the database cannot rewrite,
-- remove or forge an entry and recompute the hashes after it. Entries sealed
-- before this migration stay plain SHA-256 links, anchored by the first keyed
-- entry (whose MAC covers their last hash).
ALTER TABLE audit_head ADD COLUMN keyed_from INTEGER;
ALTER TABLE audit_head ADD COLUMN mac TEXT;
UPDATE audit_head SET keyed_from = seq + 1;

-- When an account was last active (a login, or a use of one of its API tokens,
-- recorded at most once a day): accounts inactive for account_inactive_days
-- are disabled by the instance.
ALTER TABLE users ADD COLUMN last_active_at INTEGER;
UPDATE users SET last_active_at = updated_at;
