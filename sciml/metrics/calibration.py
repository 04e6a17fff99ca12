"""Calibration of binary probabilities: expected calibration error, reliability curve, and their binning.

Both :func:`ece` and :func:`reliability_curve` read the same bins (:func:`_binned`), so a
reliability diagram shows exactly the gaps that ECE averages.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from sciml.metrics._checks import check_prob
from sciml.metrics.classification import brier

__all__ = ["ece", "reliability_curve", "CLASSIFICATION_CALIBRATION"]


def _bin_edges(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """Bin edges of the probabilities ``p [n]``, shape ``[n_edges]`` (``n_edges - 1`` bins, possibly 0)."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, int(n_bins) + 1)
    if strategy == "quantile":
        if p.size == 0:
            return np.empty(0)
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, int(n_bins) + 1)))
        if edges.size == 1:  # all probabilities equal: one degenerate bin [p, p]
            edges = np.repeat(edges, 2)
        return edges
    raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}.")


def _binned(y_true, prob, n_bins: int, strategy: str):
    """Per-bin ``(edges [b+1], count [b], mean_prob [b], frac_positive [b])``; empty bins hold NaN means."""
    y, p = check_prob(y_true, prob)
    edges = _bin_edges(p, n_bins, strategy)
    n_b = max(edges.size - 1, 0)
    if n_b == 0:
        empty = np.empty(0)
        return edges, empty.astype(np.int64), empty, empty
    # bins are [e_k, e_{k+1}) except the last, which is closed [e_{b-1}, e_b]
    idx = np.searchsorted(edges[1:-1], p, side="right")
    count = np.bincount(idx, minlength=n_b)
    sum_p = np.bincount(idx, weights=p, minlength=n_b)
    sum_y = np.bincount(idx, weights=y, minlength=n_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(count > 0, sum_p / count, np.nan)
        frac = np.where(count > 0, sum_y / count, np.nan)
    return edges, count, mean_p, frac


def ece(y_true, prob, n_bins: int = 15, strategy: str = "uniform") -> float:
    """Expected calibration error of binary probabilities.

    ``ECE = sum_k (n_k / n) * |mean(prob in bin k) - mean(y_true in bin k)|`` over the
    non-empty bins ``k``.

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape ``[n]``
        Binary labels.
    prob : array-like of float in ``[0, 1]``, shape ``[n]``
        Predicted probability of the positive class.
    n_bins : int, default 15
        Number of bins.
    strategy : {"uniform", "quantile"}, default "uniform"
        ``"uniform"``: equal-width bins on ``[0, 1]``. ``"quantile"``: equal-mass bins
        whose edges are the empirical quantiles of ``prob`` (tied probabilities always
        share a bin, so there may be fewer than ``n_bins`` bins). Bins are half-open
        ``[lo, hi)`` except the last, which is closed.

    Returns
    -------
    float
        ECE in ``[0, 1]``, 0 for perfect calibration within every bin; ``NaN`` if the
        input is empty. Defined for one-class sets.
    """
    _, count, mean_p, frac = _binned(y_true, prob, n_bins, strategy)
    n = int(count.sum())
    if n == 0:
        return float("nan")
    nz = count > 0
    return float(np.sum(count[nz] / n * np.abs(mean_p[nz] - frac[nz])))


def reliability_curve(y_true, prob, n_bins: int = 15, strategy: str = "uniform") -> pd.DataFrame:
    """Per-bin data for a reliability diagram (the bins of :func:`ece`).

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape ``[n]``
        Binary labels.
    prob : array-like of float in ``[0, 1]``, shape ``[n]``
        Predicted probability of the positive class.
    n_bins : int, default 15
        Number of bins.
    strategy : {"uniform", "quantile"}, default "uniform"
        Binning, as in :func:`ece`.

    Returns
    -------
    pandas.DataFrame
        One row per bin, shape ``[n_bins_used, 5]``, columns ``bin_lower, bin_upper``
        (float edges), ``mean_prob`` (mean predicted probability), ``frac_positive``
        (observed fraction of positives) and ``count`` (int). ``"uniform"`` always gives
        ``n_bins`` rows, empty bins having ``count == 0`` and ``NaN`` means (drop them
        before plotting); ``"quantile"`` gives one row per distinct-edge bin (none for
        empty input).
    """
    edges, count, mean_p, frac = _binned(y_true, prob, n_bins, strategy)
    n_b = count.size
    return pd.DataFrame({
        "bin_lower": edges[:n_b].astype(np.float64),
        "bin_upper": edges[1:n_b + 1].astype(np.float64),
        "mean_prob": mean_p.astype(np.float64),
        "frac_positive": frac.astype(np.float64),
        "count": count.astype(np.int64),
    })


#: Calibration metrics for binary probabilities, name -> ``f(y_true, prob) -> float`` (lower is better).
CLASSIFICATION_CALIBRATION: dict[str, Callable[..., float]] = {
    "ece": ece,
    "brier": brier,
}
