"""Post-hoc calibration fitted on validation tasks, applied to any learner's predictions.

Both maps need no labelled data beyond the support set at prediction time: their single
parameter is fitted once, after meta-training, on the query predictions of validation
episodes (tasks disjoint from training and test tasks), stored in the checkpoint's
``config.json`` under ``"calibration"``, and applied to every later prediction.

* Classification, **Platt scaling** (temperature scaling with a bias; Platt 1999,
  Guo et al. 2017): ``p' = sigmoid(a * logit(p) + b)`` with ``a`` (= 1/temperature) and
  ``b`` minimising the validation log loss. The bias matters in few-shot screening:
  supports are class-balanced while assays are mostly inactive, so raw probabilities
  centred on the support's 50 % base rate overstate activity; ``b`` learns the typical
  shift from validation assays.
* Regression, **interval scaling**: every interval half-width (and ``std``) is
  multiplied by ``s``, the ``level`` quantile over validation points of the factor each
  point would need to fall inside its central ``level`` interval, so validation coverage
  is ``level`` by construction. It works on asymmetric (particle-mixture) intervals as
  well as Gaussian ones.

A calibration is a plain dict: ``{"method": "platt", "slope": a, "bias": b, "base_rate": r}`` or
``{"method": "interval_scale", "scale": s, "level": 0.9}`` (plus ``n_points``, the
number of validation predictions it was fitted on); ``{}`` means none.

**Known hit rate** (classification, optional). Supports are class-balanced, so they say
nothing about how common actives are in the assay; Platt's bias can only learn the
*average* validation base rate ``r``. Where assays differ widely (SIDER: 8-92 %
positives) this leaves a per-assay gap that no score can close, because
``ECE >= |mean(p) - base rate|``. A user who knows the expected hit rate ``h`` of the
assay can pass it; probabilities are then moved to that prior by Bayes' rule (Saerens et
al. 2002): ``logit p'' = logit p' + logit h - logit r``, with ``r = 0.5`` for
uncalibrated probabilities from a balanced support. The shift is the same for every
molecule, so rankings (ROC-AUC) are unchanged and a molecule's probability does not
depend on which other molecules are scored with it.
"""

from __future__ import annotations

import numpy as np
from sciml.learners.base import Prediction

__all__ = ["fit_platt", "fit_interval_scale", "fit_calibration", "apply_calibration", "prior_shift"]

_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` elementwise, ``p`` clipped to ``[_EPS, 1 - _EPS]`` so the result is finite."""
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` elementwise, written with ``tanh`` so it does not overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit_platt(prob, y) -> tuple[float, float]:
    """``(a, b)`` minimising the log loss of ``sigmoid(a * logit(prob) + b)`` (``a`` clipped to [0.05, 20]).

    Parameters
    ----------
    prob : array-like ``[n]``
        Predicted ``P(y=1)``.
    y : array-like ``[n]``
        0/1 labels (both classes present).
    """
    from scipy.optimize import minimize

    z = _logit(prob)
    y = np.asarray(y, dtype=np.float64).ravel()
    if z.size == 0 or z.size != y.size:
        raise ValueError(f"need equally long, non-empty prob and y (got {z.size} and {y.size})")
    if len(np.unique(y)) < 2:
        raise ValueError("Platt scaling needs both classes among the validation labels")

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        q = np.clip(_sigmoid(w[0] * z + w[1]), 1e-12, 1 - 1e-12)
        r = q - y
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log1p(-q))), np.array([np.mean(r * z), np.mean(r)])

    res = minimize(nll, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=[(0.05, 20.0), (-20.0, 20.0)])
    return float(res.x[0]), float(res.x[1])


def fit_interval_scale(y, mean, lower, upper, level: float = 0.9) -> float:
    """Factor ``s`` for the interval half-widths so that a fraction ``level`` of ``y`` is covered.

    Parameters
    ----------
    y, mean, lower, upper : array-like ``[n]``
        Targets, predictive means and central ``level`` intervals (``lower <= mean <= upper``).
    level : float
        Target coverage.

    Returns
    -------
    float
        The ``ceil(level * n)``-th smallest of the factors ``(y - mean) / (upper - mean)``
        (points above the mean) and ``(mean - y) / (mean - lower)`` (points below): the
        smallest scale under which at least a fraction ``level`` of the points is covered.
    """
    y, m, lo, hi = (np.asarray(a, dtype=np.float64).ravel() for a in (y, mean, lower, upper))
    if not (y.size == m.size == lo.size == hi.size) or y.size == 0:
        raise ValueError("need equally long, non-empty y, mean, lower and upper")
    above = y >= m
    half = np.where(above, hi - m, m - lo)
    need = np.abs(y - m) / np.maximum(half, 1e-12)
    k = min(need.size, max(1, int(np.ceil(level * need.size - 1e-9))))
    return float(np.sort(need)[k - 1])  # smallest factor that covers at least a fraction `level`


