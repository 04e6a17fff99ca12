"""Evaluation metrics for few-shot episodes: classification, calibration, regression, uncertainty.

Every metric takes 1-D arrays of equal length ``[n]`` and returns a Python ``float``.
Metrics that are undefined on an episode (e.g. ROC-AUC when the query set holds one
class, R^2 when the targets are constant, anything on an empty query) return ``NaN``
instead of raising, so that aggregations over many episodes can use ``np.nanmean`` and
count the gaps. Malformed inputs (length mismatch, non-finite values, labels outside
{0, 1}, probabilities outside [0, 1], negative standard deviations, ``lower > upper``)
raise ``ValueError``.

Registries (name -> function):

* :data:`METRICS` -- classification ranking metrics, ``f(y_true, prob)``;
  :func:`classification_report` and ``pipelines.evaluate`` iterate over it.
* :data:`CLASSIFICATION_CALIBRATION` -- ``ece``, ``brier``, ``f(y_true, prob)``.
* :data:`REGRESSION_METRICS` -- ``r2``, ``rmse``, ``spearman``, ``f(y_true, mean)``.
* :data:`GAUSSIAN_METRICS` -- ``nll``, ``coverage90``, ``f(y_true, mean, std)``.
  :func:`width90` (``f(mean, std)``, no targets) is kept out of it because its
  signature differs; call it separately.

To add a metric, write a function with the signature of its registry and register it
there (or in a new registry for another task type).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

__all__ = [
    # classification ranking
    "roc_auc",
    "average_precision",
    "delta_auprc",
    "classification_report",
    "METRICS",
    # classification calibration
    "brier",
    "ece",
    "reliability_curve",
    "CLASSIFICATION_CALIBRATION",
    # regression point metrics
    "r2",
    "rmse",
    "spearman",
    "REGRESSION_METRICS",
    # Gaussian predictive distributions
    "gaussian_nll",
    "central_interval",
    "interval_coverage",
    "interval_width",
    "coverage90",
    "width90",
    "regression_calibration_curve",
    "GAUSSIAN_METRICS",
]


def _check_binary(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(y_true, score)`` as float64 1-D arrays of equal length ``[n]``."""
    y = np.asarray(y_true, dtype=np.float64).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true and score must have the same length, got {y.size} and {s.size}.")
    if not np.isin(y, (0.0, 1.0)).all():
        bad = np.flatnonzero(~np.isin(y, (0.0, 1.0)))[:10].tolist()
        raise ValueError(f"y_true must contain only 0 and 1; rows {bad} do not.")
    if not np.isfinite(s).all():
        bad = np.flatnonzero(~np.isfinite(s))[:10].tolist()
        raise ValueError(f"score contains NaN/inf at rows {bad}.")
    return y, s


def _has_both_classes(y: np.ndarray) -> bool:
    return y.size > 0 and 0.0 < y.sum() < y.size


