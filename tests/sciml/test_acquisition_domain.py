"""Acquisition functions and the applicability-domain check, on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from sciml.acquisition import ACQUISITIONS, acquisition_scores, expected_improvement
from sciml.applicability import applicability_domain


def test_expected_improvement_hand_values():
    # m = best, s = 1: EI = phi(0)
    assert expected_improvement([1.0], [1.0], best=1.0)[0] == pytest.approx(norm.pdf(0))
    # no uncertainty: EI = max(gain, 0)
    np.testing.assert_allclose(expected_improvement([3.0, 0.0], [0.0, 0.0], best=1.0), [2.0, 0.0])
    # Monte Carlo check
    rng = np.random.default_rng(0)
    draws = rng.normal(2.0, 0.7, 400_000)
    assert expected_improvement([2.0], [0.7], best=2.5)[0] == pytest.approx(np.maximum(draws - 2.5, 0).mean(), rel=0.01)


def test_rankings_follow_their_definitions():
    mean, std = np.array([5.0, 6.0, 4.0]), np.array([1.0, 0.1, 3.0])
    assert np.argmax(acquisition_scores("highest", mean, std)) == 1
    assert np.argmax(acquisition_scores("uncertain", mean, std)) == 2
    assert np.argmax(acquisition_scores("ucb", mean, std, kappa=2.0)) == 2   # 4 + 6 = 10
    assert np.argmax(acquisition_scores("ucb", mean, std, kappa=0.0)) == 1
    assert np.argmax(acquisition_scores("highest", mean, std, maximize=False)) == 2
    with pytest.raises(ValueError, match="best measured"):
        acquisition_scores("ei", mean, std)
    with pytest.raises(ValueError, match="unknown acquisition"):
        acquisition_scores("thompson", mean, std)
    assert all(a.explanation and a.label for a in ACQUISITIONS.values())
    assert ACQUISITIONS["ei"].tasks == ("regression",)


def test_applicability_domain_flags_dissimilar_and_far_queries():
    support = ["c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "c1ccccc1Cl"]
    query = ["c1ccccc1CC", "CCCCCCCCCCCC(=O)O"]
    emb_s = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1]])
    emb_q = np.array([[0.05, 0.05], [5.0, 5.0]])
    dom = applicability_domain(support, query, support_emb=emb_s, query_emb=emb_q)
    assert list(dom["in_domain"]) == [True, False]
    assert dom.loc[0, "domain_reason"] == ""
    assert "Tanimoto" in dom.loc[1, "domain_reason"] and "embedding distance" in dom.loc[1, "domain_reason"]
    assert dom.loc[1, "nearest_similarity"] < 0.35 <= dom.loc[0, "nearest_similarity"]
    # without embeddings only the structural signal is used
    dom2 = applicability_domain(support, query)
    assert dom2["embedding_distance"].isna().all() and list(dom2["in_domain"]) == [True, False]
