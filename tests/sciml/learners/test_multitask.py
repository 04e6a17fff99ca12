"""The support-free multitask ridge: fitted on train tasks' mean labels, strength chosen on validation tasks,
blind to the support."""

from __future__ import annotations

import numpy as np
import pytest

from assays.task import Task
from sciml.errors import NotFittedError
from sciml.learners.multitask import MultitaskRidge

#: a "promiscuous" substructure (a nitro group) active in every assay; the rest inactive
PROMISCUOUS = [f"{'C' * i}c1ccc([N+](=O)[O-])cc1" for i in range(1, 9)]
QUIET = [f"{'C' * i}O" for i in range(1, 9)] + [f"{'C' * i}N" for i in range(1, 9)]


def _task(name, mols, kind="classification", noise=0):
    y = np.asarray([1.0 if m in PROMISCUOUS else 0.0 for m in mols])
    if noise:
        y[noise] = 1 - y[noise]
    if kind == "regression":
        y = 5 + 2 * y + 0.01 * np.arange(len(y))
    return Task(name, list(mols), y, kind)


def test_fits_the_train_tasks_and_ranks_new_molecules_without_the_support():
    mols = PROMISCUOUS[:6] + QUIET[:12]
    train = [_task(f"t{i}", mols, noise=i) for i in range(4)]
    val = [_task("v0", PROMISCUOUS[:6] + QUIET[:12])]
    lr = MultitaskRidge().fit_tasks(train, val)
    assert lr.alpha_ in lr.alphas and set(lr.val_scores_) == set(lr.alphas) and lr.n_molecules_ == 18
    new = PROMISCUOUS[6:] + QUIET[12:]
    X = lr.featurize(new)
    p = lr.predict_proba_features(X)
    assert p.shape == (len(new),) and (0 <= p).all() and (p <= 1).all()
    assert p[:2].min() > p[2:].max()  # the new nitro compounds rank first
    # the support is never read: any labels give the same prediction
    a = lr.fit_features(X[:4], np.array([0, 1, 0, 1])).predict_features(X).mean
    b = lr.fit_features(X[:4], np.array([1, 1, 1, 0])).predict_features(X).mean
    assert np.array_equal(a, b) and lr.n_support_ == 4
    assert np.array_equal(lr.predict_support_free(X, n_support=4).mean, a)
    assert not MultitaskRidge.reads_support


def test_regression_targets_are_per_task_z_scores_and_predictions_rank_only():
    mols = PROMISCUOUS[:6] + QUIET[:12]
    lr = MultitaskRidge(task="regression", alphas=(1.0,)).fit_tasks([_task("r", mols, "regression")])
    pred = lr.predict_features(lr.featurize(PROMISCUOUS[6:] + QUIET[12:14]))
    assert pred.mean[:2].min() > pred.mean[2:].max() and (pred.std == 1).all()
    assert lr.val_scores_ == {}


def test_errors_name_the_problem():
    with pytest.raises(NotFittedError):
        MultitaskRidge().predict_proba_features(np.zeros((2, 2048)))
    with pytest.raises(ValueError, match="kinds"):
        MultitaskRidge().fit_tasks([_task("r", QUIET, "regression")])
    with pytest.raises(ValueError, match="alphas"):
        MultitaskRidge(alphas=(0.0,))
    with pytest.raises(ValueError, match="task"):
        MultitaskRidge(task="ranking")


def test_a_multitask_head_gives_a_metric_learner_a_support_free_row():
    from sciml.learners.base import FewShotLearner
    from sciml.learners.multitask import attach_multitask_head

    class Metric(FewShotLearner):  # features: the fingerprint; no support-free mode of its own
        name = "metric"

        def featurize(self, inputs):
            return MultitaskRidge().featurize(inputs).astype(np.float32)

        def fit_features(self, X, y):
            return self

        def predict_proba_features(self, X):
            return np.full(len(X), 0.5)

    mols = PROMISCUOUS[:6] + QUIET[:12]
    learner = Metric()
    head = attach_multitask_head(learner, [_task(f"t{i}", mols, noise=i) for i in range(3)], [_task("v", mols)])
    assert learner.support_free and Metric.support_free is None  # the instance, not the class
    X = learner.featurize(PROMISCUOUS[6:] + QUIET[12:])
    p = learner.predict_support_free(X, n_support=4).mean
    assert np.array_equal(p, head.predict_features(X).mean) and p[:2].min() > p[2:].max()
    with pytest.raises(ValueError, match="support-free mode of its own"):
        attach_multitask_head(learner, [_task("t", mols)])
