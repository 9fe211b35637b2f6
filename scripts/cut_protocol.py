#!/usr/bin/python3
"""Train on the past, score what comes after: `fraudguard train` against XGBoost at several time cuts.

    make build
    scripts/cut_protocol.py                          # default flags against XGBoost, both parts
    scripts/cut_protocol.py --part dev --variant 'no refit=--no-refit' --variant 'depth 3=--max-depth 3'
    scripts/cut_protocol.py --part report --bootstrap 1000  # and how much of a difference the few frauds can make

The rows of --data are sorted by Time. For each cut c (a share of the rows), `fraudguard train`
runs with default flags (plus a variant's flags) on the rows before c, exactly as a user would
train on a file, and the bundle scores the later rows with `fraudguard score`. XGBoost 1.7
(300 trees, depth 4, eta 0.05, subsample and colsample_bytree 0.8, binary:logistic, unweighted)
trains on the same rows. Both are measured with scikit-learn: ROC-AUC, and AUPRC (average
precision) with normal rows weighted --weight-normal, the real prevalence.

There are two parts, so that no figure reported was looked at while choosing:

dev     cuts 0.50, 0.55, 0.60, 0.65, 0.70; each scores the rows from the cut up to 0.80 of the
        file. Defaults are chosen here.
report  cuts 0.80, 0.85, 0.90; each scores every row from the cut to the end. These rows were
        never scored by a dev cut: this part is the estimate.

A model's figure for one seed is the mean over the part's cuts; the table gives the mean and the
standard deviation of that over --seeds, and the per-cut means. For each variant after the
first, the difference from the first is given per seed, mean ± standard deviation, so that a
gain can be told from noise. With --bootstrap N, each difference also gets an interval over N
resamples of the scored rows, which shows the noise of the few frauds that the seeds do not. Needs
Debian's python3-xgboost and python3-sklearn.
"""
import argparse
import csv
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np
import xgboost as xgb
from sklearn.metrics import average_precision_score, roc_auc_score

PARTS = {
    "dev": ([0.50, 0.55, 0.60, 0.65, 0.70], 0.80),
    "report": ([0.80, 0.85, 0.90], 1.0),
}
XGB_PARAMS = {"max_depth": 4, "eta": 0.05, "subsample": 0.8, "colsample_bytree": 0.8,
              "objective": "binary:logistic", "tree_method": "hist"}
XGB_ROUNDS = 300


def row_index(t, share):
    """The first row index at or after share of the rows, moved back so equal times stay together."""
    k = int(round(share * len(t)))
    while 0 < k < len(t) and t[k - 1] == t[k]:
        k -= 1
    return k


