"""Pairwise precision / recall / F1 of predicted pairs against the truth.

usage: evaluate.py TRUTH PRED [--threshold 0.5]
TRUTH: CSV with columns id,entity (records of the same entity match) or
       left_id,right_id (explicit true pairs).
PRED:  CSV with columns left_id,right_id,match_probability.
Prints JSON.
"""
import csv
import json
import sys
from collections import defaultdict


def truth_pairs(path):
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        cols = r.fieldnames
        if "entity" in cols:
            groups = defaultdict(list)
            for row in r:
                groups[row["entity"]].append(row["id"])
            pairs = set()
            for ids in groups.values():
                ids.sort()
                for i in range(len(ids)):
                    for j in range(i + 1, len(ids)):
                        pairs.add((ids[i], ids[j]))
            return pairs
        return {tuple(sorted((row["left_id"], row["right_id"]))) for row in r}


def main():
    truth_path, pred_path = sys.argv[1], sys.argv[2]
    threshold = 0.5
    if "--threshold" in sys.argv:
        threshold = float(sys.argv[sys.argv.index("--threshold") + 1])
    truth = truth_pairs(truth_path)
    tp = fp = 0
    seen = set()
    with open(pred_path, newline="") as f:
        for row in csv.DictReader(f):
            if float(row["match_probability"]) < threshold:
                continue
            p = tuple(sorted((row["left_id"], row["right_id"])))
            if p in seen:
                continue
            seen.add(p)
            if p in truth:
                tp += 1
            else:
                fp += 1
    fn = len(truth) - tp
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    print(json.dumps({"tp": tp, "fp": fp, "fn": fn, "precision": prec, "recall": rec, "f1": f1}))


if __name__ == "__main__":
    main()