def _check_prob(y_true, prob) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_check_binary` plus ``prob`` in ``[0, 1]``."""
    y, p = _check_binary(y_true, prob)
    if ((p < 0.0) | (p > 1.0)).any():
        bad = np.flatnonzero((p < 0.0) | (p > 1.0))[:10].tolist()
        raise ValueError(f"prob must lie in [0, 1]; rows {bad} do not.")
    return y, p


def _check_finite_arrays(**arrays) -> list[np.ndarray]:
    """Return the keyword arrays as float64 1-D arrays; raise unless all are finite and of one length."""
    out = [np.asarray(a, dtype=np.float64).ravel() for a in arrays.values()]
    names = list(arrays)
    sizes = [a.size for a in out]
    if len(set(sizes)) > 1:
        desc = ", ".join(f"{n}={s}" for n, s in zip(names, sizes))
        raise ValueError(f"inputs must have the same length, got {desc}.")
    for name, a in zip(names, out):
        if not np.isfinite(a).all():
            bad = np.flatnonzero(~np.isfinite(a))[:10].tolist()
            raise ValueError(f"{name} contains NaN/inf at rows {bad}.")
    return out


def _check_std(std: np.ndarray, *, strict: bool) -> None:
    bad_mask = std <= 0.0 if strict else std < 0.0
    if bad_mask.any():
        bad = np.flatnonzero(bad_mask)[:10].tolist()
        need = "> 0" if strict else ">= 0"
        raise ValueError(f"std must be {need}; rows {bad} are not.")


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}.")
    return level


# --------------------------------------------------------------------------------------
# Classification: ranking
# --------------------------------------------------------------------------------------


def roc_auc(y_true, score) -> float:
    """Area under the ROC curve.

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape ``[n]``
        Binary labels.
    score : array-like of float, shape ``[n]``
        Higher means more likely positive (probabilities or any monotone score).

    Returns
    -------
    float
        ROC-AUC in ``[0, 1]`` (ties count one half); ``NaN`` if ``y_true`` is empty or
        contains only one class.
    """
    y, s = _check_binary(y_true, score)
    if not _has_both_classes(y):
        return float("nan")
    return float(roc_auc_score(y, s))


def average_precision(y_true, score) -> float:
    """Average precision (area under the precision-recall curve, step interpolation).

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape ``[n]``
        Binary labels.
    score : array-like of float, shape ``[n]``
        Higher means more likely positive.

    Returns
    -------
    float
        Average precision in ``[0, 1]`` as computed by
        :func:`sklearn.metrics.average_precision_score`; ``NaN`` if ``y_true`` is empty
        or contains only one class.
    """
    y, s = _check_binary(y_true, score)
    if not _has_both_classes(y):
        return float("nan")
    return float(average_precision_score(y, s))


def delta_auprc(y_true, score) -> float:
    """Average precision minus the fraction of positives (the AP of a random ranking).

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape ``[n]``
        Binary labels.
    score : array-like of float, shape ``[n]``
        Higher means more likely positive.

    Returns
    -------
    float
        ``average_precision - mean(y_true)``, in ``[-prevalence, 1 - prevalence]``:
        0 for an uninformative (e.g. constant) score, ``1 - prevalence`` for a perfect
        ranking; ``NaN`` if ``y_true`` is empty or contains only one class.
    """
    y, s = _check_binary(y_true, score)
    if not _has_both_classes(y):
        return float("nan")
    return float(average_precision_score(y, s) - y.mean())


#: Classification metrics evaluated by :func:`classification_report`, name -> ``f(y_true, score) -> float``.
METRICS: dict[str, Callable[..., float]] = {
    "roc_auc": roc_auc,
    "delta_auprc": delta_auprc,
}


def classification_report(y_true, prob) -> dict[str, float]:
    """Every metric in :data:`METRICS` for one set of predictions.

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape ``[n]``
        Binary labels.
    prob : array-like of float, shape ``[n]``
        Predicted probability of the positive class.

    Returns
    -------
    dict[str, float]
        ``{metric_name: value}`` in the order of :data:`METRICS` (currently
        ``roc_auc`` and ``delta_auprc``); values may be ``NaN`` (see each metric).
    """
    y, p = _check_binary(y_true, prob)
    return {name: float(fn(y, p)) for name, fn in METRICS.items()}


# --------------------------------------------------------------------------------------
# Classification: calibration
# --------------------------------------------------------------------------------------


def brier(y_true, prob) -> float:
    """Brier score, the mean squared difference between probability and label.

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape ``[n]``
        Binary labels.
    prob : array-like of float in ``[0, 1]``, shape ``[n]``
        Predicted probability of the positive class.

    Returns
    -------
    float
        ``mean((prob - y_true) ** 2)`` in ``[0, 1]``, lower is better (0.25 for a
        constant 0.5); ``NaN`` if the input is empty. Defined for one-class sets.
    """
    y, p = _check_prob(y_true, prob)
    if y.size == 0:
        return float("nan")
    return float(np.mean((p - y) ** 2))


def _bin_edges(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """Bin edges, shape ``[n_edges]`` (``n_edges - 1`` bins, possibly 0)."""
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
    y, p = _check_prob(y_true, prob)
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


# --------------------------------------------------------------------------------------
# Regression: point predictions
# --------------------------------------------------------------------------------------


def r2(y_true, mean) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``.

    Parameters
    ----------
    y_true : array-like of float, shape ``[n]``
        Targets.
    mean : array-like of float, shape ``[n]``
        Point predictions.

    Returns
    -------
    float
        R^2 in ``(-inf, 1]``: 1 for perfect predictions, 0 for predicting
        ``mean(y_true)``; ``NaN`` if ``n < 2`` or ``y_true`` is constant.
    """
    y, m = _check_finite_arrays(y_true=y_true, mean=mean)
    if y.size < 2:
        return float("nan")
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0.0:
        return float("nan")
    return float(1.0 - np.sum((y - m) ** 2) / ss_tot)


def rmse(y_true, mean) -> float:
    """Root mean squared error.

    Parameters
    ----------
    y_true : array-like of float, shape ``[n]``
        Targets.
    mean : array-like of float, shape ``[n]``
        Point predictions.

    Returns
    -------
    float
        ``sqrt(mean((mean - y_true) ** 2))`` in the units of ``y_true``; ``NaN`` if the
        input is empty.
    """
    y, m = _check_finite_arrays(y_true=y_true, mean=mean)
    if y.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((m - y) ** 2)))


def spearman(y_true, mean) -> float:
    """Spearman rank correlation between targets and predictions.

    Parameters
    ----------
    y_true : array-like of float, shape ``[n]``
        Targets.
    mean : array-like of float, shape ``[n]``
        Point predictions (or any score).

    Returns
    -------
    float
        Rank correlation in ``[-1, 1]`` (average ranks for ties), via
        :func:`scipy.stats.spearmanr`; ``NaN`` if ``n < 2`` or either input is constant.
    """
    y, m = _check_finite_arrays(y_true=y_true, mean=mean)
    if y.size < 2 or np.ptp(y) == 0.0 or np.ptp(m) == 0.0:
        return float("nan")
    return float(stats.spearmanr(y, m).statistic)


#: Regression point metrics, name -> ``f(y_true, mean) -> float``.
REGRESSION_METRICS: dict[str, Callable[..., float]] = {
    "r2": r2,
    "rmse": rmse,
    "spearman": spearman,
}


# --------------------------------------------------------------------------------------
# Regression: Gaussian predictive distributions
# --------------------------------------------------------------------------------------

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def gaussian_nll(y_true, mean, std) -> float:
    """Mean negative log-likelihood of the targets under independent Gaussians.

    ``mean_i [ 0.5*log(2*pi) + log(std_i) + 0.5*((y_i - mean_i) / std_i)**2 ]``

    Parameters
    ----------
    y_true : array-like of float, shape ``[n]``
        Targets.
    mean : array-like of float, shape ``[n]``
        Predictive means.
    std : array-like of float, shape ``[n]``
        Predictive standard deviations, strictly positive.

    Returns
    -------
    float
        Mean NLL in nats (lower is better; ``0.5*log(2*pi) ~ 0.919`` for a standard
        normal evaluated at its mean); ``NaN`` if the input is empty.

    Raises
    ------
    ValueError
        On a length mismatch, non-finite values or ``std <= 0``.
    """
    y, m, s = _check_finite_arrays(y_true=y_true, mean=mean, std=std)
    _check_std(s, strict=True)
    if y.size == 0:
        return float("nan")
    z = (y - m) / s
    return float(np.mean(_HALF_LOG_2PI + np.log(s) + 0.5 * z * z))


def central_interval(mean, std, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Central ``level`` interval of independent Gaussians.

    Parameters
    ----------
    mean : array-like of float, shape ``[n]``
        Predictive means.
    std : array-like of float, shape ``[n]``
        Predictive standard deviations, ``>= 0``.
    level : float, default 0.9
        Nominal coverage, strictly between 0 and 1.

    Returns
    -------
    (lower, upper) : tuple of ndarray of float64, each shape ``[n]``
        ``mean -/+ z * std`` with ``z = scipy.stats.norm.ppf(0.5 + level / 2)``
        (``z ~ 1.6449`` for ``level=0.9``).
    """
    m, s = _check_finite_arrays(mean=mean, std=std)
    _check_std(s, strict=False)
    z = float(stats.norm.ppf(0.5 + _check_level(level) / 2.0))
    return m - z * s, m + z * s


def _check_interval(lower, upper, **extra) -> list[np.ndarray]:
    arrays = _check_finite_arrays(**extra, lower=lower, upper=upper)
    lo, hi = arrays[-2], arrays[-1]
    if (lo > hi).any():
        bad = np.flatnonzero(lo > hi)[:10].tolist()
        raise ValueError(f"lower must be <= upper; rows {bad} are not.")
    return arrays


def interval_coverage(y_true, lower, upper) -> float:
    """Fraction of targets inside their (closed) prediction interval.

    Parameters
    ----------
    y_true : array-like of float, shape ``[n]``
        Targets.
    lower, upper : array-like of float, shape ``[n]``
        Interval bounds, ``lower <= upper``.

    Returns
    -------
    float
        ``mean(lower <= y_true <= upper)`` in ``[0, 1]``; ``NaN`` if the input is empty.
    """
    y, lo, hi = _check_interval(lower, upper, y_true=y_true)
    if y.size == 0:
        return float("nan")
    return float(np.mean((lo <= y) & (y <= hi)))


def interval_width(lower, upper) -> float:
    """Mean width of prediction intervals.

    Parameters
    ----------
    lower, upper : array-like of float, shape ``[n]``
        Interval bounds, ``lower <= upper``.

    Returns
    -------
    float
        ``mean(upper - lower)`` in the units of the target; ``NaN`` if the input is empty.
    """
    lo, hi = _check_interval(lower, upper)
    if lo.size == 0:
        return float("nan")
    return float(np.mean(hi - lo))


def coverage90(y_true, mean, std) -> float:
    """Empirical coverage of the central 90 % Gaussian interval (ideal value 0.9).

    Parameters
    ----------
    y_true : array-like of float, shape ``[n]``
        Targets.
    mean : array-like of float, shape ``[n]``
        Predictive means.
    std : array-like of float, shape ``[n]``
        Predictive standard deviations, ``>= 0``.

    Returns
    -------
    float
        :func:`interval_coverage` of :func:`central_interval` at ``level=0.9``;
        ``NaN`` if the input is empty.
    """
    y, m, s = _check_finite_arrays(y_true=y_true, mean=mean, std=std)
    lo, hi = central_interval(m, s, 0.9)
    return interval_coverage(y, lo, hi)


def width90(mean, std) -> float:
    """Mean width of the central 90 % Gaussian interval, ``2 * 1.6449 * mean(std)``.

    Not in :data:`GAUSSIAN_METRICS` because it does not use the targets (signature
    ``f(mean, std)``); report it next to ``coverage90`` (sharpness vs. coverage).

    Parameters
    ----------
    mean : array-like of float, shape ``[n]``
        Predictive means (only validated; the width does not depend on them).
    std : array-like of float, shape ``[n]``
        Predictive standard deviations, ``>= 0``.

    Returns
    -------
    float
        Mean interval width in the units of the target; ``NaN`` if the input is empty.
    """
    lo, hi = central_interval(mean, std, 0.9)
    return interval_width(lo, hi)


def regression_calibration_curve(y_true, mean, std,
                                 levels=np.linspace(0.05, 0.95, 19)) -> pd.DataFrame:
    """Observed vs. nominal coverage of central Gaussian intervals (regression reliability diagram).

    Parameters
    ----------
    y_true : array-like of float, shape ``[n]``
        Targets.
    mean : array-like of float, shape ``[n]``
        Predictive means.
    std : array-like of float, shape ``[n]``
        Predictive standard deviations, ``>= 0``.
    levels : array-like of float, shape ``[L]``, default ``0.05, 0.10, ..., 0.95``
        Nominal coverages, each strictly between 0 and 1.

    Returns
    -------
    pandas.DataFrame
        Shape ``[L, 2]``, columns ``level`` (nominal) and ``observed_coverage`` (fraction
        of targets inside the central ``level`` interval; ``NaN`` for empty input). A
        calibrated model lies on the diagonal; below it means over-confident.
    """
    y, m, s = _check_finite_arrays(y_true=y_true, mean=mean, std=std)
    _check_std(s, strict=False)
    lv = np.asarray(levels, dtype=np.float64).ravel()
    for level in lv:
        _check_level(level)
    obs = []
    for level in lv:
        lo, hi = central_interval(m, s, level)
        obs.append(interval_coverage(y, lo, hi))
    return pd.DataFrame({"level": lv, "observed_coverage": np.asarray(obs, dtype=np.float64)})


#: Gaussian predictive metrics, name -> ``f(y_true, mean, std) -> float``.
#: See also :func:`width90` (``f(mean, std)``), reported alongside ``coverage90``.
GAUSSIAN_METRICS: dict[str, Callable[..., float]] = {
    "nll": gaussian_nll,
    "coverage90": coverage90,
}
