"""Non-meta-learned baselines fitted on the support set alone, on Morgan fingerprints.

* :class:`RandomForestBaseline` (``"rf"``): a class-balanced random forest.
* :class:`KNNTanimotoBaseline` (``"knn"``): similarity-weighted vote of the ``k``
  most Tanimoto-similar support molecules.

Both featurize with :func:`sciml.domains.molecules.fingerprints.morgan_fingerprints`
(radius 2, 2048 bits by default), so they serve the molecule domain only
(``domains = ("molecules",)``), and predict the probability of class 1
(``task="classification"``) or a value with a spread (``task="regression"``).
The k-NN baseline exports its adapted state (support fingerprints and labels); the
random forest does not (see :meth:`RandomForestBaseline.adapted_state`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from sciml.domains.molecules.fingerprints import morgan_fingerprints, tanimoto_matrix
from sciml.errors import NotFittedError
from sciml.learners.base import FIT_HOW, FewShotLearner, Prediction, check_features, check_support, state_entry
from sciml.learners.registry import LEARNERS

__all__ = ["RandomForestBaseline", "KNNTanimotoBaseline"]


class MorganLearner(FewShotLearner):
    """Shared part of the fingerprint baselines: Morgan featurization and support checks.

    Subclasses set ``radius`` and ``n_bits`` in ``__init__``.
    """

    radius: int
    n_bits: int
    task: str = "classification"
    domains: ClassVar[tuple[str, ...]] = ("molecules",)

    def _set_task(self, task: str) -> None:
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        self.task = task

    def _check_classification(self) -> None:
        if self.task != "classification":
            raise ValueError("predict_proba is for classification: use predict_features for regression")

    def featurize(self, inputs: list[str]) -> np.ndarray:
        """Morgan bit fingerprints of SMILES, ``uint8`` ``[n, n_bits]``; ValueError names any invalid SMILES."""
        return morgan_fingerprints(inputs, radius=self.radius, n_bits=self.n_bits)

    def _support(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Validated support ``(X [n, d], y [n])`` for the learner's task."""
        X = check_features(X, "Support")
        y = check_support(y, self.task)
        if X.shape[0] != y.size:
            raise ValueError(f"Support features have {X.shape[0]} rows but there are {y.size} labels.")
        return X, y


