"""Binary classification metrics: ranking (ROC-AUC, average precision, delta-AUPRC) and the Brier score.

Each takes ``y_true`` (0/1 labels) and a score or probability, both shape ``[n]``, and
returns a ``float``; ranking metrics are ``NaN`` when the labels hold fewer than two classes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from sciml.metrics._checks import check_binary, check_prob, has_both_classes

__all__ = ["roc_auc", "average_precision", "delta_auprc", "classification_report", "METRICS", "brier"]


def _ranking(score_fn: Callable[[np.ndarray, np.ndarray], float], y_true, score) -> float:
    """``score_fn(y [n], score [n])`` on validated inputs; ``NaN`` unless both classes are present."""
    y, s = check_binary(y_true, score)
    if not has_both_classes(y):
        return float("nan")
    return float(score_fn(y, s))


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
    return _ranking(roc_auc_score, y_true, score)


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
    return _ranking(average_precision_score, y_true, score)


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
    return _ranking(lambda y, s: average_precision_score(y, s) - y.mean(), y_true, score)


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
        ``{metric_name: value}`` in the order of :data:`METRICS` (``roc_auc`` and
        ``delta_auprc``); values may be ``NaN`` (see each metric).
    """
    y, p = check_binary(y_true, prob)
    return {name: float(fn(y, p)) for name, fn in METRICS.items()}


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
    y, p = check_prob(y_true, prob)
    if y.size == 0:
        return float("nan")
    return float(np.mean((p - y) ** 2))
