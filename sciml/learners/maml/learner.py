"""MAML as a few-shot learner: :class:`MAMLLearner` and :class:`FOMAMLLearner` around a meta-trained :class:`MAML`.

The learner featurizes through the checkpoint's featurizer (any domain), adapts the
model on a support set (:meth:`MAML.adapt_head` / :meth:`MAML.adapt`) and scores queries
with the adapted ("fast") weights, which are its adapted state.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np
import torch
from torch import Tensor

from sciml.errors import NotFittedError
from sciml.graphs import eval_mode, featurize_items
from sciml.learners.base import FIT_HOW, FewShotLearner, Prediction
from sciml.learners.maml.algorithm import MAML
from sciml.learners.maml.config import MAMLConfig
from sciml.learners.meta import ConfigModelLearnerMixin
from sciml.learners.registry import LEARNERS

__all__ = ["MAMLLearner", "FOMAMLLearner"]

#: Prefix of the fast weights in the adapted state.
FAST_PREFIX = "fast."


@LEARNERS.register()
class MAMLLearner(ConfigModelLearnerMixin, FewShotLearner):
    """A meta-trained :class:`MAML` used as a few-shot learner on inputs of its featurizer's domain.

    Parameters
    ----------
    model : MAML
    featurizer
        The domain's featurizer (``featurize`` / ``collate``), from the checkpoint.
    device : str, optional
        Default :func:`sciml.config.default_device`. The model is moved there.
    batch_size : int, default 256
        Items per forward when embedding / scoring.
    inner_steps : int, optional
        Test-time inner steps (default ``model.config.inner_steps``).
    level : float, default 0.9
        Level of the regression intervals.

    Notes
    -----
    ``adapt="head"`` (ANIL): :meth:`featurize` returns eval-mode encoder embeddings
    (``float32 [n, d]``); :meth:`fit_features` adapts only the head on the support
    embeddings. ``adapt="all"``: :meth:`featurize` returns an object array of the
    featurizer's items (graphs; indexable as ``X[idx]``), batched by its ``collate``;
    :meth:`fit_features` adapts the whole network on the support items (support-batch
    BatchNorm statistics, running statistics untouched) and :meth:`predict_proba_features`
    runs the adapted network in eval mode (running statistics, so predictions are
    per-input).
    Test-time adaptation never needs second derivatives, so MAML and FOMAML models
    adapt identically here; the two classes differ only in ``name``.

    Regression targets are standardised by the support mean and standard deviation
    (:class:`~sciml.learners.base.TargetScaler`) before adaptation, as in meta-training,
    and predictions are mapped back to the support's units.

    Attributes
    ----------
    fast_weights_ : dict[str, Tensor]
        Adapted weights (detached) from the last :meth:`fit_features`.
    scaler_ : TargetScaler
        Regression only: the support standardisation.
    n_support_ : int

    The adapted state (:meth:`adapted_state`) is ``fast.<name>`` for every fast weight,
    ``n_support`` and, for regression, ``scaler.mean`` / ``scaler.std``.
    """

    name: ClassVar[str] = "maml"
    description: ClassVar[str] = "MAML (second order; ANIL head adaptation by default) on a GINE encoder"
    support_free: ClassVar[str | None] = "meta-learned initialisation, zero inner steps"
    checkpoint_learners = ("maml", "fomaml", "reptile")
    model_cls = MAML
    config_cls = MAMLConfig

    @classmethod
    def for_model(cls, model: MAML, featurizer, **kwargs) -> "MAMLLearner":
        """:class:`ReptileLearner`, :class:`FOMAMLLearner` or :class:`MAMLLearner` by the model's config."""
        klass = (ReptileLearner if model.config.algorithm == "reptile" else
                 FOMAMLLearner if model.config.first_order else MAMLLearner)
        return klass(model, featurizer, **kwargs)

    def __repr__(self) -> str:
        c = self.model.config
        return (f"{type(self).__name__}(adapt={c.adapt!r}, task={c.task!r}, inner_steps="
                f"{self.inner_steps if self.inner_steps is not None else c.inner_steps}, device={self.device!r})")

    def featurize(self, inputs: list) -> np.ndarray:
        """``float32 [n, d]`` embeddings (``adapt="head"``) or an object array ``[n]`` of items (``"all"``)."""
        if self.model.config.adapt == "head":
            from sciml.graphs import embed_inputs

            return embed_inputs(self.model.encoder, self.featurizer, list(inputs), self.device, self.batch_size)
        items = featurize_items(self.featurizer, inputs)
        out = np.empty(len(items), dtype=object)
        for i, g in enumerate(items):  # element-wise: numpy would iterate a Data's (key, value) pairs
            out[i] = g
        return out

    def _batch(self, X: Sequence):
        """The encoder input for items ``X`` (the featurizer's ``collate``), on the device."""
        return self.featurizer.collate(list(X)).to(self.device)

    def _embeddings(self, X: np.ndarray) -> Tensor:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"features must be embeddings [n, d] for adapt='head', got shape {X.shape}")
        return torch.as_tensor(X, dtype=torch.float32, device=self.device)

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "MAMLLearner":
        """Adapt on the support set: ``X`` from :meth:`featurize` (``n_support`` rows), ``y`` ``[n_support]``."""
        y = self._support_targets(X, y)
        yt = torch.tensor(y, dtype=torch.float32, device=self.device)  # a copy: task labels are read-only
        with eval_mode(self.model):
            if self.model.config.adapt == "head":
                fast = self.model.adapt_head(self._embeddings(X), yt, steps=self.inner_steps, create_graph=False,
                                             detach=True)
            else:
                fast = self.model.adapt(self._batch(X), yt, steps=self.inner_steps, create_graph=False,
                                        detach=True)
        self.fast_weights_ = {n: w.detach() for n, w in fast.items()}
        self.n_support_ = y.size
        return self

    def _outputs(self, X, weights: dict[str, Tensor] | None = None) -> Tensor:
        """Network outputs ``[n, n_out]`` on features ``X`` with ``weights`` (default the fast weights)."""
        if weights is None:
            if not hasattr(self, "fast_weights_"):
                raise NotFittedError.for_object(self, FIT_HOW)
            weights = self.fast_weights_
        outs = []
        with eval_mode(self.model), torch.no_grad():
            if self.model.config.adapt == "head":
                emb = self._embeddings(X)
                for i in range(0, len(emb), self.batch_size):
                    outs.append(self.model.head_forward(emb[i : i + self.batch_size], weights))
            else:
                for i in range(0, len(X), self.batch_size):
                    outs.append(self.model.forward_with(self._batch(X[i : i + self.batch_size]), weights))
        if not outs:
            return torch.zeros(0, self.model.n_out)
        return torch.cat(outs).float().cpu()

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """``P(y = 1)`` for the query, float64 ``[n_query]`` (classification models only)."""
        if self.model.config.task != "classification":
            raise ValueError("predict_proba is for classification models: use predict_features for regression")
        return torch.sigmoid(self._outputs(X)[:, 0]).numpy().astype(np.float64)

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Classification: ``mean = P(y = 1)``, ``std = 0`` (a single adapted network has no
        spread); regression: Gaussian mean and std in the support's units, with the central
        ``level`` interval. Fields float64 ``[n_query]``."""
        pred = self.model.outputs_to_prediction(self._outputs(X))
        if not isinstance(pred, tuple):
            p = pred.numpy().astype(np.float64)
            return Prediction(mean=p, std=np.zeros_like(p), lower=p.copy(), upper=p.copy(), level=self.level)
        mean, std = (t.numpy().astype(np.float64) for t in pred)
        mean, std = self.scaler_.inverse_mean(mean), self.scaler_.inverse_std(std)
        out = Prediction(mean=mean, std=std, level=self.level)
        out.lower, out.upper = out.interval()
        return out

    # ------------------------------------------------------------------ support-free
    def initial_weights(self) -> dict[str, Tensor]:
        """The weights the inner loop starts from (detached): what ``inner_steps=0`` adapts to.

        The inner loop itself with zero steps, so that ``zero_init_head`` (a zeroed output
        layer) applies as in :meth:`fit_features`; no support is read.
        """
        def no_support_loss(_):
            raise AssertionError("zero inner steps read no support loss")

        with eval_mode(self.model):
            fast = self.model._inner_loop(no_support_loss, 0, create_graph=False, detach=True)
        return {n: w.detach() for n, w in fast.items()}

    def predict_support_free(self, X: np.ndarray, *, n_support: int | None = None) -> Prediction:
        """The meta-learned initialisation (zero inner steps) on query features ``X``, fields float64 ``[n_query]``.

        Classification: ``P(y=1)`` of the initial head (bit-identical to ``fit_features`` +
        ``predict_features`` with ``inner_steps=0`` on any support). Regression: the initial
        head's Gaussian mean and std in standardised units (no support targets, so no
        target scale); its ranking equals that of ``inner_steps=0``, whose prediction is
        this one mapped by the support's increasing affine scaler. ``n_support`` is
        checked and otherwise unused; ``fast_weights_`` is untouched.
        """
        self._check_n_support(n_support)
        pred = self.model.outputs_to_prediction(self._outputs(X, self.initial_weights()))
        if not isinstance(pred, tuple):
            p = pred.numpy().astype(np.float64)
            return Prediction(mean=p, std=np.zeros_like(p), lower=p.copy(), upper=p.copy(), level=self.level)
        mean, std = (t.numpy().astype(np.float64) for t in pred)
        out = Prediction(mean=mean, std=std, level=self.level)
        out.lower, out.upper = out.interval()
        return out

    # ------------------------------------------------------------------ adapted state
    def adapted_state(self) -> dict[str, np.ndarray]:
        """``fast.<name>``: each fast weight (the model's dtype and shape), ``n_support``, and for
        regression the support's target scaler (``scaler.mean``, ``scaler.std``)."""
        if not hasattr(self, "fast_weights_"):
            raise NotFittedError.for_object(self, FIT_HOW)
        state = {FAST_PREFIX + n: w.detach().cpu().numpy() for n, w in self.fast_weights_.items()}
        state.update(self._support_state())
        return state

    def load_adapted_state(self, state) -> "MAMLLearner":
        """Take over fast weights (and scaler) from :meth:`adapted_state` of a learner on the same model.

        Raises
        ------
        ValueError
            If the fast weights are not those this model adapts (names or shapes).
        """
        expected = self.model._adapted_params()
        given = {k[len(FAST_PREFIX):]: v for k, v in state.items() if k.startswith(FAST_PREFIX)}
        if set(given) != set(expected):
            missing, extra = sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
            raise ValueError(f"the adapted state's fast weights do not match this {self.model.config.adapt!r}-adapting "
                             f"model: missing {[FAST_PREFIX + k for k in missing]}, unexpected "
                             f"{[FAST_PREFIX + k for k in extra]}")
        for n, v in given.items():
            if tuple(np.shape(v)) != tuple(expected[n].shape):
                raise ValueError(f"the adapted state's {FAST_PREFIX + n!r} has shape {tuple(np.shape(v))}, the model's "
                                 f"parameter has {tuple(expected[n].shape)}")
        self._load_support_state(state)
        self.fast_weights_ = {n: torch.as_tensor(np.asarray(given[n]), dtype=expected[n].dtype, device=self.device)
                              for n in expected}
        return self


@LEARNERS.register()
class FOMAMLLearner(MAMLLearner):
    """:class:`MAMLLearner` for a first-order (FOMAML) meta-trained model (registry name ``"fomaml"``)."""

    name: ClassVar[str] = "fomaml"
    description: ClassVar[str] = "first-order MAML on a GINE encoder"

    @classmethod
    def learner_config_for(cls, learner_config: dict, task: str, **train_options) -> dict:
        return {**super().learner_config_for(learner_config, task), "first_order": True}


@LEARNERS.register()
class ReptileLearner(MAMLLearner):
    """:class:`MAMLLearner` for a Reptile meta-trained model (registry name ``"reptile"``; whole-network adaptation)."""

    name: ClassVar[str] = "reptile"
    description: ClassVar[str] = "Reptile (first-order, whole-network adaptation) on a GINE encoder"

    @classmethod
    def learner_config_for(cls, learner_config: dict, task: str, **train_options) -> dict:
        return {"adapt": "all", **super().learner_config_for(learner_config, task), "algorithm": "reptile",
                "first_order": True}
