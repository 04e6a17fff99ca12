"""Acquisition functions on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from sciml.acquisition import ACQUISITIONS, acquisition_scores, expected_improvement


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
