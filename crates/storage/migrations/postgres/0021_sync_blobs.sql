-- Offline sync, attachments (decision 90): a photo or a PDF a phone took
-- offline, uploaded by its content hash before the operation that names it
-- (`PUT /api/v1/blobs/{sha256}`). A photo is re-encoded without its metadata
-- on arrival; the hash is the one of the bytes the phone sent. The operation
-- that uses it copies it into its record and removes it; a blob no
-- operation used is removed by the retention run after seven days.
CREATE TABLE sync_blobs (
    sha256 TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, organisation_id)
);
CREATE INDEX sync_blobs_created ON sync_blobs (created_at);
