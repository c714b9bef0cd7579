-- Figures at a million encounters (issue 16): each figure reads the records
-- of one organisation in a period, so each table it counts has an index that
-- starts with the organisation and goes on with the record's instant.
-- Reports: the organisation handling it or the one that triaged it (the
-- figures' scope), by receipt.
CREATE INDEX reports_organisation_created ON reports (organisation_id, created_at);
CREATE INDEX reports_triage_organisation_created ON reports (triage_organisation_id, created_at);
-- Encounters by organisation and instant, carrying the encounter's id so that
-- the people met in a period are found from the index alone.
DROP INDEX encounters_organisation;
CREATE INDEX encounters_organisation ON encounters (organisation_id, at, id);
-- A file's encounters, from the index alone ("met before?" for new and known).
DROP INDEX encounter_people_person;
CREATE INDEX encounter_people_person ON encounter_people (person_id, encounter_id);
-- Rounds by the instant distributions are counted at: started, else planned.
CREATE INDEX rounds_organisation_start ON rounds (organisation_id, (COALESCE(started_at, planned_start)));
