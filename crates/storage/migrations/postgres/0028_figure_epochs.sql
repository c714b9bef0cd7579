-- What the figures of past days may have changed by (decision 103): a count
-- per UTC day (`k`: days since 1970-01-01, kept within 0–84,000; `-1`: any
-- day), moved by triggers whenever a row the figures count changes about
-- that day. A dashboard of past days computed once is kept by the instance
-- that computed it with the sum of the counts of its days; it is shown again
-- while that sum stays the same. Rows about the last hour do not move the
-- counts (the intake, an encounter recorded as it happens): a dashboard is
-- kept only when its days ended more than two hours before. Changes whose
-- reach is not one row's days (a person's gender or birth year, links
-- between files, names shown, a shelter's places, the tallies of erased
-- people) move `-1`, which every dashboard counts. `-2` is not counted: a
-- writer that moves counts on PostgreSQL locks it first, so two writers never
-- lock days in opposite orders. Derived, not backed up.
CREATE TABLE figure_epochs (
    k BIGINT PRIMARY KEY,
    n BIGINT NOT NULL DEFAULT 0,
    xact BIGINT
);
WITH RECURSIVE d(k) AS (SELECT -2 UNION ALL SELECT k + 1 FROM d WHERE k < 84000)
INSERT INTO figure_epochs (k, n) SELECT k, 0 FROM d;

