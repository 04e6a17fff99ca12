"""Gaussian-process baseline on Morgan fingerprints, fitted on the support set alone.

:class:`TanimotoGPBaseline` (``"gp_tanimoto"``): an exact GP with the Tanimoto kernel
(:func:`sciml.learners.gp.tanimoto_kernel`) on 2048-bit Morgan fingerprints (radius 2);
molecules only (``domains = ("molecules",)``).

* ``task="classification"`` (default): :class:`~sciml.learners.gp.LaplaceGPClassifier`
  (probit likelihood, zero prior mean); its outputscale is fitted on the support set by
  maximising the Laplace approximate log marginal likelihood (the Tanimoto kernel has no
  other hyperparameter).
* ``task="regression"``: :class:`~sciml.learners.gp.ExactGP` on standardised targets;
  constant mean, outputscale and noise fitted by maximising the exact log marginal
  likelihood of the support set; the predictive distribution of a new measurement is
  Gaussian (latent variance + noise).

Predictions go through :func:`sciml.learners.gp.learner.gp_prediction`; the adapted
state (support fingerprints, labels, fitted hyperparameters) through
:class:`~sciml.learners.gp.learner.GPLearnerMixin`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from sciml.domains.molecules.fingerprints import morgan_fingerprints
from sciml.learners.base import FewShotLearner
from sciml.learners.gp import ExactGP, LaplaceGPClassifier
from sciml.learners.gp.learner import GPLearnerMixin
from sciml.learners.registry import LEARNERS

__all__ = ["TanimotoGPBaseline"]

Task = Literal["classification", "regression"]


def _check_task(task: str) -> str:
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    return task


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
    n_support_ : int
    """

    name: ClassVar[str] = "gp_tanimoto"
    description: ClassVar[str] = "exact GP with a Tanimoto kernel on Morgan fingerprints, support set alone"
    domains: ClassVar[tuple[str, ...]] = ("molecules",)

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

    def featurize(self, inputs: list[str]) -> np.ndarray:
        """Morgan bit fingerprints of SMILES, ``uint8`` ``[n, n_bits]``; ValueError names any invalid SMILES."""
        return morgan_fingerprints(inputs, radius=self.radius, n_bits=self.n_bits)

    def _new_gp(self) -> ExactGP | LaplaceGPClassifier:
        if self.task == "classification":
            return LaplaceGPClassifier("tanimoto", likelihood=self.likelihood)
        return ExactGP("tanimoto")

    @property
    def _fit_steps(self) -> int:  # Adam steps on the support's marginal likelihood (GPLearnerMixin.fit_features)
        return self.steps

    @property
    def _fit_lr(self) -> float:
        return self.lr
