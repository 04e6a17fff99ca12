"""BMAML as a few-shot learner: :class:`BMAMLLearner` around a meta-trained :class:`BMAML`.

The learner embeds inputs through the checkpoint's featurizer (any domain), moves the
head particles by SVGD on the support embeddings and predicts with the particle
mixture; the adapted particles are its adapted state.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from sciml.errors import NotFittedError
from sciml.graphs import eval_mode
from sciml.learners.base import FIT_HOW, FewShotLearner, Prediction, state_entry
from sciml.learners.bmaml.algorithm import BMAML, BMAMLConfig
from sciml.learners.bmaml.mixture import mixture_prediction
from sciml.learners.meta import ConfigModelLearnerMixin
from sciml.learners.registry import LEARNERS

__all__ = ["BMAMLLearner"]


@LEARNERS.register()
class BMAMLLearner(ConfigModelLearnerMixin, FewShotLearner):
    """A meta-trained :class:`BMAML` used as a few-shot learner on inputs of its featurizer's domain.

    Parameters
    ----------
    model : BMAML
    featurizer
        The domain's featurizer (``featurize`` / ``collate``), from the checkpoint.
    device : str, optional
        Default :func:`sciml.config.default_device`.
    batch_size : int, default 256
        Items per encoder forward / queries per head forward.
    inner_steps : int, optional
        Test-time SVGD steps (default ``model.config.inner_steps``).
    level : float, default 0.9
        Level of ``Prediction.lower`` / ``upper``.

    Notes
    -----
    :meth:`featurize` returns eval-mode encoder embeddings (``float32 [n, d]``);
    :meth:`fit_features` runs SVGD on the support embeddings.

    Regression targets are standardised by the support mean and standard deviation
    before SVGD (as in meta-training) and the mixture is mapped back to the support's
    units.

    Attributes
    ----------
    particles_ : Tensor ``[M, P]``
        Adapted particles (detached) from the last :meth:`fit_features`.
    scaler_ : TargetScaler
        Regression only: the support standardisation.
    n_support_ : int

    The adapted state (:meth:`adapted_state`) is ``particles`` ``[M, P]``, ``n_support``
    and, for regression, ``scaler.mean`` / ``scaler.std``.
    """

    name: ClassVar[str] = "bmaml"
    description: ClassVar[str] = "Bayesian MAML: SVGD particle heads, chaser loss, particle-mixture predictions"
    support_free: ClassVar[str | None] = "mixture of the meta-learned initial particles, zero SVGD steps"
    checkpoint_learners = ("bmaml",)
    model_cls = BMAML
    config_cls = BMAMLConfig

    def __repr__(self) -> str:
        c = self.model.config
        return (f"{type(self).__name__}(task={c.task!r}, n_particles={c.n_particles}, inner_steps="
                f"{self.inner_steps if self.inner_steps is not None else c.inner_steps}, device={self.device!r})")

    def featurize(self, inputs: list) -> np.ndarray:
        """Eval-mode encoder embeddings, ``float32 [n, d]``."""
        from sciml.graphs import embed_inputs

        return embed_inputs(self.model.encoder, self.featurizer, list(inputs), self.device, self.batch_size)

    def _embeddings(self, X: np.ndarray) -> Tensor:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"features must be embeddings [n, d], got shape {X.shape}")
        return torch.as_tensor(X, dtype=self.model.init_particles.dtype, device=self.device)

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "BMAMLLearner":
        """SVGD on support embeddings ``X`` ``[n_support, d]`` with labels/targets ``y`` ``[n_support]``."""
        y = self._support_targets(X, y)
        emb = self._embeddings(X)
        yt = torch.tensor(y, dtype=emb.dtype, device=self.device)  # a copy: task labels are read-only
        with eval_mode(self.model):
            theta = self.model.adapt(emb, yt, steps=self.inner_steps, detach=True)
        self.particles_ = theta.detach()
        self.n_support_ = y.size
        return self

    def _outputs(self, X: np.ndarray, particles: Tensor | None = None) -> Tensor:
        """Particle head outputs ``[M, n_query, n_out]`` on query embeddings (default particles: ``particles_``)."""
        if particles is None:
            if not hasattr(self, "particles_"):
                raise NotFittedError.for_object(self, FIT_HOW)
            particles = self.particles_
        emb = self._embeddings(X)
        outs = []
        with eval_mode(self.model), torch.no_grad():
            for i in range(0, len(emb), self.batch_size):
                outs.append(self.model.head_outputs(emb[i : i + self.batch_size], particles))
        if not outs:
            return torch.zeros(self.model.n_particles, 0, self.model.n_out)
        return torch.cat(outs, dim=1).double().cpu()

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """``P(y = 1)`` of the particle mixture, float64 ``[n_query]`` (classification models only)."""
        if self.model.config.task != "classification":
            raise ValueError("predict_proba is for classification models: use predict_features for regression")
        return torch.sigmoid(self._outputs(X)[..., 0]).mean(0).numpy().astype(np.float64)

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Mixture :class:`Prediction` (fields float64 ``[n_query]``; ``lower``/``upper`` at ``self.level``;
        regression in the support's units)."""
        pred = mixture_prediction(self._outputs(X), self.model.config.task, self.level)
        if self.task == "regression":
            sc = self.scaler_
            pred = Prediction(mean=sc.inverse_mean(pred.mean), std=sc.inverse_std(pred.std),
                              lower=sc.inverse_mean(pred.lower), upper=sc.inverse_mean(pred.upper), level=pred.level)
        return pred

    # ------------------------------------------------------------------ support-free
    def predict_support_free(self, X: np.ndarray, *, n_support: int | None = None) -> Prediction:
        """The mixture of the meta-learned initial particles (zero SVGD steps) on query embeddings ``X``.

        Fields float64 ``[n_query]``. Classification: as :meth:`predict_features` after
        ``fit_features`` with ``inner_steps=0`` (zero SVGD steps leave the initial particles).
        Regression: the initial mixture in standardised units (no support targets, so no
        target scale; its ranking is that of ``inner_steps=0``). ``n_support`` is checked
        and otherwise unused; ``particles_`` is untouched.
        """
        self._check_n_support(n_support)
        return mixture_prediction(self._outputs(X, self.model.init_particles.detach()), self.model.config.task,
                                  self.level)

    # ------------------------------------------------------------------ adapted state
    def adapted_state(self) -> dict[str, np.ndarray]:
        """``particles`` ``[M, P]`` (the model's dtype), ``n_support``, and for regression the support's
        target scaler (``scaler.mean``, ``scaler.std``)."""
        if not hasattr(self, "particles_"):
            raise NotFittedError.for_object(self, FIT_HOW)
        return {"particles": self.particles_.detach().cpu().numpy(), **self._support_state()}

    def load_adapted_state(self, state) -> "BMAMLLearner":
        """Take over particles (and scaler) from :meth:`adapted_state` of a learner on the same model.

        Raises
        ------
        ValueError
            If ``particles`` is missing or not ``[M, P]`` of this model.
        """
        particles = np.asarray(state_entry(state, "particles", ndim=2))
        expected = tuple(self.model.init_particles.shape)
        if particles.shape != expected:
            raise ValueError(f"the adapted state's 'particles' has shape {particles.shape}, this model's particles are "
                             f"{expected} (n_particles, weights per head)")
        self._load_support_state(state)
        self.particles_ = torch.as_tensor(particles, dtype=self.model.init_particles.dtype, device=self.device)
        return self