@LEARNERS.register()
class RandomForestBaseline(MorganLearner):
    """Random forest on Morgan fingerprints of the support set.

    Parameters
    ----------
    n_estimators : int, default 100
        Number of trees.
    radius : int, default 2
        Morgan radius.
    n_bits : int, default 2048
        Fingerprint length.
    seed : int, default 0
        ``random_state`` of the forest.
    task : {"classification", "regression"}, default "classification"
        Regression predicts the mean over trees, with the spread of the trees'
        predictions as ``std`` (an epistemic spread only: it ignores measurement noise,
        so its intervals are expected to be too narrow).

    Attributes
    ----------
    model_ : sklearn.ensemble.RandomForestClassifier or RandomForestRegressor
        The forest fitted by the last :meth:`fit_features` call
        (``class_weight="balanced"`` for classification, ``n_jobs=1``).
    """

    name: ClassVar[str] = "rf"
    description: ClassVar[str] = "random forest on Morgan fingerprints, fitted on the support set alone"

    def __init__(self, n_estimators: int = 100, radius: int = 2, n_bits: int = 2048, seed: int = 0,
                 task: str = "classification"):
        self._set_task(task)
        if int(n_estimators) < 1:
            raise ValueError(f"n_estimators must be >= 1, got {n_estimators}.")
        self.n_estimators = int(n_estimators)
        self.radius = int(radius)
        self.n_bits = int(n_bits)
        self.seed = seed

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_estimators={self.n_estimators}, radius={self.radius}, "
            f"n_bits={self.n_bits}, seed={self.seed})"
        )

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "RandomForestBaseline":
        """Fit a fresh forest on support features ``X`` ``[n_support, d]`` and labels ``y`` ``[n_support]``."""
        X, y = self._support(X, y)
        self.n_support_ = y.size
        if self.task == "regression":
            self.model_ = RandomForestRegressor(n_estimators=self.n_estimators, random_state=self.seed,
                                                n_jobs=1).fit(X, y)
            return self
        model = RandomForestClassifier(
            n_estimators=self.n_estimators,
            class_weight="balanced",
            random_state=self.seed,
            n_jobs=1,
        )
        model.fit(X, y.astype(np.int64))
        self.model_ = model
        return self

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Classification: ``P(y=1)`` with the spread over trees as ``std``; regression: mean
        and std over trees, Gaussian 90 % interval. Fields float64 ``[n_query]``."""
        model = getattr(self, "model_", None)
        if model is None:
            raise NotFittedError.for_object(self, FIT_HOW)
        X = check_features(X, "Query")
        if X.shape[0] == 0:
            z = np.zeros(0, dtype=np.float64)
            return Prediction(mean=z, std=z.copy(), lower=z.copy(), upper=z.copy())
        if self.task == "regression":
            per_tree = np.stack([t.predict(X) for t in model.estimators_]).astype(np.float64)
        else:
            col = int(np.flatnonzero(model.classes_ == 1)[0])
            per_tree = np.stack([t.predict_proba(X)[:, col] for t in model.estimators_]).astype(np.float64)
        out = Prediction(mean=per_tree.mean(0), std=per_tree.std(0))
        if self.task == "classification":
            out.mean = self.predict_proba_features(X)
            out.lower, out.upper = np.quantile(per_tree, [0.05, 0.95], axis=0)
        else:
            out.lower, out.upper = out.interval()
        return out

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """Probability of class 1 for query features ``X`` ``[n_query, d]`` -> float64 ``[n_query]``."""
        model = getattr(self, "model_", None)
        if model is None:
            raise NotFittedError.for_object(self, FIT_HOW)
        self._check_classification()
        X = check_features(X, "Query")
        if X.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        col = int(np.flatnonzero(model.classes_ == 1)[0])
        return model.predict_proba(X)[:, col].astype(np.float64)

    def adapted_state(self) -> dict[str, np.ndarray]:
        """Not available: a fitted forest is a set of scikit-learn tree objects, not named arrays.

        Their node tables could be written out, but rebuilding ``sklearn`` trees from
        them relies on private ``Tree`` internals; refitting on the support set takes well
        under a second, so the random forest is refitted instead.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot export its adapted state: a fitted random forest is a set of "
            f"scikit-learn trees, not arrays; refit it on the support set (fit_features) instead."
        )


