-- Lists read a page at a time (decision 92): the list of sites keeps "not
-- seen for N days" in SQL, which asks whether a round stop visited a site
-- after an instant — an index on the stops of a site by visit, as
-- observations have.
CREATE INDEX round_stops_site ON round_stops (site_id, visited_at);
