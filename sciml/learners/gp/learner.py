"""What the GP learners share: predictive summaries, support checks and adapted-state export.

:func:`gp_prediction` turns a fitted :class:`~sciml.learners.gp.exact.ExactGP` or
:class:`~sciml.learners.gp.laplace.LaplaceGPClassifier` into a
:class:`~sciml.learners.base.Prediction`. :class:`GPLearnerMixin` is used by
:class:`sciml.learners.gp_baseline.TanimotoGPBaseline` and
:class:`sciml.learners.dkgp.DeepKernelGPLearner`: both fit a fresh GP (built by their
``_new_gp()``) on the support features and keep it in ``gp_``.
"""

from __future__ import annotations

import numpy as np
import torch

from sciml.errors import NotFittedError
from sciml.learners.base import FIT_HOW, Prediction, check_features, check_support, state_entry
from sciml.learners.gp.exact import ExactGP
from sciml.learners.gp.laplace import LaplaceGPClassifier, probability_summary

__all__ = ["gp_prediction", "GPLearnerMixin"]

#: Prefix of the GP's fitted state in a learner's adapted state.
GP_PREFIX = "gp."


def gp_prediction(gp: ExactGP | LaplaceGPClassifier, X, level: float = 0.9) -> Prediction:
    """Predictive summary of a fitted GP at query features ``X`` ``[m, d]``.

    * :class:`ExactGP`: ``mean``, ``std`` of a new observation (latent variance + noise),
      and the Gaussian central ``level`` interval.
    * :class:`LaplaceGPClassifier`: ``mean = P(y=1)`` (latent posterior averaged),
      ``std`` = standard deviation of ``p(y=1 | f)`` under the latent posterior (the
      epistemic spread of the probability, as :class:`Prediction` defines it for
      classification), ``lower``/``upper`` = central ``level`` interval of ``p(y=1 | f)``
      (see :func:`sciml.learners.gp.laplace.probability_summary`). The latent standard
      deviation itself is ``sqrt(gp.predict_latent(X)[1])``.

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
    """Support checks and adapted state of learners that fit a GP on support features (``gp_``).

    Subclasses implement ``_new_gp()``: the unfitted GP that ``fit_features`` fits (and
    that :meth:`load_adapted_state` fills with a fitted state instead).
    """

    def _new_gp(self) -> ExactGP | LaplaceGPClassifier:
        raise NotImplementedError

    @staticmethod
    def _support_xy(X, y, task: str) -> tuple[np.ndarray, np.ndarray]:
        """Validated support ``(X [n, d], y [n])`` for ``task``."""
        X = check_features(X, "Support")
        y = check_support(y, task)
        if X.shape[0] != y.size:
            raise ValueError(f"Support features have {X.shape[0]} rows but there are {y.size} labels.")
        return X, y

    def _fit_gp(self, X: np.ndarray, y: np.ndarray, steps: int, lr: float) -> None:
        """Fit ``_new_gp()`` on the validated support (``gp_``, ``n_support_``)."""
        X, y = self._support_xy(X, y, self.task)
        gp = self._new_gp()
        with torch.enable_grad():
            self.gp_ = gp.fit(X, y, steps=steps, lr=lr)
        self.n_support_ = y.size

    def _gp(self):
        gp = getattr(self, "gp_", None)
        if gp is None:
            raise NotFittedError.for_object(self, FIT_HOW)
        return gp

    def _query(self, X) -> np.ndarray:
        X = check_features(X, "Query")
        n_support_cols = self._gp().X_.shape[1]
        if X.shape[1] != n_support_cols:
            raise ValueError(f"Query features have {X.shape[1]} columns but the support set had {n_support_cols}.")
        return X

    def fit_features(self, X: np.ndarray, y: np.ndarray):
        """Fit a fresh GP (``_new_gp()``) on support features ``X`` ``[n_support, d]`` and labels ``y`` ``[n_support]``
        with the learner's ``_fit_steps`` Adam steps at ``_fit_lr``."""
        self._fit_gp(X, y, self._fit_steps, self._fit_lr)
        return self

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """``P(y=1)`` for query features ``X`` ``[n_query, d]`` -> float64 ``[n_query]`` (classification only)."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classification: use predict_features for regression")
        return self.predict_features(X).mean

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Predictive summary for query features ``X`` ``[n_query, d]`` (see :func:`gp_prediction`).

        Regression: Gaussian mean and std of a new observation (latent + noise) and the
        central ``level`` interval. Classification: ``mean = P(y=1)``, ``std`` = spread of
        ``p(y=1 | f)`` under the latent posterior, interval of ``p(y=1 | f)``.
        """
        return gp_prediction(self._gp(), self._query(X), self.level)

    def adapted_state(self) -> dict[str, np.ndarray]:
        """The fitted GP (``gp.<key>`` for each entry of ``gp_.fitted_state()``: support features,
        targets, fitted hyperparameters, and for classification the Laplace mode and its
        Cholesky factor) and ``n_support``."""
        state = {GP_PREFIX + k: v.cpu().numpy() for k, v in self._gp().fitted_state().items()}
        state["n_support"] = np.asarray(self.n_support_, dtype=np.int64)
        return state

    def load_adapted_state(self, state):
        gp_state = {k[len(GP_PREFIX):]: torch.as_tensor(np.asarray(v)) for k, v in state.items()
                    if k.startswith(GP_PREFIX)}
        n_support = int(state_entry(state, "n_support"))
        self.gp_ = self._new_gp().load_fitted_state(gp_state)
        self.n_support_ = n_support
        return self
