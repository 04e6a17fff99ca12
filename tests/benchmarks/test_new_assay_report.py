"""The new-assay report: tables per kind and support, and learner − best support-only baseline, paired."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.new_assay_report import markdown, versus_baseline
from pipelines.evaluate import summarize


def _rows():
    rows = []
    for seed in range(3):
        for task in ("t1", "t2"):
            base = {"dataset": "tox21", "shots": 16, "seed": seed, "task": task, "calibration": "none",
                    "sampling": "balanced", "n_query": 10}
            rows += [{**base, "learner": "rf", "adaptation": "support", "roc_auc": 0.60, "ece": 0.2},
                     {**base, "learner": "knn", "adaptation": "support", "roc_auc": 0.55 + 0.01 * seed, "ece": 0.3},
                     {**base, "learner": "maml", "adaptation": "support", "roc_auc": 0.70 + 0.01 * seed, "ece": 0.1},
                     {**base, "learner": "maml", "adaptation": "none", "roc_auc": 0.68, "ece": 0.1},
                     {**base, "learner": "maml", "calibration": "rate", "adaptation": "support", "roc_auc": 0.7,
                      "ece": 0.05},
                     {**base, "learner": "multitask_ridge", "adaptation": "none", "roc_auc": 0.65, "ece": 0.4},
                     {**base, "learner": "rf", "adaptation": "support", "sampling": "natural", "roc_auc": 0.9,
                      "ece": 0.01}]
    return pd.DataFrame(rows)


def test_learners_are_compared_with_the_best_support_only_baseline_on_the_same_draws():
    vs = versus_baseline(_rows(), "roc_auc").set_index(["learner", "adaptation"])
    assert set(vs["baseline"]) == {"rf"}  # rf's mean 0.60 beats knn's 0.56; natural-rate rows are not used
    assert vs.loc[("maml", "support"), "mean"] == pytest.approx(11.0)  # (0.70 + 0.01 s) - 0.60, mean over s
    assert vs.loc[("maml", "support"), "std"] == pytest.approx(1.0)
    assert vs.loc[("maml", "none"), "mean"] == pytest.approx(8.0)
    assert vs.loc[("multitask_ridge", "none"), "mean"] == pytest.approx(5.0)
    assert ("rf", "support") not in vs.index and ("knn", "support") not in vs.index


def test_markdown_has_the_support_free_gain_and_calibration_columns():
    df = _rows()
    recs = summarize(df, benchmark="new_assay", command="python benchmarks/new_assay.py evaluate")
    split = {"totals": {"n_train": 10, "n_test": 20}, "command": "python scripts/make_new_assay_split.py",
             "collections": {"tox21": {"fraction": 0.1, "effective_test_fraction": 0.5}}}
    training = [{"kind": "classification", "learner": "maml", "train_tasks": 3, "val_tasks": 1, "best_step": 100,
                 "steps_run": 200, "val_metric": "roc_auc", "best_val_score": 0.7, "seconds": 10.0,
                 "calibration": {"method": "platt"}, "command": "python benchmarks/new_assay.py train"}]
    md = markdown(recs, training, split, "machine", report_command="python benchmarks/new_assay.py report",
                  per_episode=df)
    assert "## Classification, support of 16" in md
    head = md.split("## Headline: support of 16")[1].split("##")[0]
    assert "| tox21 | **71.0 ± 1.0** |" in head and "multitask_ridge (support-free)" in head
    row = next(line for line in md.splitlines() if line.startswith("| tox21 | maml |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "71.0 ± 1.0" and cells[4] == "68.0 ± 0.0" and cells[5] == "+3.0 ± 1.0"
    assert cells[8] == "0.050 ± 0.000"  # ECE with the known hit rate
    ridge = next(line for line in md.splitlines() if line.startswith("| tox21 | multitask_ridge |"))
    assert "65.0 ± 0.0" in ridge
    assert "Against the best support-only baseline" in md and "| tox21 | 16 | rf |" in md
    assert "python scripts/make_new_assay_split.py" in md


def test_paired_rows_of_learners_not_re_run_are_kept_and_re_run_ones_replaced():
    from benchmarks.new_assay_report import merged_versus

    kept = [{"dataset": "tox21", "shots": 16, "learner": "maml", "adaptation": "support", "baseline": "rf",
             "mean": -50.0, "std": 0.0, "n_seeds": 3, "metric": "roc_auc"},
            {"dataset": "tox21", "shots": 16, "learner": "protonet", "adaptation": "support", "baseline": "rf",
             "mean": 2.5, "std": 0.5, "n_seeds": 3, "metric": "roc_auc"}]
    vs = merged_versus(_rows(), kept)["roc_auc"].set_index(["learner", "adaptation"])
    assert vs.loc[("maml", "support"), "mean"] == pytest.approx(11.0)  # re-run: the fresh pairing wins
    assert vs.loc[("protonet", "support"), "mean"] == pytest.approx(2.5)  # no episodes here: kept
    assert len(vs) == len(set(vs.index))


def _rec(ds, ln, ad, mean, std, n_tasks, metric="roc_auc"):
    return {"dataset": ds, "learner": ln, "shots": 16, "calibration": "none", "adaptation": ad, "metric": metric,
            "mean": mean, "std": std, "n_tasks": n_tasks}


def test_pooled_table_weighs_collections_by_their_test_tasks():
    from benchmarks.new_assay_report import pooled_table

    recs = [_rec("tox21", "maml", "support", 80.0, 3.0, 1), _rec("toxcast", "maml", "support", 60.0, 4.0, 3),
            _rec("tox21", "maml", "none", 70.0, 0.0, 1), _rec("toxcast", "maml", "none", 50.0, 0.0, 3),
            _rec("tox21", "rf", "support", 70.0, 1.0, 1), _rec("toxcast", "rf", "support", 62.0, 1.0, 3),
            _rec("tox21", "knn", "support", 50.0, 1.0, 1),  # not on every collection: no row, not a baseline
            _rec("tox21", "minimol_lr", "support", 75.0, 1.0, 1), _rec("toxcast", "minimol_lr", "support", 61.0, 1.0, 3)]
    lines = pooled_table(recs, {"tox21", "toxcast"}, (16,))
    rows = {ln.split(" | ")[1]: ln.split(" | ") for ln in lines[2:]}
    assert set(rows) == {"maml", "rf", "minimol_lr"}
    maml = rows["maml"]
    # (80 + 3 * 60) / 4 = 65, ± sqrt((3/4)^2 + 3^2 ... ) = sqrt(0.25^2 * 9 + 0.75^2 * 16) = 3.09
    assert maml[2] == "65.0 ± 3.1" and maml[3] == "+1.0" and maml[4] == "+0.5"  # rf pooled 64.0, minimol_lr 64.5
    assert maml[5] == "55.0" and maml[8].rstrip(" |") == "70.0"  # support-free pooled; unweighted mean of 80, 60
