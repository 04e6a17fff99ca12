"""Support-free rows in the harness and the report: the same episodes scored without the support labels,
the paired adaptation gain (learner − support-free per episode, averaged per seed), and the table columns."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from assays.task import Task, TaskCollection
from pipelines.evaluate import EPISODE_METRICS, evaluate_learner, merge_records, record_key, summarize
from pipelines.report import markdown_table, write_report
from sciml.learners.base import FewShotLearner, Prediction
from sciml.metrics import roc_auc, spearman

N = 24
VALUES = {f"m{i}": float(np.sin(1.7 * i) + 0.1 * i) for i in range(3 * N)}


class FakeLearner(FewShotLearner):
    """Features: one known number per input. Adapted: ``sigmoid(w * x)`` with ``w`` from the support;
    support-free: ``sigmoid(-x)`` (a known score that reads no support)."""

    name: ClassVar[str] = "fake"
    support_free: ClassVar[str | None] = "a known score, -x"

    def __init__(self, task: str = "classification"):
        self.task = task
        self.free_calls: list[int] = []

    def featurize(self, inputs):
        return np.array([[VALUES[s]] for s in inputs])

    def fit_features(self, X, y):
        x = X[:, 0]
        self.w_ = float(np.corrcoef(x, y)[0, 1]) if np.std(y) > 0 else 1.0
        self.n_support_ = len(y)
        return self

    def predict_proba_features(self, X):
        return 1 / (1 + np.exp(-self.w_ * X[:, 0]))

    def predict_features(self, X):
        if self.task == "classification":
            return super().predict_features(X)
        m = self.w_ * X[:, 0]
        return Prediction(mean=m, std=np.ones_like(m))

    def known_free(self, X) -> np.ndarray:
        return 1 / (1 + np.exp(X[:, 0])) if self.task == "classification" else -X[:, 0]

    def predict_support_free(self, X, *, n_support=None):
        self.free_calls.append(n_support)
        m = self.known_free(X)
        return Prediction(mean=m, std=np.zeros_like(m) if self.task == "classification" else np.ones_like(m))


class NoFreeLearner(FakeLearner):
    name: ClassVar[str] = "plain"
    support_free: ClassVar[str | None] = None


def _collection(kind: str = "classification") -> TaskCollection:
    tasks = {}
    for t in range(3):
        inputs = [f"m{i}" for i in range(t * N, (t + 1) * N)]
        x = np.array([VALUES[s] for s in inputs])
        labels = (x > np.median(x)).astype(float) if kind == "classification" else 2.0 * x + np.cos(3 * x)
        if kind == "classification":
            labels[t] = 1.0 - labels[t]  # not separable by x alone
        tasks[f"t{t}"] = Task(f"t{t}", inputs, labels, kind)
    return TaskCollection("syn", tasks, train=[], val=[], test=list(tasks))


def test_support_free_rows_score_the_same_queries_without_the_support():
    coll, learner = _collection(), FakeLearner()
    cal = {"method": "platt", "slope": 1.0, "bias": 0.0}
    df = evaluate_learner(learner, coll, [2, 3], [0, 1, 2], progress=False, calibration=cal, support_free=True)
    n_ep = 2 * 3 * 3
    assert len(df) == 3 * n_ep
    assert df.groupby("adaptation").size().to_dict() == {"none": n_ep, "support": 2 * n_ep}
    free = df[df["adaptation"] == "none"]
    assert set(free["calibration"]) == {"none"}  # the calibration was fitted on adapted predictions
    assert sorted(set(learner.free_calls)) == [4, 6]  # n_support = 2K of the episode
    # the same episodes: one support-free row per adapted raw row, on the same query
    raw = df[(df["adaptation"] == "support") & (df["calibration"] == "none")]
    key = ["shots", "seed", "task", "n_query"]
    assert sorted(map(tuple, free[key].to_numpy())) == sorted(map(tuple, raw[key].to_numpy()))
    # the support-free score is the known one; it does not depend on the draw beyond the query
    from assays.episodes import evaluation_episodes

    ep = next(e for e in evaluation_episodes(coll.split("test"), 2, [1]) if e.task_name == "t1")
    task = coll.tasks["t1"]
    Xq = learner.featurize([task.inputs[i] for i in ep.query_idx])
    row = free[(free["shots"] == 2) & (free["seed"] == 1) & (free["task"] == "t1")].iloc[0]
    assert row["roc_auc"] == roc_auc(ep.query_y, learner.known_free(Xq))
    expected = EPISODE_METRICS["classification"](ep.query_y, learner.predict_support_free(Xq))
    for m, v in expected.items():
        assert row[m] == pytest.approx(v, nan_ok=True)


def test_support_free_rows_are_opt_in_and_need_a_mode():
    coll = _collection()
    off = evaluate_learner(FakeLearner(), coll, [2], [0, 1], progress=False)
    assert set(off["adaptation"]) == {"support"} and len(off) == 2 * 3
    plain = evaluate_learner(NoFreeLearner(), coll, [2], [0, 1], progress=False, support_free=True)
    assert set(plain["adaptation"]) == {"support"} and len(plain) == 2 * 3


def _manual_gain(df: pd.DataFrame, metric: str, scale: float) -> tuple[float, float]:
    a = df[(df["adaptation"] == "support") & (df["calibration"] == "none")].set_index(["seed", "task"])[metric]
    b = df[df["adaptation"] == "none"].set_index(["seed", "task"])[metric]
    per_seed = (a - b).groupby(level="seed").mean().to_numpy() * scale
    return float(per_seed.mean()), float(per_seed.std(ddof=1))


def test_gain_is_learner_minus_support_free_paired_per_seed():
    coll = _collection()
    df = pd.concat([evaluate_learner(FakeLearner(), coll, [2], range(4), progress=False, support_free=True),
                    evaluate_learner(NoFreeLearner(), coll, [2], range(4), progress=False, support_free=True)])
    recs = summarize(df, benchmark="b", command="c")
    by = {(r["learner"], r["adaptation"], r["metric"]): r for r in recs}
    assert {a for (ln, a, _) in by if ln == "plain"} == {"support"}
    assert {a for (ln, a, _) in by if ln == "fake"} == {"support", "none", "gain"}
    for metric, scale in (("roc_auc", 100.0), ("brier", 1.0)):
        g = by[("fake", "gain", metric)]
        mean, std = _manual_gain(df[df["learner"] == "fake"], metric, scale)
        assert g["mean"] == pytest.approx(mean) and g["std"] == pytest.approx(std)
        assert g["mean"] == pytest.approx(by[("fake", "support", metric)]["mean"] - by[("fake", "none", metric)]["mean"])
        assert g["calibration"] == "none" and g["n_seeds"] == 4 and g["n_tasks"] == 3 and g["seeds"] == [0, 1, 2, 3]
    assert all(set(r) >= {"adaptation", "calibration", "metric", "mean", "std"} for r in recs)
    # without support_free the "none" rows are ignored and no gain is written
    assert {r["adaptation"] for r in summarize(df, benchmark="b", command="c", support_free=False)} == {"support"}


def test_gain_pairs_episodes_and_skips_undefined_ones():
    rows = []
    for seed, task, a, b in [(0, "x", 0.8, 0.6), (0, "y", 0.7, float("nan")), (1, "x", 0.9, 0.5), (1, "y", 0.6, 0.6)]:
        base = {"dataset": "d", "learner": "fake", "shots": 1, "seed": seed, "task": task, "calibration": "none"}
        rows += [{**base, "adaptation": "support", "roc_auc": a}, {**base, "adaptation": "none", "roc_auc": b}]
    recs = summarize(pd.DataFrame(rows), benchmark="b", command="c", metrics=["roc_auc"])
    gain = next(r for r in recs if r["adaptation"] == "gain")
    # seed 0: only task x pairs (20 points); seed 1: (40 + 0) / 2 = 20 points
    assert gain["mean"] == pytest.approx(20.0) and gain["std"] == pytest.approx(0.0, abs=1e-9)
    # per-seed averages taken apart would give seed 0: 75 - 60 = 15, not the paired 20
    assert next(r for r in recs if r["adaptation"] == "support")["mean"] == pytest.approx(75.0)


def test_regression_support_free_rows_score_ranks_only():
    coll = _collection("regression")
    df = evaluate_learner(FakeLearner("regression"), coll, [4], range(3), progress=False, support_free=True)
    free = df[df["adaptation"] == "none"]
    assert free["spearman"].notna().all()
    assert free[["r2", "rmse", "nll", "coverage90", "width90"]].isna().all().all()
    task = coll.tasks["t0"]
    row = free[(free["seed"] == 0) & (free["task"] == "t0")].iloc[0]
    from assays.episodes import evaluation_episodes

    ep = next(e for e in evaluation_episodes([task], 4, [0]))
    assert row["spearman"] == spearman(ep.query_y, -np.array([VALUES[task.inputs[i]] for i in ep.query_idx]))
    recs = summarize(df, benchmark="b", command="c")
    assert {r["metric"] for r in recs if r["adaptation"] == "none"} == {"spearman"}
    assert {r["metric"] for r in recs if r["adaptation"] == "gain"} == {"spearman"}


def test_frames_and_files_without_the_field_read_as_adapted(tmp_path):
    old_frame = pd.DataFrame({"dataset": "d", "learner": "rf", "shots": 1, "seed": [0, 1], "task": "x",
                              "calibration": "none", "roc_auc": [0.6, 0.8]})
    recs = summarize(old_frame, benchmark="b", command="c", metrics=["roc_auc"])
    assert [r["adaptation"] for r in recs] == ["support"]
    old = dict(recs[0], mean=1.0)
    del old["adaptation"]
    kept = dict(old, learner="knn")
    path = tmp_path / "b.json"
    path.write_text(json.dumps([old, kept]))
    assert record_key(old) == record_key(recs[0])
    merged = merge_records(path, recs)
    assert len(merged) == 2 and json.loads(path.read_text()) == merged
    assert next(r for r in merged if r["learner"] == "rf") == recs[0]  # replaced by the new record
    assert next(r for r in merged if r["learner"] == "knn") == kept  # kept as written, without the field
    # a support-free record of the same learner is a record of its own
    merged = merge_records(path, [dict(recs[0], adaptation="none", mean=50.0)])
    assert len(merged) == 3


def _rec(learner, mean, std=1.0, adaptation=None, metric="roc_auc", calibration="none", shots=10):
    r = {"benchmark": "b", "dataset": "tox21", "learner": learner, "shots": shots, "calibration": calibration,
         "metric": metric, "mean": mean, "std": std, "n_seeds": 3, "n_tasks": 2, "selection": "validation",
         "command": "c", "date": "2026-12-01", "machine": "m", "seeds": [0, 1, 2]}
    if adaptation:  # None: a record written before the field existed
        r["adaptation"] = adaptation
    return r


def test_report_puts_support_free_and_gain_beside_each_meta_learner(tmp_path):
    recs = [_rec("maml", 80.61, 0.11, "support"), _rec("maml", 80.6, 0.1, "none"), _rec("maml", 0.01, 0.02, "gain"),
            _rec("bmaml", 70.0, 2.0, "support"), _rec("bmaml", 71.5, 1.0, "none"), _rec("bmaml", -1.5, 1.2, "gain"),
            _rec("protonet", 75.0), _rec("rf", 65.0), _rec("knn", 60.0, 2.0, "support")]
    table = markdown_table(recs, "roc_auc")
    head = table.splitlines()[0]
    assert head == ("| dataset | shots | protonet | maml | maml (support-free) | maml gain | bmaml | "
                    "bmaml (support-free) | bmaml gain | rf | knn |")
    row = table.splitlines()[2]
    assert row == ("| Tox21 | 10 | 75.00 ± 1.00 | 80.61 ± 0.11 | 80.60 ± 0.10 | +0.01 ± 0.02 | 70.00 ± 2.00 | "
                   "71.50 ± 1.00 | -1.50 ± 1.20 | 65.00 ± 1.00 | 60.00 ± 2.00 |")
    # calibration metrics: the learner's calibrated column stays next to it, then support-free and gain
    ece = [_rec("maml", 0.1, 0.01, "support", "ece"), _rec("maml", 0.12, 0.01, "support", "ece", "posthoc"),
           _rec("maml", 0.2, 0.01, "none", "ece"), _rec("maml", -0.1, 0.01, "gain", "ece"), _rec("rf", 0.3, 0.0, None, "ece")]
    assert markdown_table(ece, "ece", digits=3).splitlines()[0] == \
        "| dataset | shots | maml | maml+cal | maml (support-free) | maml gain | rf |"
    out = tmp_path / "r.md"
    write_report(recs + ece, out, title="T", published=None, notes=[])
    text = out.read_text()
    assert "`learner (support-free)` columns" in text and "learner − support-free" in text
    write_report([_rec("rf", 65.0)], out, title="T", published=None, notes=[])
    assert "support-free" not in out.read_text()


def test_maml_with_zero_inner_steps_has_exactly_zero_gain():
    """The harness on a tiny real MAML: with ``inner_steps=0`` the adapted rows are the support-free ones."""
    import torch

    from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
    from sciml.encoders import build_encoder
    from sciml.learners.maml import MAML, MAMLConfig, MAMLLearner

    smiles = [f"{'C' * n}{end}" for n in range(1, 7) for end in ("O", "N", "c1ccccc1", "Cl")]
    tasks = {f"t{t}": Task(f"t{t}", smiles, np.array([float(("c1" in s) != (t == 1 and "N" in s)) for s in smiles]),
                           "classification") for t in range(2)}
    coll = TaskCollection("mol", tasks, test=list(tasks))
    torch.manual_seed(0)
    enc = build_encoder("gine", dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=8, depth=1, out_dim=8, dropout=0.0,
                                     norm="batch", pooling="mean"))
    learner = MAMLLearner(MAML(enc, MAMLConfig(inner_steps=3, head_hidden=4)), MolGraphFeaturizer(), device="cpu",
                          inner_steps=0)
    df = evaluate_learner(learner, coll, [2], [0, 1], progress=False, support_free=True)
    a, b = (df[df["adaptation"] == x].set_index(["seed", "task"]).sort_index() for x in ("support", "none"))
    for m in ("roc_auc", "delta_auprc", "ece", "brier"):
        np.testing.assert_array_equal(a[m].to_numpy(), b[m].to_numpy(), err_msg=m)
    gains = [r for r in summarize(df, benchmark="b", command="c") if r["adaptation"] == "gain"]
    assert {r["metric"] for r in gains} == {"roc_auc", "delta_auprc", "ece", "brier"}
    assert all(r["mean"] == 0.0 and r["std"] == 0.0 for r in gains)
