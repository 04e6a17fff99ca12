"""Random-forest and Tanimoto-kNN baselines fitted on the support set."""

from __future__ import annotations

import numpy as np
import pytest

from sciml.errors import NotFittedError
from sciml.learners.base import FewShotLearner, SupportSetError
from sciml.learners.baselines import KNNTanimotoBaseline, RandomForestBaseline

AROMATICS = ["c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "Cc1ccccc1C", "Clc1ccccc1", "c1ccc2ccccc2c1"]
ALCOHOLS = ["CCO", "CCCO", "CCCCO", "CC(C)O", "CCCCCO", "CC(C)CO"]
SUPPORT = AROMATICS + ALCOHOLS
LABELS = [1] * len(AROMATICS) + [0] * len(ALCOHOLS)
QUERY_POS = ["CCCc1ccccc1", "Brc1ccccc1", "Cc1cccc(C)c1"]
QUERY_NEG = ["CCCCCCO", "CC(C)CCO", "OCCCCCCC"]

LEARNERS = [RandomForestBaseline, KNNTanimotoBaseline]


def test_names_and_interface():
    assert RandomForestBaseline.name == "rf"
    assert KNNTanimotoBaseline.name == "knn"
    for cls in LEARNERS:
        assert issubclass(cls, FewShotLearner)


def test_rf_defaults_and_fitted_model():
    rf = RandomForestBaseline(seed=3)
    assert (rf.n_estimators, rf.radius, rf.n_bits, rf.seed) == (100, 2, 2048, 3)
    rf.fit(SUPPORT, LABELS)
    assert rf.model_.n_estimators == 100
    assert rf.model_.random_state == 3
    assert rf.model_.class_weight == "balanced"
    assert rf.model_.n_jobs == 1


def test_rf_separates_aromatics_from_alcohols():
    rf = RandomForestBaseline(n_estimators=50, seed=0).fit(SUPPORT, LABELS)
    p_pos, p_neg = rf.predict_proba(QUERY_POS), rf.predict_proba(QUERY_NEG)
    assert p_pos.shape == (3,) and p_neg.shape == (3,)
    assert ((p_pos >= 0) & (p_pos <= 1)).all()
    assert p_pos.min() > 0.5 > p_neg.max()
    again = RandomForestBaseline(n_estimators=50, seed=0).fit(SUPPORT, LABELS)
    np.testing.assert_array_equal(p_pos, again.predict_proba(QUERY_POS))  # seeded -> reproducible


def test_knn_separates_aromatics_from_alcohols():
    knn = KNNTanimotoBaseline(k=3).fit(SUPPORT, LABELS)
    assert knn.X_.shape == (len(SUPPORT), 2048)
    np.testing.assert_array_equal(knn.y_, LABELS)
    assert knn.predict_proba(QUERY_POS).min() > 0.5 > knn.predict_proba(QUERY_NEG).max()


def test_knn_nearest_neighbour_decides_with_k1():
    knn = KNNTanimotoBaseline(k=1).fit(["c1ccccc1", "CCO"], [1, 0])
    np.testing.assert_allclose(knn.predict_proba(["Cc1ccccc1", "CCCO"]), [1.0, 0.0])


def test_knn_similarity_weighting_hand_computed():
    X = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 0]], dtype=np.uint8)
    y = np.array([1, 0, 0])
    knn = KNNTanimotoBaseline(k=1).fit_features(X, y)
    np.testing.assert_allclose(knn.predict_proba_features(X), [1.0, 0.0, 0.0])

    knn = KNNTanimotoBaseline(k=3, eps=1e-6).fit_features(X, y)
    # query {0,1,2}: sims 2/3 ({0,1}), 1/4 ({2,3}), 1/3 ({2}) -> (2/3) / (2/3 + 1/4 + 1/3) = 8/15
    q = np.array([[1, 1, 1, 0]])
    w = np.array([2 / 3, 1 / 4, 1 / 3]) + 1e-6
    np.testing.assert_allclose(knn.predict_proba_features(q), [w[0] / w.sum()])
    assert knn.predict_proba_features(q)[0] == pytest.approx(8 / 15, abs=1e-5)

    # an all-zero query has similarity 0 to everything -> plain fraction of positives
    np.testing.assert_allclose(knn.predict_proba_features(np.zeros((1, 4))), [1 / 3])


