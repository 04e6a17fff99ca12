"""The few-shot learner interface shared by meta-learners and baselines.

A learner turns molecules into features once (``featurize``) and then adapts on a
support set and scores queries on those features. The evaluation harness calls
``featurize`` once per dataset and ``fit_features`` / ``predict_proba_features`` once
per episode, so every learner sees identical episodes at the cost of one
featurization; notebook users call ``fit`` / ``predict_proba`` on SMILES.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np


@dataclass
class Prediction:
    """Predictive summary for ``n`` queries.

    Attributes
    ----------
    mean : np.ndarray
        ``[n]``: P(y=1) for classification, the predictive mean for regression.
    std : np.ndarray
        ``[n]``: predictive standard deviation (regression) or the epistemic spread of
        P(y=1) across ensemble members / particles (classification; 0 when the learner
        has no such spread).
    lower, upper : np.ndarray, optional
        ``[n]``: central interval at ``level``; learners with non-Gaussian predictive
        distributions (particle mixtures) fill them, otherwise :meth:`interval` uses a
        Gaussian with ``mean`` and ``std``.
    level : float
        Coverage level of ``lower`` / ``upper``.
    """

    mean: np.ndarray
    std: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    level: float = 0.9

    def interval(self, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Central ``level`` interval ``(lower, upper)``, each ``[n]``."""
        level = self.level if level is None else level
        if self.lower is not None and self.upper is not None and level == self.level:
            return self.lower, self.upper
        from scipy.stats import norm

        z = norm.ppf(0.5 + level / 2)
        return self.mean - z * self.std, self.mean + z * self.std


class SupportSetError(ValueError):
    """The support set cannot be used (e.g. only one class, or empty)."""


def check_binary_support(y: np.ndarray) -> np.ndarray:
    """Validate a classification support label vector; return it as float64 ``[n]``."""
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size == 0:
        raise SupportSetError("The support set is empty: give at least one positive and one negative example.")
    if not np.isfinite(y).all():
        bad = np.flatnonzero(~np.isfinite(y))[:10].tolist()
        raise SupportSetError(f"Support labels contain NaN/inf at rows {bad}.")
    if not np.isin(y, (0.0, 1.0)).all():
        bad = np.flatnonzero(~np.isin(y, (0.0, 1.0)))[:10].tolist()
        raise SupportSetError(f"Classification labels must be 0 or 1; rows {bad} are not.")
    if len(np.unique(y)) < 2:
        only = "positive (1)" if y[0] == 1 else "negative (0)"
        raise SupportSetError(
            f"The support set has only one class ({only}, {y.size} rows): give at least one example of each class."
        )
    return y


def check_support(y, task: str) -> np.ndarray:
    """Support labels as float64 ``[n]``: 0/1 with both classes (classification) or finite reals (regression).

    Raises :class:`SupportSetError` otherwise (empty, one class, non-binary labels, NaN/inf).
    """
    if task == "classification":
        return check_binary_support(y)
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size == 0:
        raise SupportSetError("The support set is empty: give at least one labelled example.")
    if not np.isfinite(y).all():
        bad = np.flatnonzero(~np.isfinite(y))[:10].tolist()
        raise SupportSetError(f"Support targets contain NaN/inf at rows {bad}.")
    return y


@dataclass(frozen=True)
class TargetScaler:
    """Per-support standardisation of regression targets: ``z = (y - mean) / std``.

    Meta-learners with an output head (MAML, BMAML) adapt and are meta-trained on
    standardised targets, so one head serves assays whose values sit on different
    scales; predictions are mapped back with :meth:`inverse_mean` / :meth:`inverse_std`.
    ``std`` is the population standard deviation of the support targets (1 when they
    are constant or there is only one).
    """

    mean: float
    std: float

    @classmethod
    def fit(cls, y) -> "TargetScaler":
        y = np.asarray(y, dtype=np.float64).ravel()
        sd = float(y.std()) if y.size > 1 else 1.0
        return cls(float(y.mean()) if y.size else 0.0, sd if sd > 0 else 1.0)

    def transform(self, y):
        return (y - self.mean) / self.std

    def inverse_mean(self, z):
        return z * self.std + self.mean

    def inverse_std(self, s):
        return s * self.std


class FewShotLearner(ABC):
    """Base class: ``featurize`` once, then ``fit_features`` / ``predict_features`` per episode.

    Subclasses set ``name`` (the registry key, also the ``learner`` field of benchmark
    records) and store learned state in attributes with a trailing underscore.
    ``task`` is ``"classification"`` (labels 0/1, predictions are ``P(y=1)``) or
    ``"regression"``.
    """

    name: ClassVar[str] = "base"
    #: One line for CLI help and tables.
    description: ClassVar[str] = ""
    #: Task kinds the learner can do.
    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")
    #: Meta-learners are built from a checkpoint; baselines from their defaults and a task.
    needs_checkpoint: ClassVar[bool] = False
    #: Whether a checkpoint meta-trained for one task kind can serve the other.
    serves_other_task: ClassVar[bool] = False
    task: str = "classification"

    @abstractmethod
    def featurize(self, smiles: list[str]) -> np.ndarray:
        """Features for valid SMILES, shape ``[n, d]``."""

    @abstractmethod
    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "FewShotLearner":
        """Adapt on support features ``X`` ``[n_support, d]`` and labels ``y`` ``[n_support]``."""

    @abstractmethod
    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """Probability of the positive class for query features ``X`` ``[n_query, d]`` -> ``[n_query]``."""

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Predictive summary for query features ``X`` ``[n_query, d]``.

        The default (classification learners without a spread) wraps
        :meth:`predict_proba_features` with ``std = 0``; learners with uncertainty or
        regression override it.
        """
        if self.task != "classification":
            raise NotImplementedError(f"{type(self).__name__} does not implement regression predictions")
        p = np.asarray(self.predict_proba_features(X), dtype=np.float64)
        return Prediction(mean=p, std=np.zeros_like(p), lower=p.copy(), upper=p.copy())

    def embedding_columns(self, X: np.ndarray) -> np.ndarray:
        """The part of features ``X`` that is a learned embedding (for distance-based domain checks)."""
        return X

    def fit(self, smiles: list[str], y) -> "FewShotLearner":
        return self.fit_features(self.featurize(list(smiles)), np.asarray(y))

    def predict_proba(self, smiles: list[str]) -> np.ndarray:
        return self.predict_proba_features(self.featurize(list(smiles)))

    def predict(self, smiles: list[str]) -> Prediction:
        """:meth:`predict_features` on SMILES."""
        return self.predict_features(self.featurize(list(smiles)))
