"""Harness options of the new-assay protocol: learners that never read the support, known-hit-rate rows,
natural-rate supports, and their records."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from assays.episodes import natural_rate_episodes
from assays.task import Task, TaskCollection
from pipelines.evaluate import evaluate_learner, record_key, summarize
from sciml.calibration import apply_calibration
from sciml.learners.base import Prediction
from sciml.metrics import CLASSIFICATION_CALIBRATION
from tests.pipelines.test_support_free import VALUES, FakeLearner, _collection


class BlindLearner(FakeLearner):
    """Never reads the support: predicts its known support-free score for every episode."""

    name: ClassVar[str] = "blind"
    reads_support: ClassVar[bool] = False

    def fit_features(self, X, y):
        self.n_support_ = len(y)
        return self

    def predict_features(self, X):
        m = self.known_free(X)
        return Prediction(mean=m, std=np.zeros_like(m) if self.task == "classification" else np.ones_like(m))


def test_a_learner_that_never_reads_the_support_gives_support_free_rows_only():
    coll = _collection()
    df = evaluate_learner(BlindLearner(), coll, [2], [0, 1], progress=False, support_free=True)
    assert set(df["adaptation"]) == {"none"} and len(df) == 2 * 3
    ref = evaluate_learner(FakeLearner(), coll, [2], [0, 1], progress=False, support_free=True)
    free = ref[ref["adaptation"] == "none"].reset_index(drop=True)
    assert np.allclose(df["roc_auc"].to_numpy(), free["roc_auc"].to_numpy())
    recs = summarize(df, benchmark="b", command="c")
    assert {r["adaptation"] for r in recs} == {"none"}  # nothing to pair a gain with
    reg = evaluate_learner(BlindLearner("regression"), _collection("regression"), [4], [0], progress=False)
    assert set(reg["adaptation"]) == {"none"} and "r2" not in reg.columns and reg["spearman"].notna().all()


def test_known_rate_rows_shift_raw_probabilities_to_the_query_rate():
    coll = _collection()
    learner = FakeLearner()
    df = evaluate_learner(learner, coll, [3], [0], progress=False, known_rate=True)
    assert set(df["calibration"]) == {"none", "rate"}
    from assays.episodes import evaluation_episodes

    ep = next(e for e in evaluation_episodes(coll.split("test"), 3, [0]) if e.task_name == "t2")
    t = coll.tasks["t2"]
    learner.fit_features(learner.featurize([t.inputs[i] for i in ep.support_idx]), ep.support_y)
    pred = learner.predict_features(learner.featurize([t.inputs[i] for i in ep.query_idx]))
    shifted = apply_calibration(pred, None, hit_rate=float(np.mean(ep.query_y)))
    row = df[(df["task"] == "t2") & (df["calibration"] == "rate")].iloc[0]
    assert row["ece"] == pytest.approx(CLASSIFICATION_CALIBRATION["ece"](ep.query_y, shifted.mean))
    assert row["roc_auc"] == pytest.approx(df[(df["task"] == "t2") & (df["calibration"] == "none")]["roc_auc"].iloc[0])


def _rare_task(name: str, n: int = 60, n_act: int = 6) -> Task:
    y = np.zeros(n)
    y[np.arange(n_act) * (n // n_act)] = 1
    return Task(name, [f"m{i}" for i in range(n)], y, "classification")


def test_natural_rate_episodes_are_random_draws_with_both_classes():
    tasks = [_rare_task("r0"), _rare_task("r1", n_act=3), _rare_task("none", n_act=1)]
    eps = natural_rate_episodes(tasks, 10, range(5))
    assert {e.task_name for e in eps} == {"r0", "r1"}  # one active in all: skipped
    for e in eps:
        assert e.n_support == 10 and e.n_support + e.n_query == 60
        assert 0 < e.support_y.sum() < 10 and e.query_y.sum() > 0
        assert not set(e.support_idx) & set(e.query_idx)
    again = natural_rate_episodes(tasks[::-1], 10, range(5))
    assert sorted(eps, key=lambda e: (e.seed, e.task_name)) == sorted(again, key=lambda e: (e.seed, e.task_name))
    # the support's active share follows the task's rate, not 50 %
    share = np.mean([e.support_y.mean() for e in natural_rate_episodes([_rare_task("r0")], 20, range(40))])
    assert share < 0.25
    with pytest.raises(ValueError, match="classification"):
        natural_rate_episodes([Task("x", ["a", "b", "c", "d"], np.arange(4.0), "regression")], 2, [0])


def test_natural_sampling_rows_are_summarised_apart():
    coll = _collection()
    bal = evaluate_learner(FakeLearner(), coll, [2], range(3), progress=False, support_free=True)
    nat = evaluate_learner(FakeLearner(), coll, [6], range(3), progress=False, support_free=True, sampling="natural")
    assert set(bal["sampling"]) == {"balanced"} and set(nat["sampling"]) == {"natural"}
    assert (nat["n_query"] == 24 - 6).all()
    recs = summarize(pd.concat([bal, nat]), benchmark="b", command="c")
    nat_recs = [r for r in recs if r.get("sampling") == "natural"]
    assert nat_recs and {r["shots"] for r in nat_recs} == {6}
    assert {r["adaptation"] for r in nat_recs} == {"support", "none", "gain"}
    assert all("sampling" not in r for r in recs if r["shots"] == 2)
    assert len({record_key(r) for r in recs}) == len(recs)
    with pytest.raises(ValueError, match="natural"):
        evaluate_learner(FakeLearner("regression"), _collection("regression"), [4], [0], progress=False,
                         sampling="natural")
