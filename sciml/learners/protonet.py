"""Prototypical networks (Snell et al., 2017) for few-shot binary classification.

A class prototype is the mean embedding of that class's support inputs; a query's
logit for class ``c`` is ``-scale * ||f(q) - p_c||^2`` (squared Euclidean; ``scale`` is a
learned scalar when ``learn_scale`` is on, i.e. a learned metric temperature).
:class:`ProtoNet` is the model on encoder inputs; :class:`ProtoNetLearner` the few-shot
learner, whose adapted state is the two prototypes.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from sciml.config import default_device
from sciml.errors import NotFittedError
from sciml.learners.base import FIT_HOW, FewShotLearner, check_binary_support, state_entry
from sciml.learners.meta import MetaLearnerMixin
from sciml.learners.registry import LEARNERS


def prototypes(emb: Tensor, y: Tensor, n_classes: int = 2) -> Tensor:
    """Class means of support embeddings.

    Shapes:
        - emb: ``[n_support, d]``; y: ``[n_support]`` integer classes in ``[0, n_classes)``
        - output: ``[n_classes, d]``
    """
    y = y.long()
    onehot = torch.nn.functional.one_hot(y, n_classes).to(emb.dtype)  # [n, c]
    counts = onehot.sum(0).clamp_min(1.0)  # [c]
    return (onehot.T @ emb) / counts[:, None]


def squared_distances(q: Tensor, p: Tensor) -> Tensor:
    """``||q_i - p_c||^2``. Shapes: q ``[m, d]``, p ``[c, d]`` -> ``[m, c]``."""
    return (q.unsqueeze(1) - p.unsqueeze(0)).pow(2).sum(-1)


class ProtoNet(nn.Module):
    """Encoder + prototype classifier.

    Parameters
    ----------
    encoder : nn.Module
        Maps encoder inputs of ``n`` items (a PyG batch for graph encoders) to ``[n, d]`` embeddings.
    learn_scale : bool
        Learn the metric scale (a positive scalar multiplying the distances).
    init_scale : float
        Initial scale; ``1 / d`` keeps initial logits of order one.
    """

    def __init__(self, encoder: nn.Module, learn_scale: bool = True, init_scale: float | None = None):
        super().__init__()
        self.encoder = encoder
        d = getattr(encoder, "out_dim", 1)
        self.init_scale = init_scale if init_scale is not None else 1.0 / d
        self.log_scale = nn.Parameter(torch.tensor(math.log(self.init_scale)), requires_grad=learn_scale)

    def reset_parameters(self) -> None:
        """Re-initialise the encoder (when it has ``reset_parameters``) and the scale (``init_scale``)."""
        if hasattr(self.encoder, "reset_parameters"):
            self.encoder.reset_parameters()
        with torch.no_grad():
            self.log_scale.fill_(math.log(self.init_scale))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.encoder!r}, learn_scale={self.log_scale.requires_grad}, "
                f"scale={float(self.scale.detach()):.4g})")

    @property
    def scale(self) -> Tensor:
        return self.log_scale.exp()

    def embed(self, batch) -> Tensor:
        """Encoder embeddings ``[n, d]`` of a batch of ``n`` items."""
        return self.encoder(batch)

    forward = embed

    def logits(self, support_emb: Tensor, support_y: Tensor, query_emb: Tensor) -> Tensor:
        """Shapes: support_emb ``[n, d]``, support_y ``[n]``, query_emb ``[m, d]`` -> ``[m, 2]``."""
        return -self.scale * squared_distances(query_emb, prototypes(support_emb, support_y))

    def episode_loss(self, batch, n_support: int, support_y: Tensor, query_y: Tensor) -> Tensor:
        """Cross-entropy on the query of one episode whose graphs are ``support + query`` in ``batch``."""
        emb = self.embed(batch)
        logits = self.logits(emb[:n_support], support_y, emb[n_support:])
        return nn.functional.cross_entropy(logits, query_y.long())


@LEARNERS.register()
class ProtoNetLearner(MetaLearnerMixin, FewShotLearner):
    """A meta-trained :class:`ProtoNet` used as a few-shot learner on inputs of its featurizer's domain.

    ``featurize`` embeds inputs once (eval mode, no gradients) through the featurizer
    (``featurize`` / ``collate``); ``fit_features`` computes the two prototypes;
    ``predict_proba_features`` gives ``P(y=1)``.
    Learned state: ``prototypes_`` ``[2, d]`` and ``n_support_``; the adapted state
    (:meth:`adapted_state`) is ``prototypes`` and ``n_support``.
    """

    name: ClassVar[str] = "protonet"
    description: ClassVar[str] = "prototypical network on a meta-trained GINE encoder"
    #: None: prototypes are support means; without support labels a metric learner has no class to score
    #: against (a support-free ProtoNet score needs a separately trained multitask head).
    support_free: ClassVar[str | None] = None

    def __init__(self, model: ProtoNet, featurizer, device: str | None = None, batch_size: int = 256):
        self.model = model
        self.featurizer = featurizer
        self.device = device or default_device()
        self.batch_size = batch_size

    checkpoint_learners = ("protonet",)

    @classmethod
    def learner_config_for(cls, learner_config: dict, task: str, learn_scale: bool = True, **_) -> dict:
        """ProtoNet's config has no task (it classifies); ``learn_scale`` defaults to the run's."""
        return {"learn_scale": learn_scale, **learner_config}

    @classmethod
    def build_model(cls, encoder: nn.Module, learner_config: dict) -> ProtoNet:
        return ProtoNet(encoder, **learner_config)

    @classmethod
    def model_config(cls, model: ProtoNet) -> dict:
        return {"learn_scale": bool(model.log_scale.requires_grad)}

    def featurize(self, inputs: list) -> np.ndarray:
        """Eval-mode encoder embeddings ``float32 [n, d]``."""
        from sciml.graphs import embed_inputs

        return embed_inputs(self.model.encoder, self.featurizer, list(inputs), self.device, self.batch_size)

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "ProtoNetLearner":
        """Prototypes of support embeddings ``X`` ``[n_support, d]`` with 0/1 labels ``y`` ``[n_support]``."""
        y = check_binary_support(y)
        with torch.no_grad():
            self.prototypes_ = prototypes(torch.as_tensor(X, dtype=torch.float32), torch.tensor(y))
        self.n_support_ = y.size
        return self

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """``P(y = 1)`` for query embeddings ``X`` ``[n_query, d]`` -> float64 ``[n_query]``."""
        if not hasattr(self, "prototypes_"):
            raise NotFittedError.for_object(self, FIT_HOW)
        with torch.no_grad():
            q = torch.as_tensor(X, dtype=torch.float32)
            logits = -self.model.scale.detach().cpu() * squared_distances(q, self.prototypes_)
            return torch.softmax(logits, -1)[:, 1].numpy().astype(np.float64)

    def adapted_state(self) -> dict[str, np.ndarray]:
        """``prototypes`` (float32 ``[2, d]``: class 0, class 1) and ``n_support``."""
        if not hasattr(self, "prototypes_"):
            raise NotFittedError.for_object(self, FIT_HOW)
        return {"prototypes": self.prototypes_.cpu().numpy(), "n_support": np.asarray(self.n_support_, dtype=np.int64)}

    def load_adapted_state(self, state) -> "ProtoNetLearner":
        """Take over the prototypes from :meth:`adapted_state` (``ValueError`` unless ``[2, d]``)."""
        protos = np.asarray(state_entry(state, "prototypes", ndim=2), dtype=np.float32)
        if protos.shape[0] != 2:
            raise ValueError(f"the adapted state's 'prototypes' must be [2, d] (one per class), got {protos.shape}")
        self.n_support_ = int(state_entry(state, "n_support"))
        self.prototypes_ = torch.as_tensor(protos)
        return self
