#!/usr/bin/env python3
"""The standard activity report's aggregates, computed by DuckDB on the CSV
export of a veille instance (`veille demo --scale N --export DIR`).

Same definitions as veille's figures (docs/decisions.md, decision 83), written
again here against the exported tables: periods are days of Europe/Paris; the
organisation's scope is what it owns and what is shared with it (reports it
triages, referrals to it, stays it operates, meetings its staff attended);
linked files count as one person; response times are nearest-rank percentiles.

Prints (or writes with --out) a JSON document:
  {"cells": {"<table>/<code>": [period, period before], ...,
             "measure/<code>": [period, period before], ...,
             "<trend>/<YYYY-MM>": value, ...},
   "tables": ["<table>", "measure/<code>", "<trend>", ...],  (what this script computes:
             a figure of another table is not compared; a code not named in a
             table it computes is 0)
   "seconds": {"load": s, "queries": fastest s, "runs": [s, ...]}}
The keys are those of veille's dashboard (table ids and row codes), so the two
can be compared figure by figure.
"""

import argparse
import calendar
import json
import math
import os
import sys
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import duckdb

PARIS = ZoneInfo("Europe/Paris")

TABLES = {
    "reports": {
        "id": "VARCHAR", "created_at": "BIGINT", "source": "VARCHAR", "channel": "VARCHAR", "level": "BIGINT",
        "level_override": "BIGINT", "status": "VARCHAR", "situations": "VARCHAR", "answered_at": "BIGINT",
        "duplicate_of": "VARCHAR", "organisation_id": "VARCHAR", "triage_organisation_id": "VARCHAR",
        "team_id": "VARCHAR", "territory_id": "VARCHAR",
    },
    "encounters": {"id": "VARCHAR", "organisation_id": "VARCHAR", "territory_id": "VARCHAR", "at": "BIGINT",
                   "round_id": "VARCHAR", "unidentified_count": "BIGINT"},
    "encounter_people": {"encounter_id": "VARCHAR", "person_id": "VARCHAR"},
    "people": {"id": "VARCHAR", "organisation_id": "VARCHAR", "territory_id": "VARCHAR", "birth_year": "BIGINT",
               "age_band": "VARCHAR", "gender": "VARCHAR", "needs": "VARCHAR"},
    "person_links": {"id": "VARCHAR", "person_a": "VARCHAR", "person_b": "VARCHAR", "unlinked_at": "BIGINT"},
    "rounds": {"id": "VARCHAR", "organisation_id": "VARCHAR", "territory_id": "VARCHAR", "team_id": "VARCHAR",
               "planned_start": "BIGINT", "started_at": "BIGINT"},
    "round_distributions": {"round_id": "VARCHAR", "item_id": "VARCHAR", "quantity": "BIGINT"},
    "distribution_items": {"id": "VARCHAR", "organisation_id": "VARCHAR", "name": "VARCHAR"},
    "referrals": {"id": "VARCHAR", "organisation_id": "VARCHAR", "person_id": "VARCHAR", "service_id": "VARCHAR",
                  "partner_organisation_id": "VARCHAR", "status": "VARCHAR", "created_at": "BIGINT"},
    "directory_services": {"id": "VARCHAR", "name": "VARCHAR"},
    "cases": {"id": "VARCHAR", "organisation_id": "VARCHAR", "territory_id": "VARCHAR", "created_at": "BIGINT",
              "closed_at": "BIGINT", "outcome": "VARCHAR"},
    "facilities": {"id": "VARCHAR", "organisation_id": "VARCHAR", "territory_id": "VARCHAR", "places": "BIGINT",
                   "active": "BIGINT"},
    "facility_nights": {"facility_id": "VARCHAR", "night": "BIGINT", "places": "BIGINT"},
    "stays": {"id": "VARCHAR", "organisation_id": "VARCHAR", "operator_organisation_id": "VARCHAR",
              "territory_id": "VARCHAR", "places": "BIGINT", "status": "VARCHAR", "from_night": "BIGINT",
              "to_night": "BIGINT"},
    "mediations": {"id": "VARCHAR", "organisation_id": "VARCHAR", "territory_id": "VARCHAR", "team_id": "VARCHAR",
                   "at": "BIGINT", "outcome": "VARCHAR"},
    "meetings": {"id": "VARCHAR", "organisation_id": "VARCHAR", "territory_id": "VARCHAR", "kind": "VARCHAR",
                 "status": "VARCHAR", "starts_at": "BIGINT"},
    "meeting_attendees": {"id": "VARCHAR", "meeting_id": "VARCHAR", "user_id": "VARCHAR", "count": "BIGINT"},
    "users": {"id": "VARCHAR", "organisation_id": "VARCHAR"},
}


