#!/usr/bin/python3
"""Compare fraudguard's models with XGBoost on a labelled creditcard.csv-style file.

    make build
    scripts/compare_xgboost.py --data datasets/creditcard-sample-train.csv   # under 2 minutes

Needs Debian's python3-xgboost and python3-sklearn; fraudguard itself does not. Both sides are
scored with scikit-learn's ROC-AUC and weighted average precision (normal rows weigh
--weight-normal), on three tests:

split    `fraudguard train` with default flags on the whole file, once per seed, against
         XGBoost on the same split: the rows sorted by Time, the latest 20% held out, their
         earlier half for early stopping (and, for fraudguard, the blend and the threshold),
         their later half only measured. Figures for the later half and for the whole 20%.
rolling  For each cut c in --cuts, the first c of the rows by Time play the training file and
         every later row is scored: fraudguard trains on the first rows with default flags (it
         holds out their latest 20% itself), XGBoost trains on the same rows with the same
         split. This is how a model is used: trained on the past, judged on what comes after.
folds    Three time-ordered folds: the first 60%, 80% and 100% of the rows, each holding out
         its last third, quarter and fifth (40-60%, 60-80%, 80-100% of the file), split in
         halves as above; figures for the later halves, which no choice has seen.

Prints the mean over seeds for each model and, for folds and rolling, each fold or cut and their mean.
With --xgb-grid, XGBoost runs with each of 16 settings (max_depth 2, 3, 4, 6; eta 0.05, 0.1;
subsample and colsample_bytree 1 or 0.8) instead of --xgb-params, one line each; the
differences are then taken from the best setting on the rolling test (a few minutes in all).
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import xgboost as xgb
from sklearn.metrics import average_precision_score, roc_auc_score

DEFAULT_XGB = {"max_depth": 2, "eta": 0.05, "subsample": 0.8, "colsample_bytree": 0.8}
GRID = [{"max_depth": d, "eta": e, "subsample": s, "colsample_bytree": s}
        for d in (2, 3, 4, 6) for e in (0.05, 0.1) for s in (1, 0.8)]


def time_split(t, fraction):
    """Row indices of fraudguard train's split of rows sorted by Time: train, tune, report."""
    n = len(t)
    k = n - math.ceil(fraction * n)
    while 0 < k < n and t[k - 1] == t[k]:
        k -= 1
    val = np.arange(k, n)
    h = len(val) // 2
    while 0 < h < len(val) and t[val[h - 1]] == t[val[h]]:
        h -= 1
    return np.arange(k), val[:h], val[h:]


def metrics(y, score, w):
    return roc_auc_score(y, score), average_precision_score(y, score, sample_weight=w)


