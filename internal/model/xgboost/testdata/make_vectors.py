#!/usr/bin/python3
"""Makes the XGBoost test vectors in this directory with Debian's python3-xgboost (1.7).

    bin/fraudguard gen --rows 20000 --seed 11 --out /tmp/synthetic.csv
    internal/model/xgboost/testdata/make_vectors.py /tmp/synthetic.csv internal/model/xgboost/testdata

The data are synthetic transactions (fraudguard gen), with 5% of the feature values blanked to
NaN. For each model NAME it writes NAME.json and NAME.ubj (Booster.save_model) and
NAME.vectors.json: the feature names, 200 rows (null = NaN), XGBoost's margins
(output_margin=True) with every tree, and for an early-stopped model also with the trees up to
best_iteration.
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb

src, out = sys.argv[1], sys.argv[2]
data = np.loadtxt(src, delimiter=",", skiprows=1)
names = ["Time"] + [f"V{i}" for i in range(1, 29)] + ["Amount"]
X, y = data[:, :30].copy(), data[:, 30]
rng = np.random.default_rng(11)
X[rng.random(X.shape) < 0.05] = np.nan
train, test = slice(0, 15000), slice(15000, None)
rows = X[test][:200]

models = {
    "dart-depth4": dict(
        params=dict(booster="dart", objective="binary:logistic", max_depth=4, eta=0.3, rate_drop=0.2,
                    skip_drop=0.3, seed=1, tree_method="hist"),
        rounds=40),
    "gbtree-early-stopped": dict(
        params=dict(objective="binary:logistic", max_depth=5, eta=0.8, seed=1, tree_method="hist"),
        rounds=200, early_stopping_rounds=10),
}
for name, spec in models.items():
    dtrain = xgb.DMatrix(X[train], label=y[train], feature_names=names)
    dtest = xgb.DMatrix(X[test], label=y[test], feature_names=names)
    kw = {}
    if "early_stopping_rounds" in spec:
        kw = dict(evals=[(dtest, "test")], early_stopping_rounds=spec["early_stopping_rounds"], verbose_eval=False)
    bst = xgb.train(spec["params"], dtrain, spec["rounds"], **kw)
    for ext in ("json", "ubj"):
        bst.save_model(os.path.join(out, f"{name}.{ext}"))
    drows = xgb.DMatrix(rows, feature_names=names)
    vec = {
        "xgboost": xgb.__version__,
        "features": names,
        "rows": [[None if np.isnan(v) else float(v) for v in r] for r in rows],
        "margin": bst.predict(drows, output_margin=True, iteration_range=(0, bst.num_boosted_rounds())).tolist(),
    }
    if "early_stopping_rounds" in spec:
        vec["best_iteration"] = bst.best_iteration
        vec["margin_best"] = bst.predict(drows, output_margin=True, iteration_range=(0, bst.best_iteration + 1)).tolist()
    with open(os.path.join(out, f"{name}.vectors.json"), "w") as f:
        json.dump(vec, f)
    print(name, bst.num_boosted_rounds(), "rounds", vec.get("best_iteration", ""))