def load(con, directory):
    for table, columns in TABLES.items():
        cols = "{" + ", ".join(f"'{c}': '{t}'" for c, t in columns.items()) + "}"
        path = os.path.join(directory, f"{table}.csv").replace("'", "''")
        con.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', header = true, columns = {cols}, "
            f"nullstr = '', allow_quoted_nulls = false, quote = '\"', escape = '\"', auto_detect = false)"
        )


# ------------------------------------------------------------------ periods


def add_months(d, n):
    m = d.month - 1 + n
    y = d.year + m // 12
    m = m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def period(kind, at):
    """(first, last) days, included, of a month `2026-11`, quarter `2026-T4` or year `2026`."""
    if kind == "month":
        y, m = (int(x) for x in at.split("-"))
        first = date(y, m, 1)
        return first, date.fromordinal(add_months(first, 1).toordinal() - 1)
    if kind == "quarter":
        y, q = at.split("-")
        first = date(int(y), (int(q.lstrip("TQtq")) - 1) * 3 + 1, 1)
        return first, date.fromordinal(add_months(first, 3).toordinal() - 1)
    if kind == "year":
        return date(int(at), 1, 1), date(int(at), 12, 31)
    raise SystemExit(f"unknown period kind {kind}")


def previous(kind, first, last):
    before = date.fromordinal(first.toordinal() - 1)
    if kind == "month":
        return period("month", f"{before.year}-{before.month:02}")
    if kind == "quarter":
        return period("quarter", f"{before.year}-T{(before.month - 1) // 3 + 1}")
    return period("year", str(before.year))


def paris_micros(d):
    """Midnight in Paris at the start of day d, as micros since the epoch."""
    return int(datetime(d.year, d.month, d.day, tzinfo=PARIS).timestamp()) * 1_000_000


def night(d):
    return (d - date(1970, 1, 1)).days