def fraudguard(args, lines, head, tail, seed, flags, tmp, synthetic=0):
    """Trains fraudguard on rows head with flags, returns its probabilities for rows tail.

    With synthetic > 0 it trains as `make model` does instead: the generator is fitted on rows
    head, writes that many synthetic rows, and the model trains on those."""
    train, score, out = (os.path.join(tmp, n) for n in ("train.csv", "score.csv", "scored.csv"))
    models = os.path.join(tmp, "models")
    for path, rows in ((train, head), (score, tail)):
        with open(path, "w", newline="") as f:
            f.write(args.header)
            f.writelines(lines[i] for i in rows)
    if synthetic:
        params, gen = os.path.join(tmp, "params.json"), os.path.join(tmp, "synthetic.csv")
        subprocess.run([args.bin, "gen", "--fit", train, "--params-out", params], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([args.bin, "gen", "--params", params, "--rows", str(synthetic), "--seed", str(seed),
                        "--out", gen], check=True, stdout=subprocess.DEVNULL)
        train = gen
    subprocess.run([args.bin, "train", "--data", train, "--seed", str(seed), "--out", models,
                    "--version", "cut", "--created-at", "2026-01-01T00:00:00Z"] + flags,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([args.bin, "score", "--file", score, "--out", out, "--model-path", models,
                    "--model-version", "cut"], check=True, stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-rf", models], check=True)
    with open(out, newline="") as f:
        return np.array([float(r["fraud_probability"]) for r in csv.DictReader(f)])


def xgboost(X, y, head, tail, seed):
    params = dict(XGB_PARAMS, seed=seed, nthread=os.cpu_count())
    bst = xgb.train(params, xgb.DMatrix(X[head], label=y[head]), XGB_ROUNDS)
    return bst.predict(xgb.DMatrix(X[tail]), output_margin=True)


def bootstrap(base, other, windows, y, w, n):
    """The 2.5% and 97.5% points of the difference other - base over n resamples of the scored rows,
    and the share of resamples where it is positive, for ROC-AUC and AUPRC.

    base and other hold each seed's scores of each cut's rows. A resample draws, in each cut, as many
    frauds and as many normal rows as the cut has, with replacement; both models and every seed are
    measured on the same rows, and the difference is that of the means over seeds and cuts, as in
    the table."""
    rng = np.random.default_rng(0)
    diffs = np.zeros((n, 2))
    for r in range(n):
        for b, (_, tail) in enumerate(windows):
            yt = y[tail]
            pos, neg = np.flatnonzero(yt == 1), np.flatnonzero(yt == 0)
            idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
            for sign, runs in ((-1, base), (1, other)):
                for seed_scores in runs:
                    sc = seed_scores[b][idx]
                    diffs[r, 0] += sign * roc_auc_score(yt[idx], sc)
                    diffs[r, 1] += sign * average_precision_score(yt[idx], sc, sample_weight=w[tail][idx])
        diffs[r] /= len(windows) * len(base)
    return np.percentile(diffs, 2.5, axis=0), np.percentile(diffs, 97.5, axis=0), (diffs > 0).mean(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="datasets/creditcard-sample-train.csv")
    ap.add_argument("--weight-normal", type=float, default=56.863,
                    help="weight of a normal row in the AUPRC (56.863 for creditcard-sample-train.csv)")
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--part", choices=["dev", "report", "both"], default="both")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=FLAGS",
                    help="a fraudguard run with these train flags added (repeatable); default: 'fraudguard=' (default flags)")
    ap.add_argument("--no-xgboost", action="store_true", help="leave XGBoost out")
    ap.add_argument("--synthetic", type=int, default=0, metavar="ROWS",
                    help="add the recipe of the shipped model: the generator fitted on the rows before the cut, "
                         "ROWS synthetic rows, train with default flags on them")
    ap.add_argument("--bootstrap", type=int, default=0, metavar="N",
                    help="also give each difference from the first model a 95%% interval over N resamples of the "
                         "scored rows (frauds and normal rows resampled apart, in each cut): the noise of the few frauds")
    ap.add_argument("--bin", default="bin/fraudguard")
    args = ap.parse_args()

    with open(args.data, newline="") as f:
        args.header = f.readline()
        lines = [l if l.endswith("\n") else l + "\n" for l in f if l.strip()]
    cols = args.header.strip().split(",")
    data = np.array([[float(v) for v in l.strip().split(",")] for l in lines])
    order = np.argsort(data[:, cols.index("Time")], kind="stable")
    lines = [lines[i] for i in order]
    data = data[order]
    y = data[:, cols.index("Class")].astype(int)
    X = data[:, [cols.index(c) for c in ["Time"] + [f"V{i}" for i in range(1, 29)] + ["Amount"]]]
    w = np.where(y == 1, 1.0, args.weight_normal)
    t = X[:, 0]
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = []
    for v in args.variant or ["fraudguard="]:
        name, _, flags = v.partition("=")
        variants.append((name, shlex.split(flags)))
    models = [(n, f, 0) for n, f in variants] + ([] if args.no_xgboost else [("xgboost", None, 0)])
    if args.synthetic:
        models.append((f"synthetic {args.synthetic} rows", [], args.synthetic))
    parts = ["dev", "report"] if args.part == "both" else [args.part]
    print(f"{args.data}: {len(y)} rows, {y.sum()} frauds; XGBoost {xgb.__version__}; seeds {args.seeds}")

    with tempfile.TemporaryDirectory() as tmp:
        for part in parts:
            cuts, end = PARTS[part]
            k_end = row_index(t, end)
            windows = []
            for c in cuts:
                k = row_index(t, c)
                windows.append((np.arange(k), np.arange(k, k_end)))
            print(f"\n{part}: cuts " + ", ".join(f"{c:.2f}" for c in cuts) + f", scored up to {end:.2f}; " +
                  "; ".join(f"{len(tl)} rows / {y[tl].sum()} frauds" for _, tl in windows))
            print(f"{'model':24s} {'ROC-AUC mean ± sd':>20s} {'AUPRC mean ± sd':>20s}   per cut (mean over seeds)")
            per_seed, scores = {}, {}
            for name, flags, synthetic in models:
                res = np.zeros((len(seeds), len(windows), 2))
                scores[name] = [[None] * len(windows) for _ in seeds]
                for a, s in enumerate(seeds):
                    for b, (head, tail) in enumerate(windows):
                        if flags is None:
                            score = xgboost(X, y, head, tail, s)
                        else:
                            score = fraudguard(args, lines, head, tail, s, flags, tmp, synthetic)
                        scores[name][a][b] = score
                        res[a, b] = (roc_auc_score(y[tail], score),
                                     average_precision_score(y[tail], score, sample_weight=w[tail]))
                seed_means = res.mean(1)
                per_seed[name] = seed_means
                m, sd = seed_means.mean(0), seed_means.std(0, ddof=1) if len(seeds) > 1 else np.zeros(2)
                cut_means = res.mean(0)
                print(f"{name:24s} {m[0]:10.4f} ± {sd[0]:.4f} {m[1]:10.4f} ± {sd[1]:.4f}   " +
                      " ".join(f"{r[0]:.4f}/{r[1]:.4f}" for r in cut_means), flush=True)
            base = models[0][0]
            for name, _, _ in models[1:]:
                d = per_seed[name] - per_seed[base]
                sd = d.std(0, ddof=1) if len(seeds) > 1 else np.zeros(2)
                print(f"  {name} - {base}: ROC-AUC {d[:, 0].mean():+.4f} ± {sd[0]:.4f}, "
                      f"AUPRC {d[:, 1].mean():+.4f} ± {sd[1]:.4f} (ahead on {(d[:, 1] > 0).sum()} of {len(seeds)} seeds)")
                if args.bootstrap:
                    lo, hi, ahead = bootstrap(scores[base], scores[name], windows, y, w, args.bootstrap)
                    print(f"    over {args.bootstrap} resamples of the scored rows: ROC-AUC [{lo[0]:+.4f}, {hi[0]:+.4f}] "
                          f"(ahead in {ahead[0]:.0%}), AUPRC [{lo[1]:+.4f}, {hi[1]:+.4f}] (ahead in {ahead[1]:.0%})")


if __name__ == "__main__":
    sys.exit(main())
