-- The triage's repeat rule and the possible duplicates look for reports
-- within 150 m of a point: a box of some 0.0045° of longitude. On the index
-- of (lon, lat) that box was a strip of longitude across the whole city,
-- every entry of it checked for its latitude (some 830 entries per report
-- received at 86,000 reports). Here each point falls in a cell of a grid of
-- 1/200° (about 550 m by 370 m in Paris), and the box is the two to four
-- cells it touches: an index range each, by receipt, the box checked on the
-- index's own (lon, lat) so that only the reports in it are read from the
-- table (at 40,000 reports: 0.22 ms → 0.06 ms). The expression below is
-- the cell of (lon, lat) (scripts/gen-migrations.sh writes it for each
-- engine; `veille_storage::reports::cell_sql` gives the queries the same
-- text, as an expression index requires). The (lon, lat) index served only
-- those two queries: it goes (given both, PostgreSQL still walked its strip
-- to AND it with the cells).
DROP INDEX reports_place;
CREATE INDEX reports_cell ON reports ((CAST(lat * 200 + 18000 AS INTEGER) * 100000 + CAST(lon * 200 + 36000 AS INTEGER)), created_at, lon, lat);
