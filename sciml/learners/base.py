"""The few-shot learner interface shared by meta-learners and baselines.

A learner turns inputs of its domain (SMILES strings for molecules) into features once
(``featurize``) and then adapts on a support set and scores queries on those features.
The evaluation harness calls ``featurize`` once per dataset and ``fit_features`` /
``predict_proba_features`` once per episode, so every learner sees identical episodes at
the cost of one featurization; notebook users call ``fit`` / ``predict_proba`` on inputs.
What ``fit_features`` learned can be exported as numpy arrays (``adapted_state``) and
loaded into a fresh learner built from the same model (``load_adapted_state``); see
:mod:`sciml.learners.adapted` for the files.
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


def _finite_support(y, what: str, need: str) -> np.ndarray:
    """``y`` as float64 ``[n]``; :class:`SupportSetError` if it is empty (asking for ``need``) or not finite
    (naming the first ten rows of the support ``what``)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size == 0:
        raise SupportSetError(f"The support set is empty: give at least {need}.")
    if not np.isfinite(y).all():
        bad = np.flatnonzero(~np.isfinite(y))[:10].tolist()
        raise SupportSetError(f"Support {what} contain NaN/inf at rows {bad}.")
    return y


def class_code_problem(values, explicit_regression: bool = False) -> str | None:
    """Why numeric ``values`` should not silently become a regression target, or ``None``.

    The one rule the CLI, the app and the API share: finite values that are all integer
    codes from 0 up to at most 3 (``0/1``, ``0/1/2``, ``0/2/3``...) are class labels, not
    measurements. 0/1 is binary classification; more codes fit neither task as they
    stand. ``explicit_regression`` (the user said regression) silences the rule.
    """
    if explicit_regression:
        return None
    y = np.asarray(values, dtype=np.float64).ravel()
    y = y[np.isfinite(y)]
    if y.size == 0 or not np.all(y == np.round(y)):
        return None
    codes = sorted({int(v) for v in y})
    if len(codes) < 2 or codes[0] != 0 or codes[-1] > 3:  # class codes start at 0; pKi 7/8 are measurements
        return None
    shown = "/".join(map(str, codes))
    if codes == [0, 1]:
        return (f"the values are only {shown}: that is a binary (active/inactive) assay, so it needs "
                f"classification; say regression explicitly if they really are measured values")
    return (f"the values are only the integer codes {shown}: they look like class labels, not measurements. "
            f"Classification needs exactly two classes (0/1, or set an activity threshold); if they are measured "
            f"values, say regression explicitly")


def check_binary_support(y: np.ndarray) -> np.ndarray:
    """Validate a classification support label vector; return it as float64 ``[n]``."""
    y = _finite_support(y, "labels", "one positive and one negative example")
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
    return _finite_support(y, "targets", "one labelled example")


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
        """The scaler of targets ``y`` ``[n]`` (array-like, or a torch tensor, reduced in torch).

        An empty ``y`` gives ``mean = 0``.
        """
        if type(y).__module__.startswith("torch"):
            y = y.detach().reshape(-1)
            n = y.numel()
            mean = float(y.mean()) if n else 0.0
            sd = float(y.std(correction=0)) if n > 1 else 1.0
        else:
            y = np.asarray(y, dtype=np.float64).ravel()
            n = y.size
            mean = float(y.mean()) if n else 0.0
            sd = float(y.std()) if n > 1 else 1.0
        return cls(mean, sd if sd > 0 else 1.0)

    def transform(self, y):
        """``(y - mean) / std`` (numpy array or tensor, same shape)."""
        return (y - self.mean) / self.std

    def inverse_mean(self, z):
        """Standardised means back to target units: ``z * std + mean``."""
        return z * self.std + self.mean

    def inverse_std(self, s):
        """Standardised standard deviations back to target units: ``s * std``."""
        return s * self.std

    def state(self) -> dict[str, np.ndarray]:
        """``{"scaler.mean", "scaler.std"}`` as float64 scalars (for adapted-state export)."""
        return {"scaler.mean": np.asarray(self.mean, dtype=np.float64),
                "scaler.std": np.asarray(self.std, dtype=np.float64)}

    @classmethod
    def from_state(cls, state) -> "TargetScaler":
        """The scaler stored by :meth:`state` (``ValueError`` if a key is missing or ``std <= 0``)."""
        missing = [k for k in ("scaler.mean", "scaler.std") if k not in state]
        if missing:
            raise ValueError(f"the adapted state has no {', '.join(map(repr, missing))} (a regression state "
                             f"stores the support's target scaler)")
        mean, std = float(np.asarray(state["scaler.mean"])), float(np.asarray(state["scaler.std"]))
        if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
            raise ValueError(f"the adapted state's target scaler is invalid (mean {mean}, std {std})")
        return cls(mean, std)


