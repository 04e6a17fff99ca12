"""Capping large validation queries: proportional subsample vs keeping the rarer class."""

from __future__ import annotations

import numpy as np
import pytest

from assays.episodes import Episode
from pipelines.train import _cap_query


def _episode(n_pos: int, n_neg: int) -> Episode:
    y = np.r_[np.ones(n_pos), np.zeros(n_neg)]
    rng = np.random.default_rng(0)
    y = y[rng.permutation(len(y))]
    return Episode("t", np.arange(1000, 1004), np.arange(len(y)), np.array([1.0, 1.0, 0.0, 0.0]), y)


def test_proportional_cap_keeps_the_natural_ratio():
    (ep,) = _cap_query([_episode(20, 14_000)], cap=2000, seed=0)
    assert len(ep.query_idx) == 2000
    assert ep.query_y.sum() == round(2000 * 20 / 14_020)  # 3 actives: a noisy ROC-AUC


@pytest.mark.parametrize("n_pos,n_neg,want_pos", [(20, 14_000, 20), (14_000, 20, 1980), (5000, 6000, 1000)])
def test_keep_rare_keeps_every_molecule_of_the_rarer_class(n_pos, n_neg, want_pos):
    (ep,) = _cap_query([_episode(n_pos, n_neg)], cap=2000, seed=0, keep_rare=True)
    assert len(ep.query_idx) == 2000 and ep.query_y.sum() == want_pos
    assert np.all(np.diff(ep.query_idx) > 0)  # a subset of the query, in order, no repeats
    full = _episode(n_pos, n_neg)
    assert np.array_equal(full.query_y[ep.query_idx], ep.query_y)


def test_small_queries_and_regression_are_unchanged():
    small = _episode(5, 50)
    assert _cap_query([small], cap=2000, seed=0, keep_rare=True)[0] is small
    (ep,) = _cap_query([_episode(20, 3000)], cap=100, seed=0, task="regression", keep_rare=True)
    assert len(ep.query_idx) == 100