@LEARNERS.register()
class KNNTanimotoBaseline(MorganLearner):
    """Similarity-weighted k-nearest-neighbour vote under Tanimoto similarity.

    For each query, the ``min(k, n_support)`` most similar support molecules are taken
    (ties broken by support order) and the probability is
    ``sum_j (s_j + eps) * y_j / sum_j (s_j + eps)``, so neighbours count in proportion
    to their similarity and all-zero similarities give the plain fraction of positives.

    Parameters
    ----------
    k : int, default 5
        Number of neighbours; capped at the support size.
    radius : int, default 2
        Morgan radius.
    n_bits : int, default 2048
        Fingerprint length.
    eps : float, default 1e-6
        Added to every neighbour's similarity weight.
    task : {"classification", "regression"}, default "classification"
        Regression predicts the same weighted mean of the neighbours' values, with
        their weighted standard deviation as ``std``.

    Attributes
    ----------
    X_ : np.ndarray of bool, shape ``[n_support, d]``
        Support fingerprints (as on/off bits).
    y_ : np.ndarray of float64, shape ``[n_support]``
        Support labels.
    n_support_ : int

    The adapted state (:meth:`adapted_state`) is ``X`` (bool), ``y`` and ``n_support``.
    """

    name: ClassVar[str] = "knn"
    description: ClassVar[str] = "Tanimoto k-nearest neighbours on Morgan fingerprints, support set alone"

    def __init__(self, k: int = 5, radius: int = 2, n_bits: int = 2048, eps: float = 1e-6,
                 task: str = "classification"):
        self._set_task(task)
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}.")
        self.k = int(k)
        self.radius = int(radius)
        self.n_bits = int(n_bits)
        self.eps = float(eps)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k}, radius={self.radius}, n_bits={self.n_bits}, eps={self.eps})"

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "KNNTanimotoBaseline":
        """Store support fingerprints ``X`` ``[n_support, d]`` and labels ``y`` ``[n_support]``."""
        X, y = self._support(X, y)
        self.X_ = X != 0
        self.y_ = y
        self.n_support_ = y.size
        return self

    def adapted_state(self) -> dict[str, np.ndarray]:
        """Support fingerprints ``X`` (bool ``[n_support, d]``), labels ``y`` (float64 ``[n_support]``), ``n_support``."""
        if getattr(self, "X_", None) is None or getattr(self, "y_", None) is None:
            raise NotFittedError.for_object(self, FIT_HOW)
        return {"X": self.X_.copy(), "y": self.y_.copy(), "n_support": np.asarray(self.n_support_, dtype=np.int64)}

    def load_adapted_state(self, state) -> "KNNTanimotoBaseline":
        """Take over support fingerprints and labels from :meth:`adapted_state` (``ValueError`` naming a bad key)."""
        X = np.asarray(state_entry(state, "X", ndim=2)) != 0
        y = np.asarray(state_entry(state, "y", ndim=1), dtype=np.float64)
        if X.shape[0] != y.size:
            raise ValueError(f"the state's 'X' has {X.shape[0]} rows but 'y' has {y.size} labels")
        n_support = int(state_entry(state, "n_support"))
        self.X_, self.y_, self.n_support_ = X, y, n_support
        return self

    def _neighbours(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour indices ``[n_query, k]`` and their weights ``[n_query, k]``."""
        if getattr(self, "X_", None) is None or getattr(self, "y_", None) is None:
            raise NotFittedError.for_object(self, FIT_HOW)
        X = check_features(X, "Query")
        if X.shape[1] != self.X_.shape[1]:
            raise ValueError(
                f"Query features have {X.shape[1]} columns but the support set had {self.X_.shape[1]}."
            )
        k = min(self.k, self.y_.size)
        if X.shape[0] == 0:
            return np.zeros((0, k), dtype=np.int64), np.zeros((0, k))
        sim = tanimoto_matrix(X, self.X_).astype(np.float64)  # [n_query, n_support]
        idx = np.argsort(-sim, axis=1, kind="stable")[:, :k]  # [n_query, k]
        return idx, np.take_along_axis(sim, idx, axis=1) + self.eps

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """Probability of class 1 for query features ``X`` ``[n_query, d]`` -> float64 ``[n_query]``."""
        self._check_classification()
        idx, w = self._neighbours(X)
        if idx.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        return (w * self.y_[idx]).sum(axis=1) / w.sum(axis=1)

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Weighted mean of the neighbours' labels/values and their weighted standard deviation,
        fields float64 ``[n_query]`` (regression: Gaussian 90 % interval)."""
        idx, w = self._neighbours(X)
        if idx.shape[0] == 0:
            z = np.zeros(0, dtype=np.float64)
            return Prediction(mean=z, std=z.copy(), lower=z.copy(), upper=z.copy())
        vals = self.y_[idx]
        mean = (w * vals).sum(axis=1) / w.sum(axis=1)
        std = np.sqrt((w * (vals - mean[:, None]) ** 2).sum(axis=1) / w.sum(axis=1))
        out = Prediction(mean=mean, std=std)
        if self.task == "classification":
            out.lower, out.upper = np.clip(mean - 1.6449 * std, 0, 1), np.clip(mean + 1.6449 * std, 0, 1)
        else:
            out.lower, out.upper = out.interval()
        return out
