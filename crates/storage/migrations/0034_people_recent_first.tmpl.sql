-- The people list in its order (decision 111): the files of a list (in it,
-- or who left it), most recently met (else created) first, as
-- `veille_storage::people::list` orders them. Without it each page sorted
-- every readable file: at 100,000 people, the first page took 104 ms on
-- PostgreSQL (each 27-column row taken apart) and 33 ms on SQLite; from the
-- index, the page's rows only, under 1 ms on both. With the scope's columns
-- (organisation, id) in it, SQLite also counts a list from the index alone
-- (35 -> 20 ms); PostgreSQL still counts over the table (45 ms).
CREATE INDEX people_recent ON people (retention_stage, active, (COALESCE(last_contact_at, created_at)) DESC, id, organisation_id);

{{SQLITE}}
-- Planner statistics for the new index (see migration 0027).
ANALYZE people;
{{END}}
