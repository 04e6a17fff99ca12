"""Evaluation metrics for few-shot classification episodes.

Every metric takes ``(y_true, score)`` as 1-D arrays of equal length ``[n]`` and
returns a Python ``float``. Metrics that are undefined on an episode (e.g. ROC-AUC
when the query set holds one class) return ``NaN`` instead of raising, so that
aggregations over many episodes can use ``np.nanmean`` and count the gaps.

To add a metric (regression, calibration, ...), write a function with the same
signature and register it in :data:`METRICS` (or a new registry for another task
type); :func:`classification_report` evaluates every entry of ``METRICS``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

__all__ = [
    "roc_auc",
    "average_precision",
    "delta_auprc",
    "classification_report",
    "METRICS",
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
