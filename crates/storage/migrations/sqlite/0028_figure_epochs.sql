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
    k INTEGER PRIMARY KEY,
    n INTEGER NOT NULL DEFAULT 0,
    xact INTEGER
);
WITH RECURSIVE d(k) AS (SELECT -2 UNION ALL SELECT k + 1 FROM d WHERE k < 84000)
INSERT INTO figure_epochs (k, n) SELECT k, 0 FROM d;

CREATE TRIGGER figures_reports_in AFTER INSERT ON reports WHEN NEW.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((NEW.created_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_reports_up AFTER UPDATE ON reports WHEN OLD.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.created_at) / 86400000000, 0), 84000), MIN(MAX((NEW.created_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_reports_out AFTER DELETE ON reports WHEN OLD.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.created_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_encounters_in AFTER INSERT ON encounters WHEN NEW.at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((NEW.at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_encounters_up AFTER UPDATE ON encounters WHEN OLD.at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.at) / 86400000000, 0), 84000), MIN(MAX((NEW.at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_encounters_out AFTER DELETE ON encounters WHEN OLD.at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_encounter_people_in AFTER INSERT ON encounter_people WHEN (SELECT e.at FROM encounters e WHERE e.id = NEW.encounter_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX(((SELECT e.at FROM encounters e WHERE e.id = NEW.encounter_id)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_encounter_people_up AFTER UPDATE ON encounter_people WHEN (SELECT e.at FROM encounters e WHERE e.id = OLD.encounter_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR (SELECT e.at FROM encounters e WHERE e.id = NEW.encounter_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX(((SELECT e.at FROM encounters e WHERE e.id = OLD.encounter_id)) / 86400000000, 0), 84000), MIN(MAX(((SELECT e.at FROM encounters e WHERE e.id = NEW.encounter_id)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_encounter_people_out AFTER DELETE ON encounter_people WHEN (SELECT e.at FROM encounters e WHERE e.id = OLD.encounter_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX(((SELECT e.at FROM encounters e WHERE e.id = OLD.encounter_id)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_person_first_encounters_in AFTER INSERT ON person_first_encounters WHEN NEW.first_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((NEW.first_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_person_first_encounters_up AFTER UPDATE ON person_first_encounters WHEN OLD.first_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.first_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.first_at) / 86400000000, 0), 84000), MIN(MAX((NEW.first_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_person_first_encounters_out AFTER DELETE ON person_first_encounters WHEN OLD.first_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.first_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_rounds_in AFTER INSERT ON rounds WHEN COALESCE(NEW.started_at, NEW.planned_start) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((COALESCE(NEW.started_at, NEW.planned_start)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_rounds_up AFTER UPDATE ON rounds WHEN COALESCE(OLD.started_at, OLD.planned_start) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR COALESCE(NEW.started_at, NEW.planned_start) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((COALESCE(OLD.started_at, OLD.planned_start)) / 86400000000, 0), 84000), MIN(MAX((COALESCE(NEW.started_at, NEW.planned_start)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_rounds_out AFTER DELETE ON rounds WHEN COALESCE(OLD.started_at, OLD.planned_start) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((COALESCE(OLD.started_at, OLD.planned_start)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_round_distributions_in AFTER INSERT ON round_distributions WHEN (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = NEW.round_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX(((SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = NEW.round_id)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_round_distributions_up AFTER UPDATE ON round_distributions WHEN (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = OLD.round_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = NEW.round_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX(((SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = OLD.round_id)) / 86400000000, 0), 84000), MIN(MAX(((SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = NEW.round_id)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_round_distributions_out AFTER DELETE ON round_distributions WHEN (SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = OLD.round_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX(((SELECT COALESCE(r.started_at, r.planned_start) FROM rounds r WHERE r.id = OLD.round_id)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_referrals_in AFTER INSERT ON referrals WHEN NEW.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((NEW.created_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_referrals_up AFTER UPDATE ON referrals WHEN OLD.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.created_at) / 86400000000, 0), 84000), MIN(MAX((NEW.created_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_referrals_out AFTER DELETE ON referrals WHEN OLD.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.created_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_cases_in AFTER INSERT ON cases WHEN NEW.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.closed_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((NEW.created_at) / 86400000000, 0), 84000), MIN(MAX((NEW.closed_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_cases_up AFTER UPDATE ON cases WHEN OLD.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR OLD.closed_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.closed_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.created_at) / 86400000000, 0), 84000), MIN(MAX((OLD.closed_at) / 86400000000, 0), 84000), MIN(MAX((NEW.created_at) / 86400000000, 0), 84000), MIN(MAX((NEW.closed_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_cases_out AFTER DELETE ON cases WHEN OLD.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR OLD.closed_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.created_at) / 86400000000, 0), 84000), MIN(MAX((OLD.closed_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_facility_nights_in AFTER INSERT ON facility_nights WHEN NEW.night * 86400000000 < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((NEW.night * 86400000000) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_facility_nights_up AFTER UPDATE ON facility_nights WHEN OLD.night * 86400000000 < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.night * 86400000000 < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.night * 86400000000) / 86400000000, 0), 84000), MIN(MAX((NEW.night * 86400000000) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_facility_nights_out AFTER DELETE ON facility_nights WHEN OLD.night * 86400000000 < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.night * 86400000000) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_mediations_in AFTER INSERT ON mediations WHEN NEW.at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((NEW.at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_mediations_up AFTER UPDATE ON mediations WHEN OLD.at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.at) / 86400000000, 0), 84000), MIN(MAX((NEW.at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_mediations_out AFTER DELETE ON mediations WHEN OLD.at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_meetings_in AFTER INSERT ON meetings WHEN NEW.starts_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((NEW.starts_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_meetings_up AFTER UPDATE ON meetings WHEN OLD.starts_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.starts_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.starts_at) / 86400000000, 0), 84000), MIN(MAX((NEW.starts_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_meetings_out AFTER DELETE ON meetings WHEN OLD.starts_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX((OLD.starts_at) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_meeting_attendees_in AFTER INSERT ON meeting_attendees WHEN (SELECT m.starts_at FROM meetings m WHERE m.id = NEW.meeting_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX(((SELECT m.starts_at FROM meetings m WHERE m.id = NEW.meeting_id)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_meeting_attendees_up AFTER UPDATE ON meeting_attendees WHEN (SELECT m.starts_at FROM meetings m WHERE m.id = OLD.meeting_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR (SELECT m.starts_at FROM meetings m WHERE m.id = NEW.meeting_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX(((SELECT m.starts_at FROM meetings m WHERE m.id = OLD.meeting_id)) / 86400000000, 0), 84000), MIN(MAX(((SELECT m.starts_at FROM meetings m WHERE m.id = NEW.meeting_id)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_meeting_attendees_out AFTER DELETE ON meeting_attendees WHEN (SELECT m.starts_at FROM meetings m WHERE m.id = OLD.meeting_id) < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k IN (MIN(MAX(((SELECT m.starts_at FROM meetings m WHERE m.id = OLD.meeting_id)) / 86400000000, 0), 84000));
END;
CREATE TRIGGER figures_stays_in AFTER INSERT ON stays WHEN NEW.from_night * 86400000000 < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k BETWEEN MIN(MAX((NEW.from_night * 86400000000) / 86400000000, 0), 84000) AND MIN(MAX((NEW.to_night * 86400000000) / 86400000000, 0), 84000);
END;
CREATE TRIGGER figures_stays_up AFTER UPDATE ON stays WHEN OLD.from_night * 86400000000 < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.from_night * 86400000000 < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k BETWEEN MIN(MAX((OLD.from_night * 86400000000) / 86400000000, 0), 84000) AND MIN(MAX((OLD.to_night * 86400000000) / 86400000000, 0), 84000);
    UPDATE figure_epochs SET n = n + 1 WHERE k BETWEEN MIN(MAX((NEW.from_night * 86400000000) / 86400000000, 0), 84000) AND MIN(MAX((NEW.to_night * 86400000000) / 86400000000, 0), 84000);
END;
CREATE TRIGGER figures_stays_out AFTER DELETE ON stays WHEN OLD.from_night * 86400000000 < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k BETWEEN MIN(MAX((OLD.from_night * 86400000000) / 86400000000, 0), 84000) AND MIN(MAX((OLD.to_night * 86400000000) / 86400000000, 0), 84000);
END;
CREATE TRIGGER figures_sites_in AFTER INSERT ON sites WHEN NEW.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k BETWEEN MIN(MAX((NEW.created_at) / 86400000000, 0), 84000) AND MIN(MAX((COALESCE(NEW.closed_at, (CAST(strftime('%s', 'now') AS INTEGER) * 1000000))) / 86400000000, 0), 84000);
END;
CREATE TRIGGER figures_sites_up AFTER UPDATE OF organisation_id, kind, territory_id, created_at, closed_at ON sites WHEN OLD.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NEW.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k BETWEEN MIN(MAX((OLD.created_at) / 86400000000, 0), 84000) AND MIN(MAX((COALESCE(OLD.closed_at, (CAST(strftime('%s', 'now') AS INTEGER) * 1000000))) / 86400000000, 0), 84000);
    UPDATE figure_epochs SET n = n + 1 WHERE k BETWEEN MIN(MAX((NEW.created_at) / 86400000000, 0), 84000) AND MIN(MAX((COALESCE(NEW.closed_at, (CAST(strftime('%s', 'now') AS INTEGER) * 1000000))) / 86400000000, 0), 84000);
END;
CREATE TRIGGER figures_sites_out AFTER DELETE ON sites WHEN OLD.created_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k BETWEEN MIN(MAX((OLD.created_at) / 86400000000, 0), 84000) AND MIN(MAX((COALESCE(OLD.closed_at, (CAST(strftime('%s', 'now') AS INTEGER) * 1000000))) / 86400000000, 0), 84000);
END;
CREATE TRIGGER figures_site_observations_in AFTER INSERT ON site_observations WHEN NEW.observed_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NOT EXISTS (SELECT 1 FROM site_observations o2 WHERE o2.site_id = NEW.site_id AND o2.organisation_id = NEW.organisation_id AND o2.id <> NEW.id) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = MIN(MAX((NEW.observed_at) / 86400000000, 0), 84000);
    UPDATE figure_epochs SET n = n + 1 WHERE NOT EXISTS (SELECT 1 FROM site_observations o2 WHERE o2.site_id = NEW.site_id AND o2.organisation_id = NEW.organisation_id AND o2.id <> NEW.id) AND k BETWEEN
        (SELECT MIN(MAX((s.created_at) / 86400000000, 0), 84000) FROM sites s WHERE s.id = NEW.site_id AND s.organisation_id <> NEW.organisation_id)
        AND (SELECT MIN(MAX((COALESCE(s.closed_at, (CAST(strftime('%s', 'now') AS INTEGER) * 1000000))) / 86400000000, 0), 84000) FROM sites s WHERE s.id = NEW.site_id AND s.organisation_id <> NEW.organisation_id);
END;
CREATE TRIGGER figures_site_observations_out AFTER DELETE ON site_observations WHEN OLD.observed_at < ((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000) OR NOT EXISTS (SELECT 1 FROM site_observations o2 WHERE o2.site_id = OLD.site_id AND o2.organisation_id = OLD.organisation_id AND o2.id <> OLD.id) BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = MIN(MAX((OLD.observed_at) / 86400000000, 0), 84000);
    UPDATE figure_epochs SET n = n + 1 WHERE NOT EXISTS (SELECT 1 FROM site_observations o2 WHERE o2.site_id = OLD.site_id AND o2.organisation_id = OLD.organisation_id AND o2.id <> OLD.id) AND k BETWEEN
        (SELECT MIN(MAX((s.created_at) / 86400000000, 0), 84000) FROM sites s WHERE s.id = OLD.site_id AND s.organisation_id <> OLD.organisation_id)
        AND (SELECT MIN(MAX((COALESCE(s.closed_at, (CAST(strftime('%s', 'now') AS INTEGER) * 1000000))) / 86400000000, 0), 84000) FROM sites s WHERE s.id = OLD.site_id AND s.organisation_id <> OLD.organisation_id);
END;
CREATE TRIGGER figures_people_up_anywhere AFTER UPDATE OF organisation_id, territory_id, gender, birth_year, age_band, needs ON people WHEN OLD.organisation_id IS NOT NEW.organisation_id OR OLD.territory_id IS NOT NEW.territory_id OR OLD.gender IS NOT NEW.gender OR OLD.birth_year IS NOT NEW.birth_year OR OLD.age_band IS NOT NEW.age_band OR OLD.needs IS NOT NEW.needs BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_people_out_anywhere AFTER DELETE ON people BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_person_links_in_anywhere AFTER INSERT ON person_links BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_person_links_up_anywhere AFTER UPDATE ON person_links BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_person_links_out_anywhere AFTER DELETE ON person_links BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_distribution_items_up_anywhere AFTER UPDATE OF name ON distribution_items WHEN OLD.name IS NOT NEW.name BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_distribution_items_out_anywhere AFTER DELETE ON distribution_items BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_directory_services_up_anywhere AFTER UPDATE OF name ON directory_services WHEN OLD.name IS NOT NEW.name BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_directory_services_out_anywhere AFTER DELETE ON directory_services BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_facilities_in_anywhere AFTER INSERT ON facilities BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_facilities_up_anywhere AFTER UPDATE OF organisation_id, territory_id, places, active ON facilities WHEN OLD.organisation_id IS NOT NEW.organisation_id OR OLD.territory_id IS NOT NEW.territory_id OR OLD.places IS NOT NEW.places OR OLD.active IS NOT NEW.active BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_facilities_out_anywhere AFTER DELETE ON facilities BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_figure_tallies_in_anywhere AFTER INSERT ON figure_tallies BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_figure_tallies_up_anywhere AFTER UPDATE ON figure_tallies BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_figure_tallies_out_anywhere AFTER DELETE ON figure_tallies BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_territories_in_anywhere AFTER INSERT ON territories BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_territories_up_anywhere AFTER UPDATE OF name ON territories WHEN OLD.name IS NOT NEW.name BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_territories_out_anywhere AFTER DELETE ON territories BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_users_up_anywhere AFTER UPDATE OF organisation_id ON users WHEN OLD.organisation_id IS NOT NEW.organisation_id BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_users_out_anywhere AFTER DELETE ON users BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_rounds_up_anywhere AFTER UPDATE OF team_id ON rounds WHEN OLD.team_id IS NOT NEW.team_id BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
CREATE TRIGGER figures_site_observations_up_anywhere AFTER UPDATE ON site_observations BEGIN
    UPDATE figure_epochs SET n = n + 1 WHERE k = -1;
END;
