"""A conditional neural process: a context module that reads the support set, for classification and regression.

Model-based meta-learning (Garnelo et al., 2018; attentive variant, Kim et al., 2019): the
support is encoded as a set of tokens, one per labelled input, ``t_i = MLP([e_i, g(y_i)])``
(``e_i`` the encoder embedding, ``g`` a linear embedding of the label: ``±1`` for classes,
the support-standardised value for regression). A query ``q`` reads them twice: by
multi-head cross-attention keyed on the embeddings (which support inputs it resembles)
and through their mean (what the assay is like overall); a decoder maps
``[e_q, attention, mean]`` to a logit (classification) or a Gaussian mean and standard
deviation in support-standardised units (regression). Nothing is fitted at test time: one
forward pass adapts, so prediction costs the same at 1 or 64 support inputs.

**Support-free mode.** During meta-training each episode's support is hidden with
probability ``context_dropout`` and the decoder then reads a learned "empty context"
vector instead: the same network learns a prior over the train tasks (like a multitask
head) and :meth:`CNPLearner.predict_support_free` is that prior, so the adaptation gain
(adapted − support-free) measures what reading the support adds.

:class:`ConditionalNP` is the model on encoder inputs; :class:`CNPLearner` the few-shot
learner (adapted state: the support embeddings and labels, and for regression the target
scaler).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from sciml.config import default_device
from sciml.errors import NotFittedError
from sciml.learners.base import (FIT_HOW, FewShotLearner, Prediction, TargetScaler, check_features, check_support,
                                 state_entry)
from sciml.learners.meta import MetaLearnerMixin
from sciml.learners.registry import LEARNERS

__all__ = ["ConditionalNP", "CNPLearner"]

#: Smallest predictive standard deviation (standardised units) of the regression head.
MIN_STD = 1e-3


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, d_out))


class ConditionalNP(nn.Module):
    """Encoder + attentive context module + decoder.

    Parameters
    ----------
    encoder : nn.Module
        Maps encoder inputs of ``n`` items to ``[n, d]`` embeddings (``out_dim = d``).
    task : {"classification", "regression"}
    hidden : int
        Width of the tokens, the attention and the MLPs.
    heads : int
        Attention heads (must divide ``hidden``).
    context_dropout : float
        Probability that an episode's support is hidden during meta-training (trains the
        support-free prior).
    query_in_decoder : bool
        Whether the decoder also reads the query's own embedding. ``False`` leaves it only
        what the query read from the support (attention and mean), so every prediction must
        come from the support labels (and the support-free prior is a constant).
    """

    def __init__(self, encoder: nn.Module, task: str = "classification", hidden: int = 128, heads: int = 4,
                 context_dropout: float = 0.1, query_in_decoder: bool = True):
        super().__init__()
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        if hidden % heads:
            raise ValueError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        if not 0.0 <= context_dropout < 1.0:
            raise ValueError(f"context_dropout must be in [0, 1), got {context_dropout}")
        self.encoder = encoder
        self.task, self.hidden, self.heads, self.context_dropout = task, int(hidden), int(heads), float(context_dropout)
        self.query_in_decoder = bool(query_in_decoder)
        d = int(getattr(encoder, "out_dim"))
        self.label = nn.Linear(1, hidden)
        self.token = _mlp(d + hidden, hidden, hidden)
        self.query_proj = nn.Linear(d, hidden)
        self.key_proj = nn.Linear(d, hidden)
        self.attention = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.decoder = _mlp((d if self.query_in_decoder else 0) + 2 * hidden, hidden,
                            1 if task == "classification" else 2)
        self.empty = nn.Parameter(torch.zeros(hidden))

    def reset_parameters(self) -> None:
        """Re-initialise every layer (and the encoder, when it has ``reset_parameters``)."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()
        with torch.no_grad():
            self.empty.zero_()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.encoder!r}, task={self.task!r}, hidden={self.hidden}, "
                f"heads={self.heads}, context_dropout={self.context_dropout}, "
                f"query_in_decoder={self.query_in_decoder})")

    def config(self) -> dict:
        return {"task": self.task, "hidden": self.hidden, "heads": self.heads, "context_dropout": self.context_dropout,
                "query_in_decoder": self.query_in_decoder}

    def _decode(self, query_emb: Tensor, att: Tensor, mean: Tensor) -> Tensor:
        parts = [query_emb, att, mean] if self.query_in_decoder else [att, mean]
        return self.decoder(torch.cat(parts, dim=-1))

    def _label_input(self, y: Tensor) -> Tensor:
        """``[n] -> [n, 1]``: ``±1`` for classes, the standardised value for regression."""
        y = y.to(self.label.weight.dtype).reshape(-1, 1)
        return 2.0 * y - 1.0 if self.task == "classification" else y

    def head(self, support_emb: Tensor, support_y: Tensor, query_emb: Tensor) -> Tensor:
        """Decoder outputs ``[m, 1]`` (logit) or ``[m, 2]`` (mean, raw std) for queries ``[m, d]`` given
        support embeddings ``[n, d]`` and labels ``[n]``; ``n = 0`` reads the learned empty context."""
        m = query_emb.shape[0]
        if support_emb.shape[0] == 0:
            ctx = self.empty.expand(m, self.hidden)
            return self._decode(query_emb, ctx, ctx)
        tokens = self.token(torch.cat([support_emb, self.label(self._label_input(support_y))], dim=-1))  # [n, h]
        att, _ = self.attention(self.query_proj(query_emb)[None], self.key_proj(support_emb)[None], tokens[None],
                                need_weights=False)
        mean = tokens.mean(0, keepdim=True).expand(m, self.hidden)
        return self._decode(query_emb, att[0], mean)

    @staticmethod
    def gaussian(out: Tensor) -> tuple[Tensor, Tensor]:
        """``(mean, std)`` ``[m]`` of regression decoder outputs ``[m, 2]``."""
        return out[:, 0], nn.functional.softplus(out[:, 1]) + MIN_STD

    def forward(self, batch) -> Tensor:
        """Encoder embeddings ``[n, d]`` of a batch of ``n`` items."""
        return self.encoder(batch)

    def episode_loss(self, batch, n_support: int, support_y: Tensor, query_y: Tensor) -> Tensor:
        """Query loss of one episode (``support + query`` items in ``batch``): binary cross-entropy, or the Gaussian
        negative log-likelihood of standardised targets; the support is hidden with ``context_dropout``."""
        emb = self.encoder(batch)
        hide = self.training and self.context_dropout > 0 and float(torch.rand(())) < self.context_dropout
        es = emb[:0] if hide else emb[:n_support]
        out = self.head(es, support_y[: es.shape[0]], emb[n_support:])
        if self.task == "classification":
            return nn.functional.binary_cross_entropy_with_logits(out[:, 0], query_y.to(out.dtype))
        mean, std = self.gaussian(out)
        return nn.functional.gaussian_nll_loss(mean, query_y.to(mean.dtype), std.pow(2), full=True)


