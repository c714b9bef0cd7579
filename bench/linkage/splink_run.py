"""Run splink 5 (DuckDB) on one benchmark data set and write its predicted
pairs (left_id,right_id,match_probability).

usage: splink_run.py febrl3|febrl4|synth OUTDIR PRED.csv [INPUT.csv]

The settings follow splink's own FEBRL examples: NameComparison on names,
DateOfBirthComparison, Damerau-Levenshtein on the social security id,
exact matches elsewhere; u by random sampling, m by EM on several blocking
rules, λ from deterministic rules.
"""
import sys
import unicodedata
from pathlib import Path

import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

kind, outdir, pred_path = sys.argv[1], Path(sys.argv[2]), sys.argv[3]


def febrl_settings(link_type):
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="rec_id",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.ExactMatch("postcode"),
            cl.JaroWinklerAtThresholds("suburb", [0.9]),
            cl.JaroWinklerAtThresholds("address_1", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def fold(s):
    if s is None or (isinstance(s, float) and s != s) or s is pd.NA:
        return None
    s = unicodedata.normalize("NFKD", str(s))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower().strip()
    return s or None


def run_febrl(link_type, frames):
    db = DuckDBAPI()
    sdfs = [db.register(f) for f in frames]
    linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], febrl_settings(link_type), log_level=30)
    linker.training.estimate_probability_two_random_records_match(
        [
            "l.soc_sec_id = r.soc_sec_id",
            block_on("given_name", "surname", "date_of_birth"),
        ],
        recall=0.8,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    return linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()


def run_synth(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for c in ["given_name", "family_name", "aliases", "gender", "birth_date"]:
        df[c] = df[c].map(fold)
    df["birth_year"] = pd.to_numeric(df["birth_year"].replace("", None), errors="coerce").astype("Int64")
    # An estimated age given on the day the record was typed: its birth year.
    if "age" in df.columns:
        age = pd.to_numeric(df["age"].replace("", None), errors="coerce")
        year = pd.to_numeric(df["recorded_on"].str[:4].replace("", None), errors="coerce")
        df["birth_year"] = df["birth_year"].fillna((year - age).round().astype("Int64"))
        df["phone"] = df["phone"].map(lambda s: "".join(c for c in s if c.isdigit()) or None)
        df = df.drop(columns=["age", "recorded_on"])
    df["aliases_arr"] = df["aliases"].map(lambda s: s.split("|") if s else None)
    # First alias as a plain column: an equi-join key for blocking (DuckDB
    # would run array_has_any as a cross join).
    df["alias1"] = df["aliases_arr"].map(lambda a: a[0] if a else None)
    df = df.drop(columns=["entity", "aliases"])
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="id",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("family_name"),
            cl.ArrayIntersectAtSizes("aliases_arr", [1]),
            cl.CustomComparison(
                output_column_name="birth_year",
                comparison_levels=[
                    cll.NullLevel("birth_year"),
                    cll.ExactMatchLevel("birth_year"),
                    cll.AbsoluteDifferenceLevel("birth_year", 1),
                    cll.AbsoluteDifferenceLevel("birth_year", 3),
                    cll.AbsoluteDifferenceLevel("birth_year", 6),
                    cll.ElseLevel(),
                ],
            ),
            cl.DamerauLevenshteinAtThresholds("birth_date", [1]),
            cl.ExactMatch("gender"),
        ] + ([cl.ExactMatch("phone")] if "phone" in df.columns else []),
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "family_name"),
            "l.given_name = r.family_name and l.family_name = r.given_name",
            block_on("family_name", "birth_year"),
            block_on("given_name", "birth_year"),
            block_on("alias1", "birth_year"),
            block_on("birth_date"),
        ] + ([block_on("phone")] if "phone" in df.columns else []),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    db = DuckDBAPI()
    linker = Linker(db.register(df), settings, log_level=30)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "birth_year")], recall=0.5
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    # EM training rules kept selective: at 100k+ records a rule such as
    # block_on("birth_year") materialises tens of millions of pairs.
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "family_name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    return linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()


if kind == "febrl3":
    d = pd.read_csv(outdir / "febrl3.csv", dtype=str)
    pred = run_febrl("dedupe_only", [d])
elif kind == "febrl4":
    a = pd.read_csv(outdir / "febrl4_a.csv", dtype=str)
    b = pd.read_csv(outdir / "febrl4_b.csv", dtype=str)
    pred = run_febrl("link_only", [a, b])
elif kind == "synth":
    pred = run_synth(sys.argv[4])
else:
    raise SystemExit(f"unknown data set {kind}")

idl = "rec_id_l" if "rec_id_l" in pred.columns else "id_l"
idr = "rec_id_r" if "rec_id_r" in pred.columns else "id_r"
pred = pred.rename(columns={idl: "left_id", idr: "right_id"})
pred[["left_id", "right_id", "match_probability"]].to_csv(pred_path, index=False)
print(f"splink {kind}: {len(pred)} pairs")
