#!/usr/bin/python3
"""Writes total_gain.json: XGBoost's own total gain per feature for the parity models.

    internal/model/xgboost/testdata/make_gain.py testdata/parity/xgboost internal/model/xgboost/testdata

For each model NAME.json of the parity directory (XGBoost 1.7.4 boosters saved by save_model;
see testdata/parity/README.md), Booster.get_score(importance_type="total_gain"): the sum of the
loss_changes of the splits on each feature, over every tree. Features no split uses are left
out, as get_score leaves them out. Made with Debian's python3-xgboost (1.7.4).
"""
import glob
import json
import os
import sys

import xgboost as xgb

src, out = sys.argv[1], sys.argv[2]
result = {"xgboost_version": xgb.__version__, "importance_type": "total_gain", "models": {}}
for path in sorted(glob.glob(os.path.join(src, "*.json"))):
    if path.endswith(".vectors.json"):
        continue
    booster = xgb.Booster()
    booster.load_model(path)
    name = os.path.basename(path)[: -len(".json")]
    result["models"][name] = booster.get_score(importance_type="total_gain")
with open(os.path.join(out, "total_gain.json"), "w") as f:
    json.dump(result, f, indent=1, sort_keys=True)
    f.write("\n")