def rounded(x):
    """Half away from zero (as Rust's f64::round)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def hours(secs):
    return None if secs is None else rounded(secs / 360.0) / 10.0


def share(part, whole):
    return rounded(part * 1000.0 / whole) / 10.0 if whole > 0 else None


# ------------------------------------------------------------------ figures


class Figures:
    def __init__(self, con, org, answer_secs):
        self.con = con
        self.org = org
        self.d1, self.d2 = answer_secs

    def rows(self, sql, params):
        return self.con.execute(sql, params).fetchall()

    def grouped(self, sql, params):
        return {("" if k is None else str(k)): int(n) for k, n in self.rows(sql, params)}

    # Each function: one slice [a, b) → {code: count} (or a tuple of figures).

    def reports_in(self):
        return ("FROM reports WHERE created_at >= $a AND created_at < $b "
                "AND (organisation_id = $org OR triage_organisation_id = $org)")

    def reports_by(self, a, b, expr):
        return self.grouped(f"SELECT {expr}, count(*) {self.reports_in()} GROUP BY 1", {"a": a, "b": b, "org": self.org})

    def situations(self, a, b):
        return self.grouped(
            f"SELECT s, count(*) FROM (SELECT unnest(string_split(situations, ',')) AS s {self.reports_in()}) "
            "WHERE s <> '' GROUP BY s", {"a": a, "b": b, "org": self.org})

    def response(self, a, b):
        r = self.rows(
            f"""WITH x AS (SELECT created_at, answered_at, COALESCE(level_override, level) AS lvl
                           {self.reports_in()} AND duplicate_of IS NULL)
                SELECT count(*), count(answered_at),
                       count(*) FILTER (WHERE answered_at - created_at <= CASE WHEN lvl = 2 THEN $d2 ELSE $d1 END),
                       list_sort(list(answered_at - created_at) FILTER (WHERE answered_at IS NOT NULL))
                FROM x""",
            {"a": a, "b": b, "org": self.org, "d1": self.d1 * 1_000_000, "d2": self.d2 * 1_000_000})[0]
        received, answered, within, times = r[0], r[1], r[2], r[3] or []
        n = len(times)
        rank = lambda q: times[(n * q + 99) // 100 - 1] // 1_000_000 if n else None  # nearest rank ceil(n q)
        return {"received": received, "answered": answered, "within_deadline": within}, rank(50), rank(90)

    def encounters_in(self):
        return "encounters e WHERE e.at >= $a AND e.at < $b AND e.organisation_id = $org"

    def encounter_totals(self, a, b):
        p = {"a": a, "b": b, "org": self.org}
        n, u = self.rows(f"SELECT count(*), COALESCE(sum(e.unidentified_count), 0) FROM {self.encounters_in()}", p)[0]
        files = self.rows(
            f"SELECT count(DISTINCT ep.person_id) FROM encounter_people ep JOIN (SELECT e.id FROM {self.encounters_in()}) m "
            "ON m.id = ep.encounter_id", p)[0][0]
        return {"encounters": n, "files": files, "unidentified": u}

    def people(self, a, b, year):
        """Unique people: gender, age band, new/known, by the described file."""
        p = {"a": a, "b": b, "org": self.org, "y": year}
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE canon AS
                WITH RECURSIVE
                  met(pid) AS (SELECT DISTINCT ep.person_id FROM encounter_people ep
                               JOIN (SELECT e.id FROM {self.encounters_in()}) m ON m.id = ep.encounter_id),
                  links(a, b) AS (SELECT person_a, person_b FROM person_links WHERE unlinked_at IS NULL
                                  UNION SELECT person_b, person_a FROM person_links WHERE unlinked_at IS NULL),
                  reach(pid, other) AS (SELECT pid, pid FROM met
                                        UNION SELECT r.pid, l.b FROM reach r JOIN links l ON l.a = r.other),
                  comp AS (SELECT pid, min(other) AS rep FROM reach GROUP BY pid),
                  files AS (SELECT DISTINCT c.rep, r.other FROM comp c JOIN reach r ON r.pid = c.pid),
                  known AS (SELECT DISTINCT f.rep FROM files f JOIN encounter_people ep ON ep.person_id = f.other
                            JOIN encounters e ON e.id = ep.encounter_id
                            WHERE e.at < $a AND e.organisation_id = $org)
                SELECT c.rep, min(c.pid) AS pid, bool_or(k.rep IS NOT NULL) AS known
                FROM comp c LEFT JOIN known k ON k.rep = c.rep GROUP BY c.rep""",
            {"a": a, "b": b, "org": self.org})
        band = """CASE WHEN pp.birth_year IS NULL THEN COALESCE(pp.age_band, 'unknown')
                       WHEN $y - pp.birth_year < 18 THEN 'under_18' WHEN $y - pp.birth_year < 25 THEN '18_24'
                       WHEN $y - pp.birth_year < 35 THEN '25_34' WHEN $y - pp.birth_year < 50 THEN '35_49'
                       WHEN $y - pp.birth_year < 65 THEN '50_64' ELSE '65_plus' END"""
        gender = self.grouped("SELECT pp.gender, count(*) FROM canon c JOIN people pp ON pp.id = c.pid GROUP BY 1", {})
        age = self.grouped(f"SELECT {band}, count(*) FROM canon c JOIN people pp ON pp.id = c.pid GROUP BY 1", {"y": p["y"]})
        novelty = self.grouped("SELECT CASE WHEN known THEN 'known' ELSE 'new' END, count(*) FROM canon GROUP BY 1", {})
        return gender, age, novelty

    def distributions(self, a, b):
        return self.grouped(
            """SELECT i.name, sum(d.quantity) FROM round_distributions d JOIN rounds r ON r.id = d.round_id
               JOIN distribution_items i ON i.id = d.item_id
               WHERE COALESCE(r.started_at, r.planned_start) >= $a AND COALESCE(r.started_at, r.planned_start) < $b
                 AND r.organisation_id = $org GROUP BY 1""", {"a": a, "b": b, "org": self.org})

    def referrals_in(self):
        return ("FROM referrals r JOIN people rp ON rp.id = r.person_id LEFT JOIN directory_services ds ON ds.id = r.service_id "
                "WHERE r.created_at >= $a AND r.created_at < $b AND (r.organisation_id = $org OR r.partner_organisation_id = $org)")

    def referrals(self, a, b):
        p = {"a": a, "b": b, "org": self.org}
        service = self.grouped(f"SELECT COALESCE(ds.name, ''), count(*) {self.referrals_in()} GROUP BY 1", p)
        outcome = self.grouped(f"SELECT r.status, count(*) {self.referrals_in()} GROUP BY 1", p)
        need = self.grouped(
            f"SELECT n, count(*) FROM (SELECT unnest(string_split(rp.needs, ',')) AS n {self.referrals_in()}) WHERE n <> '' GROUP BY n", p)
        return service, need, outcome

    def cases(self, a, b):
        p = {"a": a, "b": b, "org": self.org}
        opened = self.rows("SELECT count(*) FROM cases WHERE created_at >= $a AND created_at < $b AND organisation_id = $org", p)[0][0]
        closed = self.grouped(
            "SELECT COALESCE(outcome, ''), count(*) FROM cases WHERE closed_at >= $a AND closed_at < $b AND organisation_id = $org GROUP BY 1", p)
        return {"opened": opened}, closed

    def shelter(self, first, last):
        a, b = night(first), night(last) + 1
        p = {"a": a, "b": b, "org": self.org}
        offered = self.rows(
            """SELECT COALESCE(sum(f.places * ($b - $a - COALESCE(o.cn, 0)) + COALESCE(o.sp, 0)), 0) FROM facilities f
               LEFT JOIN (SELECT facility_id, sum(places) AS sp, count(*) AS cn FROM facility_nights
                          WHERE night >= $a AND night < $b GROUP BY 1) o ON o.facility_id = f.id
               WHERE f.organisation_id = $org AND f.active = 1""", p)[0][0]
        stays, taken = self.rows(
            """SELECT count(*), COALESCE(sum(places * (least(to_night, $b) - greatest(from_night, $a))), 0) FROM stays
               WHERE status IN ('present', 'left') AND from_night < $b AND to_night > $a
                 AND (organisation_id = $org OR operator_organisation_id = $org)""", p)[0]
        return {"stays": stays, "taken": taken, "offered": offered}

    def mediations(self, a, b):
        return self.grouped(
            "SELECT m.outcome, count(*) FROM mediations m WHERE m.at >= $a AND m.at < $b AND m.organisation_id = $org GROUP BY 1",
            {"a": a, "b": b, "org": self.org})

    def sessions(self, a, b):
        rows = self.rows(
            """SELECT m.kind, count(*), COALESCE(sum(COALESCE(sa.c, 0)), 0) FROM meetings m
               LEFT JOIN (SELECT meeting_id, sum(count) AS c FROM meeting_attendees GROUP BY 1) sa ON sa.meeting_id = m.id
               WHERE m.status = 'held' AND m.starts_at >= $a AND m.starts_at < $b
                 AND (m.organisation_id = $org OR EXISTS (SELECT 1 FROM meeting_attendees ma JOIN users u ON u.id = ma.user_id
                                                          WHERE ma.meeting_id = m.id AND u.organisation_id = $org))
               GROUP BY 1""", {"a": a, "b": b, "org": self.org})
        return {k: int(n) for k, n, _ in rows}, {k: int(c) for k, _, c in rows}

    def trend(self, kind, bounds):
        table, at, scope = {
            "reports": ("reports x", "x.created_at", "(x.organisation_id = $org OR x.triage_organisation_id = $org)"),
            "encounters": ("encounters x", "x.at", "x.organisation_id = $org"),
            "referrals": ("referrals x", "x.created_at", "(x.organisation_id = $org OR x.partner_organisation_id = $org)"),
            "mediations": ("mediations x", "x.at", "x.organisation_id = $org"),
        }[kind]
        values = ", ".join(f"({i}, {lo}, {hi})" for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])))
        got = dict(self.rows(
            f"""SELECT m.i, count(*) FROM {table} JOIN (VALUES {values}) m(i, lo, hi) ON {at} >= m.lo AND {at} < m.hi
                WHERE {scope} GROUP BY 1""", {"org": self.org}))
        return [int(got.get(i, 0)) for i in range(len(bounds) - 1)]


