"""sciml.metrics.bootstrap_interval and paired_bootstrap_difference: percentile intervals over resampled compounds."""

from __future__ import annotations

import numpy as np
import pytest

from sciml.metrics import bootstrap_interval, paired_bootstrap_difference, roc_auc, spearman


def test_interval_brackets_the_figure_and_narrows_with_more_compounds():
    rng = np.random.default_rng(1)
    widths = []
    for n in (30, 300):
        y = np.tile([0.0, 1.0], n // 2)
        s = y * 0.5 + rng.normal(scale=0.5, size=n)
        lo, hi = bootstrap_interval(roc_auc, y, s, seed=0)
        assert lo < roc_auc(y, s) < hi
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 2  # about 1/sqrt(10) as wide


def test_seeded_and_undefined_cases():
    y, s = np.array([0.0, 1.0, 0.0, 1.0, 1.0]), np.array([0.1, 0.9, 0.3, 0.4, 0.8])
    assert bootstrap_interval(roc_auc, y, s, seed=3) == bootstrap_interval(roc_auc, y, s, seed=3)
    assert np.isnan(bootstrap_interval(roc_auc, np.ones(5), s)).all()  # one class: never defined
    assert np.isnan(bootstrap_interval(spearman, [1.0], [2.0])).all()
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(roc_auc, y, s, level=1.0)
    with pytest.raises(ValueError, match="equal length"):
        bootstrap_interval(roc_auc, y, s[:3])


def test_paired_difference_separates_a_better_model_and_not_a_copy():
    rng = np.random.default_rng(2)
    y = np.tile([0.0, 1.0], 100)
    good = y + rng.normal(scale=0.5, size=y.size)
    poor = y + rng.normal(scale=3.0, size=y.size)
    d, lo, hi = paired_bootstrap_difference(roc_auc, y, good, poor, seed=0)
    assert d == pytest.approx(roc_auc(y, good) - roc_auc(y, poor))
    assert 0 < lo < d < hi  # clearly ahead
    d, lo, hi = paired_bootstrap_difference(roc_auc, y, good, good, seed=0)
    assert d == lo == hi == 0.0  # the same model: no difference in any resample
    d2 = paired_bootstrap_difference(roc_auc, y, poor, good, seed=0)
    assert d2[2] < 0  # the other way round: behind


def test_paired_difference_drops_missing_scores_and_checks_shapes():
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    a = np.array([0.1, 0.9, np.nan, 0.8, 0.2, 0.7])
    b = np.array([0.5, 0.5, 0.5, np.nan, 0.5, 0.6])
    d, _, _ = paired_bootstrap_difference(roc_auc, y, a, b, n_boot=50)
    keep = [0, 1, 4, 5]
    assert d == pytest.approx(roc_auc(y[keep], a[keep]) - roc_auc(y[keep], b[keep]))
    assert np.isnan(paired_bootstrap_difference(roc_auc, y[:1], a[:1], b[:1])).all()
    with pytest.raises(ValueError, match="equal length"):
        paired_bootstrap_difference(roc_auc, y, a[:3], b)
