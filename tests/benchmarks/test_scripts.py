"""Benchmark helper scripts on constructed inputs with known answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_paired_differences_average_tasks_per_seed_then_pair_seeds():
    mod = _script("paired_differences")
    rows = []
    # seed s: learner a scores 0.70 + 0.01 s on both tasks; b scores 0.72 on t1 and 0.68 + 0.02 s on t2
    for s in range(3):
        for task, b in (("t1", 0.72), ("t2", 0.68 + 0.02 * s)):
            rows.append({"dataset": "d", "shots": 10, "calibration": "none", "seed": s, "task": task,
                         "learner": "a", "roc_auc": 0.70 + 0.01 * s})
            rows.append({"dataset": "d", "shots": 10, "calibration": "none", "seed": s, "task": task,
                         "learner": "b", "roc_auc": b})
            rows.append({"dataset": "d", "shots": 10, "calibration": "posthoc", "seed": s, "task": task,
                         "learner": "a", "roc_auc": 0.0})  # calibrated rows are ignored
    r = mod.paired(pd.DataFrame(rows), "a", "b", "roc_auc", 10, "d")
    # per-seed differences (points): 0.70-0.70=0, 0.71-0.71=0, 0.72-0.72=0 -> all zero
    assert r == {"mean": pytest.approx(0.0), "std": pytest.approx(0.0), "ahead": 0, "n_seeds": 3}
    rows2 = [dict(x, roc_auc=x["roc_auc"] + 0.01) if x["learner"] == "a" else x for x in rows]
    r2 = mod.paired(pd.DataFrame(rows2), "a", "b", "roc_auc", 10, "d")
    assert r2["mean"] == pytest.approx(1.0) and r2["ahead"] == 3
    assert mod.paired(pd.DataFrame(rows), "a", "missing", "roc_auc", 10, "d") is None
