"""Hyperparameters of :class:`~sciml.learners.maml.algorithm.MAML` (stored in checkpoints).

Also what BMAML shares with it: the log-variance bounds of the regression heads and
:class:`LearnerConfig`, the dict round trip of a checkpoint's ``learner_config``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal, Mapping, TypeVar

__all__ = ["LOG_VAR_MIN", "LOG_VAR_MAX", "LearnerConfig", "MAMLConfig"]

#: Bounds of the predicted log-variance (regression heads of MAML and BMAML), for numerical stability.
LOG_VAR_MIN, LOG_VAR_MAX = -10.0, 10.0

_Config = TypeVar("_Config", bound="LearnerConfig")


class LearnerConfig:
    """Base of a learner's hyperparameter dataclass: ``to_dict`` / ``from_dict``, the ``learner_config`` of a
    checkpoint (:class:`MAMLConfig`, :class:`~sciml.learners.bmaml.algorithm.BMAMLConfig`)."""

    def to_dict(self) -> dict:
        """Every field by name (JSON-serialisable for the shipped configs)."""
        return asdict(self)

    @classmethod
    def from_dict(cls: type[_Config], d: Mapping) -> _Config:
        """The config of a :meth:`to_dict` output; keys this version's class lacks are a ``ValueError``."""
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"learner config keys {unknown} are not settings of this sciml version's {cls.__name__}")
        return cls(**d)


@dataclass
class MAMLConfig(LearnerConfig):
    """Hyperparameters of :class:`~sciml.learners.maml.algorithm.MAML` (stored in checkpoints).

    Parameters
    ----------
    inner_steps : int, default 5
        Gradient steps on the support loss per episode (0 = no adaptation).
    inner_lr : float, default 0.05
        Inner-loop learning rate (the initial value of the learned rates when ``meta_sgd``).
    first_order : bool, default False
        FOMAML: drop the second-order terms of the meta-gradient.
    meta_sgd : bool, default False
        Meta-SGD: learn a per-element inner learning rate (parameterised as its log).
    adapt : {"head", "all"}, default "head"
        ``"head"``: ANIL, only the head adapts; ``"all"``: encoder and head adapt.
    head_hidden : int, default 128
        Hidden width of the head MLP; 0 makes the head a single linear layer.
    task : {"classification", "regression"}, default "classification"
        Binary classification (one logit, BCE) or regression (mean and log-variance,
        Gaussian NLL).
    dropout : float, default 0.0
        Dropout in the head (between its hidden and output layers).
    normalize : bool, default True
        L2-normalise embeddings before the head. GNN embeddings can have norms of
        tens, and a gradient step on a linear layer changes its output in proportion
        to the squared input norm, so without it a fixed inner learning rate
        overshoots (regression diverges at ``inner_lr=0.05``).
    algorithm : {"maml", "reptile"}, default "maml"
        ``"reptile"`` (Nichol et al. 2018): in meta-training the inner loop runs ``inner_steps``
        first-order SGD steps on the support and query of the episode together, and the
        meta-gradient is ``theta - phi`` (the initialisation minus the adapted weights, through
        the surrogate loss ``0.5 * ||theta - stop_grad(phi)||^2``), so the outer optimiser moves the
        initialisation toward each task's adapted weights. Needs ``adapt="all"`` (with ANIL the
        encoder would get no signal). Test time is MAML's: adapt on the support.
    zero_init_head : bool, default False
        The zeroing trick (Kao et al., ICLR 2022): every inner loop starts the head's
        output layer at zero instead of at its meta-learned value, so the unadapted
        model predicts P = 0.5 (or mean 0, variance 1 in support-standardised units)
        for every molecule and all task-specific signal comes from the support set;
        the first inner step makes the output weights ``inner_lr * mean_i (y_i - 0.5) h_i``,
        a contrast of the support's hidden features (MAML becomes a noisy contrastive
        learner). The output layer's own parameters are then unused.
    """

    inner_steps: int = 5
    inner_lr: float = 0.05
    first_order: bool = False
    meta_sgd: bool = False
    adapt: Literal["head", "all"] = "head"
    head_hidden: int = 128
    task: Literal["classification", "regression"] = "classification"
    dropout: float = 0.0
    normalize: bool = True
    zero_init_head: bool = False
    algorithm: Literal["maml", "reptile"] = "maml"

    def __post_init__(self) -> None:
        if self.adapt not in ("head", "all"):
            raise ValueError(f"adapt must be 'head' (ANIL) or 'all', got {self.adapt!r}")
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if int(self.inner_steps) < 0:
            raise ValueError(f"inner_steps must be >= 0, got {self.inner_steps}")
        if not self.inner_lr > 0:
            raise ValueError(f"inner_lr must be > 0, got {self.inner_lr}")
        if int(self.head_hidden) < 0:
            raise ValueError(f"head_hidden must be >= 0, got {self.head_hidden}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.algorithm not in ("maml", "reptile"):
            raise ValueError(f"algorithm must be 'maml' or 'reptile', got {self.algorithm!r}")
        if self.algorithm == "reptile" and (self.adapt != "all" or self.zero_init_head):
            raise ValueError("reptile needs adapt='all' and no zero_init_head (it moves the initialisation of every "
                             "weight toward the adapted ones)")
