"""Prototypical networks (Snell et al., 2017) for few-shot binary classification.

A class prototype is the mean embedding of that class's support molecules; a query's
logit for class ``c`` is ``-scale * ||f(q) - p_c||^2`` (squared Euclidean; ``scale`` is a
learned scalar when ``learn_scale`` is on, i.e. a learned metric temperature).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from sciml.config import default_device
from sciml.learners.base import FewShotLearner, check_binary_support
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
        Maps a PyG batch to ``[n_graphs, d]`` embeddings.
    learn_scale : bool
        Learn the metric scale (a positive scalar multiplying the distances).
    init_scale : float
        Initial scale; ``1 / d`` keeps initial logits of order one.
    """

    def __init__(self, encoder: nn.Module, learn_scale: bool = True, init_scale: float | None = None):
        super().__init__()
        self.encoder = encoder
        d = getattr(encoder, "out_dim", 1)
        init = init_scale if init_scale is not None else 1.0 / d
        self.log_scale = nn.Parameter(torch.tensor(math.log(init)), requires_grad=learn_scale)

    @property
    def scale(self) -> Tensor:
        return self.log_scale.exp()

    def embed(self, batch) -> Tensor:
        return self.encoder(batch)

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
    """A meta-trained :class:`ProtoNet` used as a few-shot learner on SMILES.

    ``featurize`` embeds molecules once (eval mode, no gradients); ``fit_features``
    computes the two prototypes; ``predict_proba_features`` gives ``P(y=1)``.
    Learned state: ``prototypes_`` ``[2, d]``.
    """

    name: ClassVar[str] = "protonet"
    description: ClassVar[str] = "prototypical network on a meta-trained GINE encoder"

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

    def featurize(self, smiles: list[str]) -> np.ndarray:
        from sciml.graphs import embed_inputs

        return embed_inputs(self.model.encoder, self.featurizer, smiles, self.device, self.batch_size)

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "ProtoNetLearner":
        y = check_binary_support(y)
        with torch.no_grad():
            self.prototypes_ = prototypes(torch.as_tensor(X, dtype=torch.float32), torch.tensor(y))
        return self

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "prototypes_"):
            raise RuntimeError("ProtoNetLearner is not fitted: call fit() on a support set first.")
        with torch.no_grad():
            q = torch.as_tensor(X, dtype=torch.float32)
            logits = -self.model.scale.detach().cpu() * squared_distances(q, self.prototypes_)
            return torch.softmax(logits, -1)[:, 1].numpy().astype(np.float64)