-- PostgreSQL: once per statement, over the rows it changed (a bulk insert
-- moves each day once). Each day is moved once per transaction (`xact`), so a
-- restore or an import inserting row by row does not pile up versions of the
-- same rows.
CREATE FUNCTION figures_bump(spans BIGINT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM figure_epochs WHERE k = -2 FOR UPDATE;
    -- The days as one list: each found by the key (a join was planned as a
    -- scan of the 84,000 rows, 16 ms a change).
    UPDATE figure_epochs SET n = n + 1, xact = txid_current()
    WHERE k = ANY (ARRAY(SELECT DISTINCT generate_series(spans[i][1], spans[i][2]) FROM generate_subscripts(spans, 1) AS i))
      AND xact IS DISTINCT FROM txid_current();
END $$;
-- The days of the rows a statement changed: TG_ARGV[0] selects each row's
-- span (first instant, last instant, in microseconds) from `%1$s`, the rows;
-- for an update, TG_ARGV[1], when given, keeps the rows whose new (`n`) and
-- old (`o`) versions differ in what the figures count. Spans that start in
-- the last hour are left out.
CREATE FUNCTION figures_touched() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
    spans BIGINT[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        changed := '(SELECT * FROM came)';
    ELSIF TG_OP = 'DELETE' THEN
        changed := '(SELECT * FROM gone)';
    ELSIF TG_NARGS > 1 THEN
        changed := format('(SELECT n.* FROM came n JOIN gone o ON o.id = n.id WHERE %1$s UNION ALL SELECT o.* FROM came n JOIN gone o ON o.id = n.id WHERE %1$s)', TG_ARGV[1]);
    ELSE
        changed := '(SELECT * FROM came UNION ALL SELECT * FROM gone)';
    END IF;
    EXECUTE format('SELECT array_agg(DISTINCT ARRAY[LEAST(GREATEST(lo / 86400000000, 0), 84000), LEAST(GREATEST(hi / 86400000000, 0), 84000)]) '
                   'FROM (%s) s(lo, hi) WHERE lo < $1', format(TG_ARGV[0], changed))
        INTO spans USING ((CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) - 3600) * 1000000);
    IF spans IS NOT NULL THEN
        PERFORM figures_bump(spans);
    END IF;
    RETURN NULL;
END $$;
-- A change that may move any figure.
CREATE FUNCTION figures_touched_anywhere() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM figures_bump(ARRAY[ARRAY[-1, -1]]::BIGINT[]);
    RETURN NULL;
END $$;
CREATE TRIGGER figures_reports_in AFTER INSERT ON reports REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, X.created_at FROM %1$s X');
CREATE TRIGGER figures_reports_up AFTER UPDATE ON reports REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, X.created_at FROM %1$s X');
CREATE TRIGGER figures_reports_out AFTER DELETE ON reports REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, X.created_at FROM %1$s X');
CREATE TRIGGER figures_encounters_in AFTER INSERT ON encounters REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.at, X.at FROM %1$s X');
CREATE TRIGGER figures_encounters_up AFTER UPDATE ON encounters REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.at, X.at FROM %1$s X');
CREATE TRIGGER figures_encounters_out AFTER DELETE ON encounters REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.at, X.at FROM %1$s X');
CREATE TRIGGER figures_encounter_people_in AFTER INSERT ON encounter_people REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT (SELECT e.at FROM encounters e WHERE e.id = X.encounter_id), (SELECT e.at FROM encounters e WHERE e.id = X.encounter_id) FROM %1$s X');
CREATE TRIGGER figures_encounter_people_up AFTER UPDATE ON encounter_people REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT (SELECT e.at FROM encounters e WHERE e.id = X.encounter_id), (SELECT e.at FROM encounters e WHERE e.id = X.encounter_id) FROM %1$s X');
CREATE TRIGGER figures_encounter_people_out AFTER DELETE ON encounter_people REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT (SELECT e.at FROM encounters e WHERE e.id = X.encounter_id), (SELECT e.at FROM encounters e WHERE e.id = X.encounter_id) FROM %1$s X');
CREATE TRIGGER figures_person_first_encounters_in AFTER INSERT ON person_first_encounters REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.first_at, X.first_at FROM %1$s X');
CREATE TRIGGER figures_person_first_encounters_up AFTER UPDATE ON person_first_encounters REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.first_at, X.first_at FROM %1$s X');
CREATE TRIGGER figures_person_first_encounters_out AFTER DELETE ON person_first_encounters REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.first_at, X.first_at FROM %1$s X');
CREATE TRIGGER figures_rounds_in AFTER INSERT ON rounds REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT COALESCE(X.started_at, X.planned_start), COALESCE(X.started_at, X.planned_start) FROM %1$s X');
CREATE TRIGGER figures_rounds_up AFTER UPDATE ON rounds REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT COALESCE(X.started_at, X.planned_start), COALESCE(X.started_at, X.planned_start) FROM %1$s X');
CREATE TRIGGER figures_rounds_out AFTER DELETE ON rounds REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT COALESCE(X.started_at, X.planned_start), COALESCE(X.started_at, X.planned_start) FROM %1$s X');
CREATE TRIGGER figures_round_distributions_in AFTER INSERT ON round_distributions REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = X.round_id), (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = X.round_id) FROM %1$s X');
CREATE TRIGGER figures_round_distributions_up AFTER UPDATE ON round_distributions REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = X.round_id), (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = X.round_id) FROM %1$s X');
CREATE TRIGGER figures_round_distributions_out AFTER DELETE ON round_distributions REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = X.round_id), (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = X.round_id) FROM %1$s X');
CREATE TRIGGER figures_referrals_in AFTER INSERT ON referrals REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, X.created_at FROM %1$s X');
CREATE TRIGGER figures_referrals_up AFTER UPDATE ON referrals REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, X.created_at FROM %1$s X');
CREATE TRIGGER figures_referrals_out AFTER DELETE ON referrals REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, X.created_at FROM %1$s X');
CREATE TRIGGER figures_cases_in AFTER INSERT ON cases REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, X.created_at FROM %1$s X UNION ALL SELECT X.closed_at, X.closed_at FROM %1$s X');
CREATE TRIGGER figures_cases_up AFTER UPDATE ON cases REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, X.created_at FROM %1$s X UNION ALL SELECT X.closed_at, X.closed_at FROM %1$s X');
CREATE TRIGGER figures_cases_out AFTER DELETE ON cases REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, X.created_at FROM %1$s X UNION ALL SELECT X.closed_at, X.closed_at FROM %1$s X');
CREATE TRIGGER figures_facility_nights_in AFTER INSERT ON facility_nights REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.night * 86400000000, X.night * 86400000000 FROM %1$s X');
CREATE TRIGGER figures_facility_nights_up AFTER UPDATE ON facility_nights REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.night * 86400000000, X.night * 86400000000 FROM %1$s X');
CREATE TRIGGER figures_facility_nights_out AFTER DELETE ON facility_nights REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.night * 86400000000, X.night * 86400000000 FROM %1$s X');
CREATE TRIGGER figures_mediations_in AFTER INSERT ON mediations REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.at, X.at FROM %1$s X');
CREATE TRIGGER figures_mediations_up AFTER UPDATE ON mediations REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.at, X.at FROM %1$s X');
CREATE TRIGGER figures_mediations_out AFTER DELETE ON mediations REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.at, X.at FROM %1$s X');
CREATE TRIGGER figures_meetings_in AFTER INSERT ON meetings REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.starts_at, X.starts_at FROM %1$s X');
CREATE TRIGGER figures_meetings_up AFTER UPDATE ON meetings REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.starts_at, X.starts_at FROM %1$s X');
CREATE TRIGGER figures_meetings_out AFTER DELETE ON meetings REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.starts_at, X.starts_at FROM %1$s X');
CREATE TRIGGER figures_meeting_attendees_in AFTER INSERT ON meeting_attendees REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT (SELECT m.starts_at FROM meetings m WHERE m.id = X.meeting_id), (SELECT m.starts_at FROM meetings m WHERE m.id = X.meeting_id) FROM %1$s X');
CREATE TRIGGER figures_meeting_attendees_up AFTER UPDATE ON meeting_attendees REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT (SELECT m.starts_at FROM meetings m WHERE m.id = X.meeting_id), (SELECT m.starts_at FROM meetings m WHERE m.id = X.meeting_id) FROM %1$s X');
CREATE TRIGGER figures_meeting_attendees_out AFTER DELETE ON meeting_attendees REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT (SELECT m.starts_at FROM meetings m WHERE m.id = X.meeting_id), (SELECT m.starts_at FROM meetings m WHERE m.id = X.meeting_id) FROM %1$s X');
CREATE TRIGGER figures_stays_in AFTER INSERT ON stays REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.from_night * 86400000000, X.to_night * 86400000000 FROM %1$s X');
CREATE TRIGGER figures_stays_up AFTER UPDATE ON stays REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.from_night * 86400000000, X.to_night * 86400000000 FROM %1$s X');
CREATE TRIGGER figures_stays_out AFTER DELETE ON stays REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.from_night * 86400000000, X.to_night * 86400000000 FROM %1$s X');
CREATE TRIGGER figures_sites_in AFTER INSERT ON sites REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, COALESCE(X.closed_at, (CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) * 1000000)) FROM %1$s X', '(n.organisation_id, n.kind, n.territory_id, n.created_at, n.closed_at) IS DISTINCT FROM (o.organisation_id, o.kind, o.territory_id, o.created_at, o.closed_at)');
CREATE TRIGGER figures_sites_up AFTER UPDATE ON sites REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, COALESCE(X.closed_at, (CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) * 1000000)) FROM %1$s X', '(n.organisation_id, n.kind, n.territory_id, n.created_at, n.closed_at) IS DISTINCT FROM (o.organisation_id, o.kind, o.territory_id, o.created_at, o.closed_at)');
CREATE TRIGGER figures_sites_out AFTER DELETE ON sites REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.created_at, COALESCE(X.closed_at, (CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) * 1000000)) FROM %1$s X', '(n.organisation_id, n.kind, n.territory_id, n.created_at, n.closed_at) IS DISTINCT FROM (o.organisation_id, o.kind, o.territory_id, o.created_at, o.closed_at)');
CREATE TRIGGER figures_site_observations_in AFTER INSERT ON site_observations REFERENCING NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.observed_at, X.observed_at FROM %1$s X UNION ALL SELECT s.created_at, COALESCE(s.closed_at, (CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) * 1000000)) FROM %1$s X JOIN sites s ON s.id = X.site_id WHERE s.organisation_id <> X.organisation_id AND NOT EXISTS (SELECT 1 FROM site_observations o2 WHERE o2.site_id = X.site_id AND o2.organisation_id = X.organisation_id AND o2.id NOT IN (SELECT Y.id FROM %1$s Y))');
CREATE TRIGGER figures_site_observations_up AFTER UPDATE ON site_observations REFERENCING OLD TABLE AS gone NEW TABLE AS came
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.observed_at, X.observed_at FROM %1$s X UNION ALL SELECT s.created_at, COALESCE(s.closed_at, (CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) * 1000000)) FROM %1$s X JOIN sites s ON s.id = X.site_id WHERE s.organisation_id <> X.organisation_id AND NOT EXISTS (SELECT 1 FROM site_observations o2 WHERE o2.site_id = X.site_id AND o2.organisation_id = X.organisation_id AND o2.id NOT IN (SELECT Y.id FROM %1$s Y))');
CREATE TRIGGER figures_site_observations_out AFTER DELETE ON site_observations REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION figures_touched('SELECT X.observed_at, X.observed_at FROM %1$s X UNION ALL SELECT s.created_at, COALESCE(s.closed_at, (CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) * 1000000)) FROM %1$s X JOIN sites s ON s.id = X.site_id WHERE s.organisation_id <> X.organisation_id AND NOT EXISTS (SELECT 1 FROM site_observations o2 WHERE o2.site_id = X.site_id AND o2.organisation_id = X.organisation_id AND o2.id NOT IN (SELECT Y.id FROM %1$s Y))');
CREATE TRIGGER figures_people_up_anywhere AFTER UPDATE OF organisation_id, territory_id, gender, birth_year, age_band, needs ON people
FOR EACH ROW
WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id OR OLD.territory_id IS DISTINCT FROM NEW.territory_id OR OLD.gender IS DISTINCT FROM NEW.gender OR OLD.birth_year IS DISTINCT FROM NEW.birth_year OR OLD.age_band IS DISTINCT FROM NEW.age_band OR OLD.needs IS DISTINCT FROM NEW.needs) EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_people_out_anywhere AFTER DELETE ON people
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_person_links_in_anywhere AFTER INSERT ON person_links
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_person_links_up_anywhere AFTER UPDATE ON person_links
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_person_links_out_anywhere AFTER DELETE ON person_links
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_distribution_items_up_anywhere AFTER UPDATE OF name ON distribution_items
FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_distribution_items_out_anywhere AFTER DELETE ON distribution_items
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_directory_services_up_anywhere AFTER UPDATE OF name ON directory_services
FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_directory_services_out_anywhere AFTER DELETE ON directory_services
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_facilities_in_anywhere AFTER INSERT ON facilities
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_facilities_up_anywhere AFTER UPDATE OF organisation_id, territory_id, places, active ON facilities
FOR EACH ROW
WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id OR OLD.territory_id IS DISTINCT FROM NEW.territory_id OR OLD.places IS DISTINCT FROM NEW.places OR OLD.active IS DISTINCT FROM NEW.active) EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_facilities_out_anywhere AFTER DELETE ON facilities
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_figure_tallies_in_anywhere AFTER INSERT ON figure_tallies
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_figure_tallies_up_anywhere AFTER UPDATE ON figure_tallies
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_figure_tallies_out_anywhere AFTER DELETE ON figure_tallies
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_territories_in_anywhere AFTER INSERT ON territories
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_territories_up_anywhere AFTER UPDATE OF name ON territories
FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_territories_out_anywhere AFTER DELETE ON territories
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_users_up_anywhere AFTER UPDATE OF organisation_id ON users
FOR EACH ROW
WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id) EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_users_out_anywhere AFTER DELETE ON users
FOR EACH ROW EXECUTE FUNCTION figures_touched_anywhere();
CREATE TRIGGER figures_rounds_up_anywhere AFTER UPDATE OF team_id ON rounds
FOR EACH ROW
WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id) EXECUTE FUNCTION figures_touched_anywhere();