@LEARNERS.register()
class CNPLearner(MetaLearnerMixin, FewShotLearner):
    """A meta-trained :class:`ConditionalNP` used as a few-shot learner.

    ``featurize`` embeds inputs once (eval mode); ``fit_features`` stores the support (and,
    for regression, its target scaler); ``predict_features`` is one forward pass of the
    context module. Classification: ``mean = P(y=1)``, ``std = 0`` (the model gives no
    epistemic spread of the probability). Regression: the decoder's Gaussian, mapped back
    to target units, with its central ``level`` interval.
    """

    name: ClassVar[str] = "cnp"
    description: ClassVar[str] = "conditional neural process: attention over the support set, one forward pass"
    support_free: ClassVar[str | None] = ("the context module with an empty support: a prior over the train tasks, "
                                          "trained on episodes whose support is hidden (context_dropout)")
    checkpoint_learners = ("cnp",)
    tasks = ("classification", "regression")

    def __init__(self, model: ConditionalNP, featurizer, device: str | None = None, batch_size: int = 256,
                 level: float = 0.9, task: str | None = None):
        self.device = device or default_device()
        self.model = model.to(self.device)
        self.featurizer = featurizer
        self.batch_size = int(batch_size)
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
        self.level = float(level)
        task = model.task if task is None else task
        if task != model.task:
            raise ValueError(f"this CNP was meta-trained for {model.task} and cannot do {task}")
        self.task = task

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r}, hidden={self.model.hidden}, device={self.device!r})"

    @classmethod
    def build_model(cls, encoder: nn.Module, learner_config: dict) -> ConditionalNP:
        return ConditionalNP(encoder, **learner_config)

    @classmethod
    def model_config(cls, model: ConditionalNP) -> dict:
        return model.config()

    def featurize(self, inputs: list) -> np.ndarray:
        """Eval-mode encoder embeddings ``float32 [n, d]``."""
        from sciml.graphs import embed_inputs

        return embed_inputs(self.model.encoder, self.featurizer, list(inputs), self.device, self.batch_size)

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "CNPLearner":
        """Store support embeddings ``X`` ``[n, d]`` and labels ``y`` ``[n]`` (regression: standardised)."""
        X = check_features(X, "Support")
        y = check_support(y, self.task)
        if X.shape[0] != y.size:
            raise ValueError(f"Support features have {X.shape[0]} rows but there are {y.size} labels.")
        self.scaler_ = TargetScaler.fit(y) if self.task == "regression" else None
        self.support_X_ = np.asarray(X, dtype=np.float32)
        self.support_y_ = self.scaler_.transform(y) if self.scaler_ else np.asarray(y, dtype=np.float64)
        self.n_support_ = int(y.size)
        return self

    def _outputs(self, Xs: np.ndarray, ys: np.ndarray, Xq: np.ndarray) -> Tensor:
        self.model.eval()

        def t(a) -> Tensor:  # a copy: the arrays may be read-only views (cached features)
            return torch.tensor(np.asarray(a, dtype=np.float32), device=self.device)

        with torch.no_grad():
            return self.model.head(t(Xs), t(ys), t(Xq)).cpu().double()

    def _prediction(self, out: Tensor, scaler: TargetScaler | None) -> Prediction:
        if self.task == "classification":
            p = torch.sigmoid(out[:, 0]).numpy()
            return Prediction(mean=p, std=np.zeros_like(p), lower=p.copy(), upper=p.copy(), level=self.level)
        from scipy.stats import norm

        mean, std = (v.numpy() for v in ConditionalNP.gaussian(out))
        if scaler is not None:
            mean, std = scaler.inverse_mean(mean), scaler.inverse_std(std)
        z = float(norm.ppf(0.5 + self.level / 2.0))
        return Prediction(mean=mean, std=std, lower=mean - z * std, upper=mean + z * std, level=self.level)

    def _check_fitted(self) -> None:
        if not hasattr(self, "support_X_"):
            raise NotFittedError.for_object(self, FIT_HOW)

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Predictions for query embeddings ``X`` ``[n_query, d]`` (fields float64 ``[n_query]``)."""
        self._check_fitted()
        X = check_features(X, "Query")
        return self._prediction(self._outputs(self.support_X_, self.support_y_, X), self.scaler_)

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        if self.task != "classification":
            raise ValueError("predict_proba_features is for classification: use predict_features")
        return self.predict_features(X).mean

    def predict_support_free(self, X: np.ndarray, *, n_support: int | None = None) -> Prediction:
        """The empty-context prior at query embeddings ``X`` ``[n_query, d]`` (regression: standardised units)."""
        self._check_n_support(n_support)
        X = check_features(X, "Query")
        d = X.shape[1]
        return self._prediction(self._outputs(np.zeros((0, d), np.float32), np.zeros(0), X), None)

    def adapted_state(self) -> dict[str, np.ndarray]:
        """``support_X`` (float32 ``[n, d]``), ``support_y`` (float64 ``[n]``, standardised for regression),
        ``n_support`` and, for regression, the target scaler."""
        self._check_fitted()
        state = {"support_X": self.support_X_, "support_y": np.asarray(self.support_y_, dtype=np.float64),
                 "n_support": np.asarray(self.n_support_, dtype=np.int64)}
        if self.scaler_ is not None:
            state.update(self.scaler_.state())
        return state

    def load_adapted_state(self, state) -> "CNPLearner":
        """Take over a state from :meth:`adapted_state`; ``ValueError`` names a missing or malformed entry."""
        X = np.asarray(state_entry(state, "support_X", ndim=2), dtype=np.float32)
        y = np.asarray(state_entry(state, "support_y", ndim=1), dtype=np.float64)
        if X.shape[0] != y.size:
            raise ValueError(f"the adapted state has {X.shape[0]} support rows but {y.size} labels")
        self.scaler_ = TargetScaler.from_state(state) if self.task == "regression" else None
        self.support_X_, self.support_y_ = X, y
        self.n_support_ = int(state_entry(state, "n_support"))
        return self