def test_knn_k_is_capped_at_support_size():
    knn = KNNTanimotoBaseline(k=50).fit_features(np.eye(4), [1, 0, 0, 1])
    p = knn.predict_proba_features(np.zeros((2, 4)))
    np.testing.assert_allclose(p, [0.5, 0.5])


@pytest.mark.parametrize("cls", LEARNERS)
@pytest.mark.parametrize("y, which", [([1, 1, 1], "positive"), ([0, 0, 0], "negative")])
def test_one_class_support_raises(cls, y, which):
    with pytest.raises(SupportSetError, match=rf"only one class \({which}"):
        cls().fit(["c1ccccc1", "CCO", "CCCO"], y)


@pytest.mark.parametrize("cls", LEARNERS)
def test_predict_before_fit_raises(cls):
    with pytest.raises(NotFittedError, match="not fitted"):
        cls().predict_proba(["CCO"])


@pytest.mark.parametrize("cls", LEARNERS)
def test_invalid_smiles_in_featurize_names_it(cls):
    with pytest.raises(ValueError, match=r"index 1: 'C1CC'"):
        cls().featurize(["CCO", "C1CC"])


@pytest.mark.parametrize("cls", LEARNERS)
def test_label_count_mismatch_raises(cls):
    with pytest.raises(ValueError, match="labels"):
        cls().fit_features(np.ones((3, 8)), [0, 1])


def test_invalid_params():
    with pytest.raises(ValueError, match="k must be"):
        KNNTanimotoBaseline(k=0)
    with pytest.raises(ValueError, match="n_estimators"):
        RandomForestBaseline(n_estimators=0)


# ------------------------------------------------------------------ regression mode


def test_knn_regression_is_the_similarity_weighted_mean_and_spread():
    X = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1]], dtype=np.uint8)
    y = np.array([2.0, 4.0, 10.0])
    knn = KNNTanimotoBaseline(k=2, task="regression", eps=1e-9).fit_features(X, y)
    q = np.array([[1, 1, 0, 0]], dtype=np.uint8)  # similarities 1, 2/3, 0 -> neighbours 0 and 1
    pred = knn.predict_features(q)
    w = np.array([1.0, 2 / 3])
    mean = (w * [2.0, 4.0]).sum() / w.sum()
    assert pred.mean[0] == pytest.approx(mean)
    assert pred.std[0] == pytest.approx(np.sqrt((w * (np.array([2.0, 4.0]) - mean) ** 2).sum() / w.sum()))
    assert pred.lower[0] < pred.mean[0] < pred.upper[0]
    with pytest.raises(ValueError, match="regression"):
        knn.predict_proba_features(q)


def test_rf_regression_mean_and_tree_spread():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(40, 16)).astype(np.uint8)
    y = 3.0 * X[:, 0] + rng.normal(scale=0.1, size=40)
    rf = RandomForestBaseline(n_estimators=50, task="regression", seed=0).fit_features(X, y)
    pred = rf.predict_features(X[:5])
    per_tree = np.stack([t.predict(X[:5]) for t in rf.model_.estimators_])
    np.testing.assert_allclose(pred.mean, per_tree.mean(0))
    np.testing.assert_allclose(pred.std, per_tree.std(0))
    np.testing.assert_allclose(pred.mean, 3.0 * X[:5, 0], atol=0.5)
    with pytest.raises(ValueError, match="task must be"):
        RandomForestBaseline(task="ranking")
