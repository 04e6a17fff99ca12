"""Gaussian-process baseline on Morgan fingerprints, fitted on the support set alone.

:class:`TanimotoGPBaseline` (``"gp_tanimoto"``): an exact GP with the Tanimoto kernel
(:func:`sciml.learners.gp.tanimoto_kernel`) on 2048-bit Morgan fingerprints (radius 2).

* ``task="classification"`` (default): :class:`~sciml.learners.gp.LaplaceGPClassifier`
  (probit likelihood, zero prior mean); its outputscale is fitted on the support set by
  maximising the Laplace approximate log marginal likelihood (the Tanimoto kernel has no
  other hyperparameter).
* ``task="regression"``: :class:`~sciml.learners.gp.ExactGP` on standardised targets;
  constant mean, outputscale and noise fitted by maximising the exact log marginal
  likelihood of the support set; the predictive distribution of a new measurement is
  Gaussian (latent variance + noise).

:func:`gp_prediction` turns a fitted GP of either kind into a
:class:`~sciml.learners.base.Prediction`; :class:`sciml.learners.dkgp.DeepKernelGPLearner`
uses it too.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import torch

from sciml.domains.molecules.fingerprints import morgan_fingerprints
from sciml.learners.base import FewShotLearner, Prediction, check_support
from sciml.learners.baselines import _check_features, _not_fitted
from sciml.learners.gp import ExactGP, LaplaceGPClassifier, probability_summary
from sciml.learners.registry import LEARNERS

__all__ = ["TanimotoGPBaseline", "gp_prediction", "check_support_targets"]

Task = Literal["classification", "regression"]


def _check_task(task: str) -> str:
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    return task


#: Kept for callers of the older name.
check_support_targets = check_support


def gp_prediction(gp: ExactGP | LaplaceGPClassifier, X, level: float = 0.9) -> Prediction:
    """Predictive summary of a fitted GP at query features ``X`` ``[m, d]``.

    * :class:`ExactGP`: ``mean``, ``std`` of a new observation (latent variance + noise),
      and the Gaussian central ``level`` interval.
    * :class:`LaplaceGPClassifier`: ``mean = P(y=1)`` (latent posterior averaged),
      ``std`` = standard deviation of ``p(y=1 | f)`` under the latent posterior (the
      epistemic spread of the probability, as :class:`Prediction` defines it for
      classification), ``lower``/``upper`` = central ``level`` interval of ``p(y=1 | f)``
      (see :func:`sciml.learners.gp.probability_summary`). The latent standard deviation
      itself is ``sqrt(gp.predict_latent(X)[1])``.

    All arrays float64 ``[m]``.
    """
    if isinstance(gp, ExactGP):
        from scipy.stats import norm

        mean, var = gp.predict(X, include_noise=True)
        mean = mean.cpu().numpy()
        std = var.sqrt().cpu().numpy()
        z = float(norm.ppf(0.5 + level / 2.0))
        return Prediction(mean=mean, std=std, lower=mean - z * std, upper=mean + z * std, level=level)
    mu, var = gp.predict_latent(X)
    p, std, lo, hi = probability_summary(mu, var, gp.likelihood, level)
    return Prediction(mean=p.cpu().numpy(), std=std.cpu().numpy(), lower=lo.cpu().numpy(), upper=hi.cpu().numpy(),
                      level=level)


class GPLearnerMixin:
    """Checks shared by learners that fit a GP on support features (``gp_`` holds it)."""

    @staticmethod
    def _support_xy(X, y, task: str) -> tuple[np.ndarray, np.ndarray]:
        """Validated support ``(X [n, d], y [n])`` for ``task``."""
        X = _check_features(X, "Support")
        y = check_support(y, task)
        if X.shape[0] != y.size:
            raise ValueError(f"Support features have {X.shape[0]} rows but there are {y.size} labels.")
        return X, y

    def _gp(self):
        gp = getattr(self, "gp_", None)
        if gp is None:
            raise _not_fitted(self)
        return gp

    def _query(self, X) -> np.ndarray:
        X = _check_features(X, "Query")
        n_support_cols = self._gp().X_.shape[1]
        if X.shape[1] != n_support_cols:
            raise ValueError(f"Query features have {X.shape[1]} columns but the support set had {n_support_cols}.")
        return X


@LEARNERS.register()
class TanimotoGPBaseline(GPLearnerMixin, FewShotLearner):
    """Exact GP with a Tanimoto kernel on Morgan fingerprints of the support set.

    Parameters
    ----------
    task : {"classification", "regression"}, default "classification"
    radius : int, default 2
        Morgan radius.
    n_bits : int, default 2048
        Fingerprint length.
    steps : int, default 50
        Adam steps on the (approximate) log marginal likelihood of the support set;
        0 keeps the initial hyperparameters (outputscale 1, and for regression noise
        0.1 and mean 0, in standardised units).
    lr : float, default 0.05
        Adam learning rate (on log hyperparameters).
    likelihood : {"probit", "logistic"}, default "probit"
        Classification likelihood.
    level : float, default 0.9
        Coverage level of the intervals in :meth:`predict_features`.

    Attributes
    ----------
    gp_ : ExactGP or LaplaceGPClassifier
        The GP fitted by the last :meth:`fit_features` (its ``X_`` holds the support
        fingerprints).
    """

    name: ClassVar[str] = "gp_tanimoto"
    description: ClassVar[str] = "exact GP with a Tanimoto kernel on Morgan fingerprints, support set alone"

    def __init__(self, task: Task = "classification", radius: int = 2, n_bits: int = 2048, steps: int = 50,
                 lr: float = 0.05, likelihood: Literal["probit", "logistic"] = "probit", level: float = 0.9):
        self.task = _check_task(task)
        self.radius = int(radius)
        self.n_bits = int(n_bits)
        if int(steps) < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        self.steps = int(steps)
        self.lr = float(lr)
        if likelihood not in ("probit", "logistic"):
            raise ValueError(f"likelihood must be 'probit' or 'logistic', got {likelihood!r}")
        self.likelihood = likelihood
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
        self.level = float(level)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(task={self.task!r}, radius={self.radius}, n_bits={self.n_bits}, "
                f"steps={self.steps}, lr={self.lr}, likelihood={self.likelihood!r}, level={self.level})")

    def featurize(self, smiles: list[str]) -> np.ndarray:
        """Morgan bit fingerprints, ``uint8`` ``[n, n_bits]``; ValueError names any invalid SMILES."""
        return morgan_fingerprints(smiles, radius=self.radius, n_bits=self.n_bits)

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "TanimotoGPBaseline":
        """Fit a fresh GP on support fingerprints ``X`` ``[n_support, d]`` and labels ``y`` ``[n_support]``."""
        X, y = self._support_xy(X, y, self.task)
        if self.task == "classification":
            gp = LaplaceGPClassifier("tanimoto", likelihood=self.likelihood)
        else:
            gp = ExactGP("tanimoto")
        with torch.enable_grad():
            self.gp_ = gp.fit(X, y, steps=self.steps, lr=self.lr)
        return self

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """``P(y=1)`` for query fingerprints ``X`` ``[n_query, d]`` -> float64 ``[n_query]`` (classification only)."""
        if self.task != "classification":
            raise ValueError("predict_proba is for task='classification': use predict_features for regression")
        return self.predict_features(X).mean

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Predictive summary (see :func:`gp_prediction`) for query fingerprints ``X`` ``[n_query, d]``."""
        return gp_prediction(self._gp(), self._query(X), self.level)