def compute(con, org, kind, at, answer_secs):
    f = Figures(con, org, answer_secs)
    first, last = period(kind, at)
    pfirst, plast = previous(kind, first, last)
    slices = [(paris_micros(first), paris_micros(date.fromordinal(last.toordinal() + 1))),
              (paris_micros(pfirst), paris_micros(date.fromordinal(plast.toordinal() + 1)))]
    cells = {}
    tables = set()

    def put(table, both):
        tables.add(table)
        for which, counts in enumerate(both):
            for code, n in counts.items():
                cells.setdefault(f"{table}/{code}", [0, 0])[which] = int(n)

    def measure(code, both):
        tables.add(f"measure/{code}")
        cells[f"measure/{code}"] = list(both)

    level = "CAST(COALESCE(level_override, level) AS VARCHAR)"
    for table, expr in [("reports-source", "source"), ("reports-level", level), ("reports-channel", "channel"), ("reports-status", "status")]:
        put(table, [f.reports_by(a, b, expr) for a, b in slices])
    put("reports-situation", [f.situations(a, b) for a, b in slices])
    resp = [f.response(a, b) for a, b in slices]
    put("reports-answers", [r[0] for r in resp])
    measure("median_hours", [hours(r[1]) for r in resp])
    measure("p90_hours", [hours(r[2]) for r in resp])
    measure("within_deadline_percent", [share(r[0]["within_deadline"], r[0]["received"]) for r in resp])

    totals = [f.encounter_totals(a, b) for a, b in slices]
    years = [first.year, pfirst.year]
    people = [f.people(a, b, y) for (a, b), y in zip(slices, years)]
    for t, p in zip(totals, people):
        t["unique_people"] = sum(p[0].values())
    put("encounters-totals", totals)
    put("people-gender", [p[0] for p in people])
    put("people-age", [p[1] for p in people])
    put("people-novelty", [p[2] for p in people])

    put("distributions-item", [f.distributions(a, b) for a, b in slices])
    refs = [f.referrals(a, b) for a, b in slices]
    put("referrals-service", [r[0] for r in refs])
    put("referrals-need", [r[1] for r in refs])
    put("referrals-outcome", [r[2] for r in refs])
    cases = [f.cases(a, b) for a, b in slices]
    put("cases-opened", [c[0] for c in cases])
    put("cases-outcome", [c[1] for c in cases])
    shelter = [f.shelter(first, last), f.shelter(pfirst, plast)]
    put("shelter-nights", shelter)
    measure("occupancy_percent", [share(s["taken"], s["offered"]) for s in shelter])
    put("mediations-outcome", [f.mediations(a, b) for a, b in slices])
    sessions = [f.sessions(a, b) for a, b in slices]
    put("sessions-kind", [s[0] for s in sessions])
    put("attendance-kind", [s[1] for s in sessions])

    end = add_months(date(last.year, last.month, 1), 1)
    months = [add_months(end, -i) for i in range(12, -1, -1)]
    bounds = [paris_micros(m) for m in months]
    for kind_ in ["reports", "encounters", "referrals", "mediations"]:
        tables.add(f"trend-{kind_}")
        for m, n in zip(months, f.trend(kind_, bounds)):
            cells[f"trend-{kind_}/{m.year}-{m.month:02}"] = n
    return cells, sorted(tables)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="directory of the CSV export")
    ap.add_argument("--org", required=True, help="organisation id")
    ap.add_argument("--period", default="month", choices=["month", "quarter", "year"])
    ap.add_argument("--at", required=True, help="2026-11, 2026-T4 or 2026")
    ap.add_argument("--answer-secs", default="864000,432000", help="answer deadlines of levels 1 and 2, seconds (veille's defaults: 10 and 5 days)")
    ap.add_argument("--repeat", type=int, default=1, help="compute this many times (timing: the fastest counts)")
    ap.add_argument("--out", help="write the JSON here instead of stdout")
    args = ap.parse_args()
    answer = tuple(int(x) for x in args.answer_secs.split(","))
    con = duckdb.connect()
    t0 = time.perf_counter()
    load(con, args.dir)
    loaded = time.perf_counter() - t0
    runs = []
    for _ in range(max(1, args.repeat)):
        t1 = time.perf_counter()
        cells, tables = compute(con, args.org, args.period, args.at, answer)
        runs.append(time.perf_counter() - t1)
    doc = {"cells": cells, "tables": tables, "seconds": {"load": loaded, "queries": min(runs), "runs": runs},
           "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}
    text = json.dumps(doc, indent=1, sort_keys=True)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
