"""Regression metrics: point predictions (R², RMSE, Spearman) and Gaussian predictive distributions.

Point metrics take ``(y_true, mean)``; the Gaussian ones ``(y_true, mean, std)``, all shape
``[n]``. Central intervals are ``mean -/+ z * std`` (:func:`central_interval`); coverage and
width of any interval are :func:`interval_coverage` and :func:`interval_width`.
:func:`regression_calibration_curve` lives here rather than in
:mod:`sciml.metrics.calibration` because it is built from these interval functions and
takes regression inputs; the calibration module bins binary probabilities only.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from sciml.losses import gaussian_log_prob
from sciml.metrics._checks import check_finite, check_interval, check_level, check_std

__all__ = [
    "r2",
    "rmse",
    "spearman",
    "REGRESSION_METRICS",
    "gaussian_nll",
    "central_interval",
    "interval_coverage",
    "interval_width",
    "coverage90",
    "width90",
    "regression_calibration_curve",
    "GAUSSIAN_METRICS",
    "std_error_spearman",
    "UNCERTAINTY_METRICS",
]


# --------------------------------------------------------------------------------------
# Point predictions
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
    y, m = check_finite(y_true=y_true, mean=mean)
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
    y, m = check_finite(y_true=y_true, mean=mean)
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
    y, m = check_finite(y_true=y_true, mean=mean)
    if y.size < 2 or np.ptp(y) == 0.0 or np.ptp(m) == 0.0:
        return float("nan")
    return float(stats.spearmanr(y, m).statistic)


def std_error_spearman(y_true, mean, std) -> float:
    """Spearman correlation between the predicted spread and the absolute error: does uncertainty track error?

    Parameters
    ----------
    y_true : array-like of float, shape ``[n]``
        Targets (0/1 labels for classification).
    mean : array-like of float, shape ``[n]``
        Point predictions (``P(active)`` for classification).
    std : array-like of float, shape ``[n]``
        The prediction's standard deviation (for classification the epistemic spread of
        ``P(active)``), ``>= 0``.

    Returns
    -------
    float
        ``spearman(std, |y_true - mean|)`` in ``[-1, 1]``: above 0 when the molecules the model
        is less sure of are those it gets more wrong; ``NaN`` if ``n < 2`` or either is constant
        (e.g. a learner without a per-molecule spread).
    """
    y, m, s = check_finite(y_true=y_true, mean=mean, std=std)
    check_std(s, strict=False)
    return spearman(np.abs(y - m), s)


#: Regression point metrics, name -> ``f(y_true, mean) -> float``.
REGRESSION_METRICS: dict[str, Callable[..., float]] = {
    "r2": r2,
    "rmse": rmse,
    "spearman": spearman,
}


# --------------------------------------------------------------------------------------
# Gaussian predictive distributions
# --------------------------------------------------------------------------------------


def gaussian_nll(y_true, mean, std) -> float:
    """Mean negative log-likelihood of the targets under independent Gaussians.

    ``mean_i [ 0.5*log(2*pi) + log(std_i) + 0.5*((y_i - mean_i) / std_i)**2 ]``, i.e.
    ``-mean(sciml.losses.gaussian_log_prob(y, mean, var=std**2))``.

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
    y, m, s = check_finite(y_true=y_true, mean=mean, std=std)
    check_std(s, strict=True)
    if y.size == 0:
        return float("nan")
    return float(-np.mean(gaussian_log_prob(y, m, var=s * s)))


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
    m, s = check_finite(mean=mean, std=std)
    check_std(s, strict=False)
    z = float(stats.norm.ppf(0.5 + check_level(level) / 2.0))
    return m - z * s, m + z * s


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
    y, lo, hi = check_interval(lower, upper, y_true=y_true)
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
    lo, hi = check_interval(lower, upper)
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
    y, m, s = check_finite(y_true=y_true, mean=mean, std=std)
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
    y, m, s = check_finite(y_true=y_true, mean=mean, std=std)
    check_std(s, strict=False)
    lv = np.asarray(levels, dtype=np.float64).ravel()
    for level in lv:
        check_level(level)
    obs = [interval_coverage(y, *central_interval(m, s, level)) for level in lv]
    return pd.DataFrame({"level": lv, "observed_coverage": np.asarray(obs, dtype=np.float64)})


#: Gaussian predictive metrics, name -> ``f(y_true, mean, std) -> float``.
#: See also :func:`width90` (``f(mean, std)``), reported alongside ``coverage90``.
GAUSSIAN_METRICS: dict[str, Callable[..., float]] = {
    "nll": gaussian_nll,
    "coverage90": coverage90,
}


#: Whether the predicted spread tracks the error, both task kinds, name -> ``f(y_true, mean, std) -> float``.
UNCERTAINTY_METRICS: dict[str, Callable[..., float]] = {"std_error_rho": std_error_spearman}
