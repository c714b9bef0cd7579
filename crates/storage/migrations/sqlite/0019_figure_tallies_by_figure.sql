-- The tallies of erased and anonymised people now hold, per organisation and
-- calendar period, what they counted in each figure of the dashboard (decision
-- 81): the count with them minus the count without them. Referrals by status
-- were already tallied by month and keep their meaning; the earlier counts of
-- participations (people met, by age band and gender) cannot be turned into
-- unique people and are removed.
UPDATE figure_tallies SET measure = 'referrals.outcome' WHERE measure = 'referral';
DELETE FROM figure_tallies WHERE measure IN ('people_met', 'age_band', 'gender');
