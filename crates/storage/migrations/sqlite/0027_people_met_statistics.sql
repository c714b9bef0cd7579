-- Planner statistics for what migration 0026 built (decision 100): on an
-- instance upgraded with data, SQLite planned the new index of encounters and
-- the first encounters without statistics while the other indexes had theirs,
-- and the activity report took 62 s instead of 1.2 s at a million encounters
-- until the statistics refresh at start caught up (measured). Tables under
-- 10,000 rows lose these statistics at that refresh (decision 99).
ANALYZE encounters;
ANALYZE people;
ANALYZE person_first_encounters;