def fit_calibration(task: str, predictions: list[tuple[Prediction, np.ndarray]], level: float = 0.9) -> dict:
    """Fit the calibration of ``task`` on validation ``(prediction, y)`` pairs (one per episode).

    Parameters
    ----------
    task : {"classification", "regression"}
        Platt scaling for classification, interval scaling otherwise.
    predictions : list of (Prediction, ndarray)
        Per validation episode, the query prediction (``[n_e]`` arrays) and its targets ``[n_e]``;
        all episodes are pooled.
    level : float, default 0.9
        Interval coverage the regression scale is fitted for.

    Returns
    -------
    dict
        The calibration (see the module docstring); ``{}`` for no predictions.
    """
    if not predictions:
        return {}
    y = np.concatenate([np.asarray(t, dtype=np.float64).ravel() for _, t in predictions])
    if task == "classification":
        p = np.concatenate([pr.mean for pr, _ in predictions])
        a, b = fit_platt(p, y)
        return {"method": "platt", "slope": a, "bias": b, "base_rate": float(y.mean()), "n_points": int(y.size)}
    parts = [(pr.mean, *pr.interval(level)) for pr, _ in predictions]
    mean, lo, hi = (np.concatenate(a) for a in zip(*parts))
    return {"method": "interval_scale", "scale": fit_interval_scale(y, mean, lo, hi, level), "level": level,
            "n_points": int(y.size)}


def prior_shift(calibration: dict | None, hit_rate: float | None) -> float:
    """Logit shift that moves classification probabilities to the prior ``hit_rate`` (0 for ``None``).

    The reference prior is the calibration's ``base_rate`` (Platt scaling, the validation
    base rate it was fitted on) or 0.5 without calibration (balanced support).

    Raises
    ------
    ValueError
        ``hit_rate`` outside (0, 1), or a Platt calibration without a stored ``base_rate``
        (refit it with ``sciml calibrate``, which records it).
    """
    if hit_rate is None:
        return 0.0
    h = float(hit_rate)
    if not 0.0 < h < 1.0:
        raise ValueError(f"the hit rate must be a fraction strictly between 0 and 1, got {hit_rate!r}")
    method = (calibration or {}).get("method")
    if method is None:
        ref = 0.5
    elif method == "platt":
        if "base_rate" not in calibration:
            raise ValueError("this checkpoint's Platt calibration does not record the validation base rate, so a "
                             "hit rate cannot be applied; refit it with `sciml calibrate --checkpoint ...`")
        ref = float(calibration["base_rate"])
    else:
        raise ValueError(f"a hit rate applies to classification only, not to a {method!r} calibration")
    return float(_logit(np.array(h)) - _logit(np.array(ref)))


def apply_calibration(pred: Prediction, calibration: dict | None, hit_rate: float | None = None) -> Prediction:
    """``pred`` with ``calibration`` applied (a new object; ``pred`` is unchanged). ``{}``/``None``: a copy.

    Parameters
    ----------
    pred : Prediction
        Mean, std and interval, each ``[n]``.
    calibration : dict or None
        As returned by :func:`fit_calibration`.
    hit_rate : float, optional
        Classification only: the expected fraction of actives among the molecules scored;
        probabilities are shifted to it (see :func:`prior_shift`).

    Returns
    -------
    Prediction
        Arrays ``[n]``: Platt maps mean and interval bounds through ``sigmoid(a logit + b)``
        (std by the delta method); interval scaling multiplies std and the half-widths by ``s``.
    """
    mean, std = np.asarray(pred.mean, dtype=np.float64), np.asarray(pred.std, dtype=np.float64)
    lower, upper = pred.interval()
    method = (calibration or {}).get("method")
    shift = prior_shift(calibration, hit_rate)
    if method is None and hit_rate is None:
        return Prediction(mean=mean.copy(), std=std.copy(), lower=lower.copy(), upper=upper.copy(), level=pred.level)
    if method in (None, "platt"):
        a, b = (float(calibration["slope"]), float(calibration["bias"])) if method else (1.0, 0.0)
        b += shift
        new = _sigmoid(a * _logit(mean) + b)
        # delta method: d p' / d p = a p'(1 - p') / (p (1 - p))
        new_std = std * a * new * (1 - new) / np.clip(mean * (1 - mean), _EPS, None)
        return Prediction(mean=new, std=new_std, lower=_sigmoid(a * _logit(lower) + b),
                          upper=_sigmoid(a * _logit(upper) + b), level=pred.level)
    if method == "interval_scale":
        s = float(calibration["scale"])
        return Prediction(mean=mean.copy(), std=std * s, lower=mean - s * (mean - lower), upper=mean + s * (upper - mean),
                          level=pred.level)
    raise ValueError(f"unknown calibration method {method!r}")
