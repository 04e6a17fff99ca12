"""Result-file helpers of pipelines.evaluate: rows a run does not redo are kept with their own provenance;
seed statistics, analysis files and options, the episode metrics."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.evaluate import (
    ALL_METRICS,
    EPISODE_METRICS,
    analysis_arguments,
    keep_not_redone,
    script_command,
    seed_statistics,
    utc_date,
    write_analysis,
)
from sciml.learners.base import Prediction
from sciml.metrics import brier, ece, interval_coverage, r2, roc_auc


def test_rows_not_redone_are_kept_with_their_own_command_and_date(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"date": "2026-11-24", "records": [
        {"dataset": "tox21", "learner": "maml", "mean": 0.8, "date": "2026-11-23", "command": "python a.py"},
        {"dataset": "sider", "learner": "maml", "mean": 0.7, "date": "2026-11-23", "command": "python a.py"},
        {"dataset": "sider", "learner": "bmaml", "mean": 0.6, "date": "2026-11-24", "command": "python b.py"}]}))
    new = [{"dataset": "sider", "learner": "maml", "mean": 0.79, "command": "python new.py", "date": "2026-11-30"}]
    out = keep_not_redone(path, new)
    assert [(r["dataset"], r["learner"]) for r in out] == [("tox21", "maml"), ("sider", "bmaml"), ("sider", "maml")]
    assert out[0] == {"dataset": "tox21", "learner": "maml", "mean": 0.8, "date": "2026-11-23", "command": "python a.py"}
    assert out[1]["date"] == "2026-11-24" and out[1]["command"] == "python b.py"
    assert out[2] == new[0]


def test_no_file_means_just_the_new_records(tmp_path):
    new = [{"dataset": "muv", "learner": "rf"}]
    assert keep_not_redone(tmp_path / "missing.json", new) == new


def test_script_command_is_the_quoted_python_command_line():
    assert script_command(["benchmarks/x.py", "--pairs", "bmaml:maml", "--note", "a b"]) == \
        "python benchmarks/x.py --pairs bmaml:maml --note 'a b'"


# ------------------------------------------------------------- the other result-file helpers of pipelines.evaluate


def test_seed_statistics_average_tasks_per_seed_then_seeds():
    # seed 0: tasks 0.6, 0.8 -> 0.7; seed 1: 0.9 and a NaN task -> 0.9; seed 2: only NaN -> left out
    df = pd.DataFrame({"seed": [0, 0, 1, 1, 2], "m": [0.6, 0.8, 0.9, float("nan"), float("nan")]})
    s1 = seed_statistics(df, "m")
    assert s1["mean"] == pytest.approx(0.8) and s1["n_seeds"] == 2
    assert s1["std"] == pytest.approx(math.sqrt(0.02))  # ddof=1: ((0.1)^2 + (0.1)^2) / 1
    s0 = seed_statistics(df, "m", ddof=0, scale=100.0)
    assert s0["mean"] == pytest.approx(80.0) and s0["std"] == pytest.approx(10.0)
    one = seed_statistics(df[df["seed"] == 0], "m")
    assert one == {"mean": pytest.approx(0.7), "std": 0.0, "n_seeds": 1}
    assert math.isnan(seed_statistics(df[df["seed"] == 2], "m")["mean"])


def test_write_analysis_writes_json_and_markdown(tmp_path):
    out = tmp_path / "sub" / "x"
    write_analysis(out, {"date": "2026-12-01"}, [{"a": 1}], "# x\n")
    assert json.loads(out.with_suffix(".json").read_text()) == {"date": "2026-12-01", "records": [{"a": 1}]}
    assert out.with_suffix(".md").read_text() == "# x\n"
    write_analysis(out, {}, [{"b": 2}], "", key="rows")
    assert json.loads(out.with_suffix(".json").read_text()) == {"rows": [{"b": 2}]}


def test_analysis_arguments_and_utc_date():
    ap = argparse.ArgumentParser()
    analysis_arguments(ap, datasets="tox21", learners="maml,bmaml", out="benchmarks/results/x")
    args = ap.parse_args([])
    assert (args.datasets, args.learners, args.seeds, args.checkpoint, args.out) == \
        ("tox21", "maml,bmaml", 10, "runs/{learner}-{dataset}", Path("benchmarks/results/x"))
    assert ap.parse_args(["--seeds", "3"]).seeds == 3
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", utc_date())


def test_episode_metrics_come_from_the_metric_registries():
    assert ALL_METRICS == ("roc_auc", "delta_auprc", "ece", "brier", "r2", "rmse", "spearman", "nll",
                           "coverage90", "width90", "std_error_rho")
    y = np.array([0.0, 1.0, 1.0, 0.0])
    p = np.array([0.2, 0.7, 0.4, 0.1])
    c = EPISODE_METRICS["classification"](y, Prediction(p, np.zeros(4)))
    assert list(c) == ["roc_auc", "delta_auprc", "ece", "brier", "rate_gap", "std_error_rho"]
    assert np.isnan(c["std_error_rho"])  # no per-molecule spread
    assert c["roc_auc"] == roc_auc(y, p) and c["ece"] == ece(y, p, n_bins=15) and c["brier"] == brier(y, p)
    assert c["rate_gap"] == pytest.approx(abs(p.mean() - 0.5))
    yr, m = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0])
    lo, hi = np.array([0.0, 1.9, 3.5]), np.array([2.0, 2.5, 3.6])  # an asymmetric interval is used as given
    r = EPISODE_METRICS["regression"](yr, Prediction(m, np.array([1.0, 0.0, 1.0]), lower=lo, upper=hi))
    assert list(r) == ["r2", "rmse", "spearman", "nll", "coverage90", "width90", "std_error_rho"]
    assert r["r2"] == r2(yr, m) and r["coverage90"] == interval_coverage(yr, lo, hi) == pytest.approx(2 / 3)
    assert r["width90"] == pytest.approx(np.mean(hi - lo))
    assert np.isfinite(r["nll"])  # the zero std is floored
