"""Benchmark helper scripts on constructed inputs with known answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
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


def _rec(**kw):
    base = {"dataset": "sider", "learner": "maml", "shots": 10, "metric": "roc_auc", "std": 0.01,
            "n_seeds": 10, "command": "python x.py", "date": "2026-11-30"}
    return {**base, **kw}


def test_split_shift_table_puts_each_split_in_its_column():
    mod = _script("split_shift")
    recs = [_rec(split="val", mean=0.9, tasks=["a"]), _rec(split="test", mean=0.5, tasks=["b", "c"]),
            _rec(learner="rf", split="test", mean=0.75, tasks=["b", "c"], command="python y.py", date="2026-11-29")]
    md = mod.markdown(recs, {"machine": "vm", "seeds": list(range(10))})
    assert "| sider | maml | 10 | 0.9000 ± 0.0100 | 0.5000 ± 0.0100 |" in md
    assert "| sider | rf | 10 |  | 0.7500 ± 0.0100 |" in md  # no validation run: empty cell, not a shifted column
    assert "- 2026-11-29: `python y.py`" in md and "- 2026-11-30: `python x.py`" in md
    assert "sider test: b, c" in md and "sider val: a" in md


def test_inner_steps_table_keeps_earlier_rows_and_step_columns():
    mod = _script("inner_steps_ablation")
    recs = [_rec(inner_steps=0, mean=0.8), _rec(inner_steps=5, mean=0.81),
            _rec(dataset="tox21", learner="bmaml", inner_steps=20, mean=0.7, date="2026-11-23", command="python old.py")]
    md = mod.markdown(recs, {"machine": "vm", "seeds": list(range(10))})
    assert "| dataset | learner | shots | 0 steps | 5 steps | 20 steps |" in md
    assert "| sider | maml | 10 | 0.8000 ± 0.0100 | 0.8100 ± 0.0100 |  |" in md
    assert "| tox21 | bmaml | 10 |  |  | 0.7000 ± 0.0100 |" in md
    assert md.index("| tox21 |") < md.index("| sider |")  # datasets in benchmark order
    assert "- 2026-11-23: `python old.py`" in md


def test_constant_gap_bound_is_the_mean_absolute_deviation_from_the_median():
    mod = _script("base_rate_bound")
    bound, c = mod.constant_gap_bound(np.array([0.1, 0.2, 0.9]))
    assert c == pytest.approx(0.2) and bound == pytest.approx((0.1 + 0.0 + 0.7) / 3)
    # no other constant does better
    grid = np.linspace(0, 1, 201)
    assert bound <= min(np.mean(np.abs(x - np.array([0.1, 0.2, 0.9]))) for x in grid) + 1e-12


def test_hit_rate_table_has_a_column_per_variant_and_rows_in_benchmark_order():
    mod = _script("hit_rate_sensitivity")
    recs = [_rec(dataset=ds, learner="bmaml", calibration=c, metric=m, mean=v)
            for ds in ("sider", "tox21") for m in mod.METRICS
            for c, v in (("none", 0.2), ("posthoc", 0.1), ("posthoc+rate", 0.05), ("posthoc+rate*2", 0.07))]
    md = mod.markdown(recs, {"machine": "vm", "date": "2026-11-30", "seeds": list(range(10))}, [1.0, 2.0])
    assert "| dataset | learner | raw | Platt | Platt + true hit rate | Platt + hit-rate odds ×2 |" in md
    assert "| tox21 | bmaml | 0.200 ± 0.010 | 0.100 ± 0.010 | 0.050 ± 0.010 | 0.070 ± 0.010 |" in md
    assert md.index("| tox21 |") < md.index("| sider |")  # datasets in benchmark order
    assert md.count("## ") == 3 and "- 2026-11-30: `python x.py`" in md


def test_base_rate_bound_table():
    mod = _script("base_rate_bound")
    rec = {"dataset": "sider", "n_test_tasks": 6, "test_rate_min": 0.1, "test_rate_median": 0.5, "test_rate_max": 0.9,
           "oracle_constant": 0.5, "ece_bound_oracle_constant": 0.25, "train_val_median_rate": 0.6,
           "gap_at_train_val_median": 0.3}
    md = mod.markdown([rec], {"command": "python b.py", "date": "2026-11-30", "machine": "vm"})
    assert "| sider | 6 | 0.100 / 0.500 / 0.900 | 0.250 | 0.300 |" in md
    assert md.startswith("# A floor under ECE") and "Command: `python b.py`; 2026-11-30; vm" in md