def fraudguard(args, head_rows, tail_rows, seed, algo, tmp, fraction=None):
    """Trains fraudguard on head_rows of the file, returns its probabilities for tail_rows."""
    head, tail, out = (os.path.join(tmp, n) for n in ("head.csv", "tail.csv", "scored.csv"))
    models = os.path.join(tmp, "models")
    for path, rows in ((head, head_rows), (tail, tail_rows)):
        with open(path, "w", newline="") as f:
            f.write(args.header)
            f.writelines(args.lines[i] for i in rows)
    subprocess.run([args.bin, "train", "--data", head, "--weight-normal", str(args.weight_normal),
                    "--algo", algo, "--seed", str(seed), "--out", models, "--version", "cmp",
                    "--created-at", "2026-01-01T00:00:00Z",
                    "--validation-fraction", str(fraction or args.validation_fraction)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([args.bin, "score", "--file", tail, "--out", out, "--model-path", models,
                    "--model-version", "cmp"], check=True, stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-rf", models], check=True)
    with open(out, newline="") as f:
        return np.array([float(r["fraud_probability"]) for r in csv.DictReader(f)])


def xgboost(args, X, y, w, rows, score_rows, seed, xgb_params, fraction=None):
    """Trains XGBoost on rows (split as fraudguard splits them), returns margins for score_rows."""
    tr, tune, _ = time_split(X[rows, 0], fraction or args.validation_fraction)
    tr, tune = rows[tr], rows[tune]
    params = dict(objective="binary:logistic", tree_method="hist", seed=seed, nthread=os.cpu_count())
    params.update(xgb_params)
    dtrain = xgb.DMatrix(X[tr], label=y[tr], weight=w[tr])
    dtune = xgb.DMatrix(X[tune], label=y[tune], weight=w[tune])
    bst = xgb.train(params, dtrain, 5000, evals=[(dtune, "tune")], early_stopping_rounds=100, verbose_eval=False)
    return bst.predict(xgb.DMatrix(X[score_rows]), output_margin=True, iteration_range=(0, bst.best_iteration + 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="datasets/creditcard-sample-train.csv")
    ap.add_argument("--weight-normal", type=float, default=56.863)
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--cuts", default="0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.75,0.8,0.85")
    ap.add_argument("--tests", default="split,rolling,folds")
    ap.add_argument("--algos", default="ensemble,gbdt,logreg", help="fraudguard algorithms to run")
    ap.add_argument("--xgb-params", type=json.loads, default=DEFAULT_XGB, help="XGBoost parameters, JSON")
    ap.add_argument("--xgb-grid", action="store_true", help="run XGBoost with each of 16 settings")
    ap.add_argument("--validation-fraction", type=float, default=0.2)
    ap.add_argument("--bin", default="bin/fraudguard")
    args = ap.parse_args()

    with open(args.data, newline="") as f:
        args.header = f.readline()
        lines = [l if l.endswith("\n") else l + "\n" for l in f if l.strip()]
    cols = args.header.strip().split(",")
    data = np.array([[float(v) for v in l.strip().split(",")] for l in lines])
    order = np.argsort(data[:, cols.index("Time")], kind="stable")
    args.lines = [lines[i] for i in order]
    data = data[order]
    y = data[:, cols.index("Class")].astype(int)
    X = data[:, [cols.index(c) for c in ["Time"] + [f"V{i}" for i in range(1, 29)] + ["Amount"]]]
    w = np.where(y == 1, 1.0, args.weight_normal)
    seeds = [int(s) for s in args.seeds.split(",")]
    algos = args.algos.split(",") if args.algos else []
    settings = GRID if args.xgb_grid else [args.xgb_params]
    label = lambda p: "xgboost" if not args.xgb_grid else "xgb d{max_depth} e{eta} s{subsample}".format(**p)
    names = [(a, None) for a in algos] + [(label(p), p) for p in settings]
    print(f"{args.data}: {len(y)} rows, {y.sum()} frauds; XGBoost {xgb.__version__} {json.dumps(args.xgb_params)}")

    with tempfile.TemporaryDirectory() as tmp:
        if "split" in args.tests:
            tr, tune, report = time_split(X[:, 0], args.validation_fraction)
            val = np.concatenate([tune, report])
            print(f"\nsplit: training {len(tr)} rows ({y[tr].sum()} frauds), tuning {len(tune)} ({y[tune].sum()}), "
                  f"later half {len(report)} ({y[report].sum()}); mean of {len(seeds)} seeds, ROC-AUC / AUPRC")
            print(f"{'model':18s} {'later half':>17s} {'whole 20%':>17s}")
            for name, xp in names:
                res = []
                for s in seeds:
                    if xp is not None:
                        score = xgboost(args, X, y, w, np.arange(len(y)), val, s, xp)
                    else:
                        score = fraudguard(args, np.arange(len(y)), val, s, name, tmp)
                    later = score[len(tune):]
                    res.append(metrics(y[report], later, w[report]) + metrics(y[val], score, w[val]))
                m = np.mean(res, 0)
                print(f"{name:18s} {m[0]:8.4f} / {m[1]:.4f} {m[2]:8.4f} / {m[3]:.4f}", flush=True)

        if "folds" in args.tests:
            folds = [(0.6, 1 / 3), (0.8, 0.25), (1.0, 0.2)]
            print(f"\nfolds: validation later halves; mean of {len(seeds)} seeds, ROC-AUC / AUPRC")
            print(f"{'model':18s} " + " ".join(f"{f'{round(c * 100)}% of rows':>15s}" for c, _ in folds) + f" {'mean':>17s}")
            for name, xp in names:
                row = []
                for c, vf in folds:
                    k = int(round(c * len(y)))
                    while 0 < k < len(y) and X[k - 1, 0] == X[k, 0]:
                        k -= 1
                    head = np.arange(k)
                    _, tune, report = time_split(X[head, 0], vf)
                    res = []
                    for s in seeds:
                        if xp is not None:
                            score = xgboost(args, X, y, w, head, report, s, xp, vf)
                        else:
                            score = fraudguard(args, head, report, s, name, tmp, vf)
                        res.append(metrics(y[report], score, w[report]))
                    row.append(np.mean(res, 0))
                m = np.mean(row, 0)
                print(f"{name:18s} " + " ".join(f"{r[0]:.4f}/{r[1]:.4f}" for r in row) + f" {m[0]:8.4f} / {m[1]:.4f}", flush=True)

        if "rolling" in args.tests:
            cuts = [float(c) for c in args.cuts.split(",")]
            ks = []
            for c in cuts:
                k = int(c * len(y))
                while k > 0 and X[k - 1, 0] == X[k, 0]:
                    k -= 1
                ks.append(k)
            print(f"\nrolling: trained on the first rows, scored on every later row; mean of {len(seeds)} seeds, ROC-AUC / AUPRC")
            print(f"{'model':18s} " + " ".join(f"{c:>15.2f}" for c in cuts) + f" {'mean':>17s}")
            table = {}
            for name, xp in names:
                row = []
                for k in ks:
                    head, tail = np.arange(k), np.arange(k, len(y))
                    res = []
                    for s in seeds:
                        if xp is not None:
                            score = xgboost(args, X, y, w, head, tail, s, xp)
                        else:
                            score = fraudguard(args, head, tail, s, name, tmp)
                        res.append(metrics(y[tail], score, w[tail]))
                    row.append(np.mean(res, 0))
                table[name] = row
                m = np.mean(row, 0)
                print(f"{name:18s} " + " ".join(f"{r[0]:.4f}/{r[1]:.4f}" for r in row) + f" {m[0]:8.4f} / {m[1]:.4f}", flush=True)
            best = max((n for n, xp in names if xp is not None), key=lambda n: np.mean(table[n], 0).sum())
            for name in algos:
                d = np.array(table[name]) - np.array(table[best])
                print(f"{name} - {best}: ROC-AUC {d[:, 0].mean():+.4f} (ahead at {(d[:, 0] > 0).sum()} of {len(ks)} cuts), "
                      f"AUPRC {d[:, 1].mean():+.4f} (ahead at {(d[:, 1] > 0).sum()} of {len(ks)} cuts)")


if __name__ == "__main__":
    sys.exit(main())
