#!/usr/bin/env python3
"""Writes the "## Activity report" section of docs/benchmarks.md from the raw
results of bench/figures/run.sh (bench/out/figures/)."""
import json
import os
import re
import sys

out, engines, scale, seed, repeat, at, started, load_start, load_end, nproc, profile, rounds = sys.argv[1:13]
rounds = int(rounds)


def merged(engine):
    """Both sides' results over the rounds (DuckDB then veille, taking turns):
    each side's fastest and median over all its runs, the ratio of each
    round's fastest, each group's fastest; figures and pages of the last round."""
    ducks = [json.load(open(os.path.join(out, f"duckdb-{engine}-{r}.json"))) for r in range(1, rounds + 1)]
    ours = [json.load(open(os.path.join(out, f"veille-{engine}-{r}.json"))) for r in range(1, rounds + 1)]
    duck_runs = [t for d in ducks for t in d["seconds"]["runs"]]
    our_runs = [t for o in ours for t in o["seconds"]["runs"]]
    last = dict(ours[-1])
    last["seconds"] = {"best": min(our_runs), "median": sorted(our_runs)[len(our_runs) // 2]}
    last["groups"] = {k: min(o["groups"][k] for o in ours) for k in ours[-1]["groups"]}
    last["differences"] = max(o["differences"] or 0 for o in ours)
    last["round_ratios"] = [o["seconds"]["best"] / d["seconds"]["queries"] for o, d in zip(ours, ducks)]
    duck = dict(ducks[-1])
    duck["seconds"] = {"queries": min(duck_runs), "median": sorted(duck_runs)[len(duck_runs) // 2],
                       "load": min(d["seconds"]["load"] for d in ducks)}
    return duck, last


rows = []
details = []
page_rows = []
for engine in engines.split(","):
    gen = open(os.path.join(out, f"generate-{engine}.txt")).read()
    total = re.search(r"total\s+(\d+) rows in ([\d.]+) s \((\d+) rows/s\)", gen)
    exported = re.search(r"exported (\d+) rows of \d+ tables to .* in ([\d.]+) s", gen)
    duck, ours = merged(engine)
    v, d, load = ours["seconds"]["best"], duck["seconds"]["queries"], duck["seconds"]["load"]
    diff = ours["differences"]
    each = ", ".join(f"{r:.2f}" for r in ours["round_ratios"])
    rows.append(
        f"| {engine} | {int(total.group(1)):,} | {float(total.group(2)):.0f} | {int(total.group(3)):,} | "
        f"{v * 1000:.0f} | {ours['seconds']['median'] * 1000:.0f} | {d * 1000:.0f} | {duck['seconds']['median'] * 1000:.0f} | "
        f"{load:.1f} | {v / d:.2f} | {each} | {'met' if v <= d else '**missed**'} | {ours['figures']} | {diff} |")
    groups = ", ".join(f"{k} {s * 1000:.0f} ms" for k, s in sorted(ours["groups"].items(), key=lambda kv: -kv[1]))
    details.append(f"- {engine}: each group alone (API, suppressed): {groups}; export of {int(exported.group(1)):,} rows to CSV in "
                   f"{float(exported.group(2)):.1f} s.")
    if ours.get("not_compared"):
        details.append(f"- {engine}: not compared (tables DuckDB's script does not compute yet): " + ", ".join(ours["not_compared"]) + ".")
    for path, t in (ours.get("pages") or {}).items():
        first = f"{t['first']:.0f}" if "first" in t else "–"
        page_rows.append(f"| {engine} | `{path}` | {first} | {t['n']} | {t['p50']:.0f} | {t['p95']:.0f} | {t['max']:.0f} | "
                         f"{'met' if t['p95'] <= 200 else '**missed**'} |")
    if diff:
        details.append(f"- {engine}: **figures differ**: " + "; ".join(ours["first_differences"]))

body = f"""## Activity report

Issue 16: the standard activity report of the generated instance's main organisation for the last month ended
({at}) — every group of the dashboard with the month before and twelve months of trends — computed by veille
against the same aggregates computed by DuckDB on a CSV export of the same database, side by side in one run, on
SQLite and PostgreSQL ({profile} build{" — not the release build the issue asks for: times are pessimistic for veille" if profile != "release" else ""}; DuckDB {json.load(open(os.path.join(out, f"duckdb-{engines.split(',')[0]}-1.json"))).get("threads", "?")} threads, in process,
Python). veille's time is the dashboard for the outside audience (suppression included) and the report document
built from it (PDF drawing left out), {repeat} runs after a warm-up; DuckDB's is {repeat} computations of the same
aggregates (decision 83's definitions, written again in `bench/figures/duckdb_figures.py`) once the CSV files are
loaded, the load given apart. The two take turns {rounds} times (DuckDB, then veille, then DuckDB again…), so that a
change of the machine's speed during the run falls on both sides alike: each side's time is its fastest over all
rounds, and the ratio of each round's fastest is given too.

Run: {started} — `nproc` = {nproc}; scale {int(scale):,} encounters (seed {seed}). Load average (1/5/15 min) at the
start: {load_start}; at the end: {load_end} (on a 2-core machine, anything above 2 means other processes were
competing for the cores).

Repeat with: `bash bench/figures/run.sh` (`SCALE=200000` for a smaller run; raw results in `bench/out/figures/`).

| engine | rows generated | seconds | rows/s | veille best (ms) | veille median (ms) | DuckDB best (ms) | DuckDB median (ms) | DuckDB CSV load (s) | veille / DuckDB | each round | target ≤ DuckDB | figures compared | differing |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|
""" + "\n".join(rows) + "\n\n" + "\n".join(details) + "\n"
if page_rows:
    body += """
### Dashboards and list pages at that size (through HTTP)

The real application served on a loopback port by the benchmark process, each page asked by the organisation's
coordinator (a session cookie), in the last round, one request at a time after a first one timed apart; latency
from the request's send to the last byte of the page. The first request of `/figures` computes the month's
dashboard; the instance keeps it and shows it again while nothing it counts changes (decision 103): the requests
after it are the month's figures asked again, the first is what it costs once a change was made.

| engine | page | first request (ms) | requests | p50 (ms) | p95 (ms) | slowest (ms) | target (p95 ≤ 200 ms) |
|---|---|---:|---:|---:|---:|---:|---|
""" + "\n".join(page_rows) + "\n"


def written_by_hand(section):
    """The notes written by hand after the generated part of the section
    (the run's reading, the earlier runs): what follows its last table — the
    pages' when there is one, else the figures' and the lines under it."""
    pages = section.find("### Dashboards and list pages at that size")
    rest = section[max(pages, 0):]
    table = re.search(r"(?:^\|[^\n]*\n)+", rest, re.M)
    if not table:
        return ""
    after = rest[table.end():]
    if pages < 0:
        after = re.sub(r"\A\n*(?:- [^\n]*\n)+", "", after)
    return after.strip("\n")


def with_section(text, body):
    """The document with the section written anew, its notes kept."""
    found = re.search(r"^## Activity report\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    if not found:
        return text.rstrip("\n") + "\n\n" + body
    kept = written_by_hand(found.group(0))
    section = body + ("\n" + kept + "\n" if kept else "") + ("\n" if text[found.end():] else "")
    return text[:found.start()] + section + text[found.end():]


path = "docs/benchmarks.md"
open(path, "w").write(with_section(open(path).read(), body))