def check_features(X, what: str) -> np.ndarray:
    """``X`` as a 2-D array ``[n, d]``; ``ValueError`` (starting with ``what``: "Support", "Query") otherwise."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{what} features must be 2-D [n, d], got shape {X.shape}.")
    return X


#: How to fit a learner, for :meth:`sciml.errors.NotFittedError.for_object` messages.
FIT_HOW = "fit(inputs, y) or fit_features(X, y) on a support set"


def state_entry(state, key: str, ndim: int | None = None):
    """``state[key]`` of an adapted (or fitted) state, checked.

    Raises
    ------
    ValueError
        Naming ``key`` if it is missing or (with ``ndim``) has another number of dimensions.
    """
    if key not in state:
        raise ValueError(f"the state has no {key!r} (it has: {', '.join(sorted(state)) or 'nothing'})")
    value = state[key]
    if ndim is not None and np.ndim(value) != ndim:
        raise ValueError(f"the state's {key!r} must have {ndim} dimension(s), got shape {tuple(np.shape(value))}")
    return value


class FewShotLearner(ABC):
    """Base class: ``featurize`` once, then ``fit_features`` / ``predict_features`` per episode.

    Subclasses set ``name`` (the registry key, also the ``learner`` field of benchmark
    records) and store learned state in attributes with a trailing underscore
    (``n_support_``, the support size of the last fit, in all of them).
    ``task`` is ``"classification"`` (labels 0/1, predictions are ``P(y=1)``) or
    ``"regression"``. Inputs are those of the model's domain (SMILES for molecules);
    ``domains`` lists the domains a learner works on (``None``: any, through its
    featurizer).
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
    #: Input domains the learner works on (``None``: any domain, through the model's featurizer).
    domains: ClassVar[tuple[str, ...] | None] = None
    #: What :meth:`predict_support_free` predicts without reading any support label (one line),
    #: or ``None`` when the learner has no support-free mode (baselines, ProtoNet).
    support_free: ClassVar[str | None] = None
    task: str = "classification"

    @abstractmethod
    def featurize(self, inputs: list) -> np.ndarray:
        """Features of valid inputs of the learner's domain, ``[n, d]`` (``ValueError`` names an invalid one)."""

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

    def predict_support_free(self, X: np.ndarray, *, n_support: int | None = None) -> Prediction:
        """The meta-trained model's prediction for query features ``X`` ``[n_query, d]`` without any
        support label (zero adaptation): what a new assay gets before its labels are read.

        Parameters
        ----------
        X : np.ndarray ``[n_query, d]``
            Query features from :meth:`featurize`.
        n_support : int, optional
            Support size of the episode this prediction stands beside (for the record; no
            support-free mode of the shipped learners depends on it). Must be >= 0.

        Returns
        -------
        Prediction
            Fields ``[n_query]``. Classification: ``mean = P(y=1)``. Regression: in the
            model's *standardised* target units, since without support labels there is no
            target mean or scale; only its ranking of the queries is meaningful (the
            harness scores rank metrics only, :data:`pipelines.evaluate.SUPPORT_FREE_METRICS`).
            The learner's fitted state (if any) is neither used nor changed.

        Raises
        ------
        NotImplementedError
            When ``support_free`` is ``None``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no support-free prediction (support_free is None): "
                                  f"it needs a support set to predict anything")

    @staticmethod
    def _check_n_support(n_support: int | None) -> None:
        """``ValueError`` unless ``n_support`` is ``None`` or a non-negative integer."""
        if n_support is not None and (int(n_support) != n_support or n_support < 0):
            raise ValueError(f"n_support must be a non-negative integer, got {n_support!r}")

    def embedding_columns(self, X: np.ndarray) -> np.ndarray:
        """The part of features ``X`` that is a learned embedding (for distance-based domain checks)."""
        return X

    def fit(self, inputs: list, y) -> "FewShotLearner":
        """:meth:`fit_features` on inputs of the learner's domain and labels ``y`` ``[n]``."""
        return self.fit_features(self.featurize(list(inputs)), np.asarray(y))

    def predict_proba(self, inputs: list) -> np.ndarray:
        """:meth:`predict_proba_features` on inputs -> ``[n]``."""
        return self.predict_proba_features(self.featurize(list(inputs)))

    def predict(self, inputs: list) -> Prediction:
        """:meth:`predict_features` on inputs."""
        return self.predict_features(self.featurize(list(inputs)))

    # ------------------------------------------------------------------ adapted state
    def adapted_state(self) -> dict[str, np.ndarray]:
        """Everything :meth:`fit_features` learned, as named numpy arrays (always with ``n_support``).

        Together with the learner's model (its checkpoint) and constructor settings, the
        state reproduces the learner's predictions without refitting
        (:meth:`load_adapted_state`; files: :func:`sciml.learners.adapted.save_adapted`).

        Raises
        ------
        sciml.errors.NotFittedError
            Before ``fit``.
        NotImplementedError
            For learners whose fitted state is not a set of arrays.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot export its adapted state")

    def load_adapted_state(self, state) -> "FewShotLearner":
        """Take over a state from :meth:`adapted_state` of a learner built the same way; returns ``self``.

        Raises
        ------
        ValueError
            Naming the key when the state does not fit this learner (missing, wrong shape).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot load an adapted state")
