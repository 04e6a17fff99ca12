"""sciml.metrics.bootstrap_interval: percentile intervals over resampled compounds."""

from __future__ import annotations

import numpy as np
import pytest

from sciml.metrics import bootstrap_interval, roc_auc, spearman


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
