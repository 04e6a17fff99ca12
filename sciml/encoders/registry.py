"""The encoder registry: ``@ENCODERS.register("name")`` on each encoder class (with a ``config_cls``)."""

from __future__ import annotations

from torch import nn

from sciml.registry import ClassRegistry

__all__ = ["ENCODERS", "build_encoder"]

#: name -> encoder class; each class has ``config_cls`` (a dataclass of its hyperparameters).
ENCODERS: ClassRegistry = ClassRegistry("encoder")


def build_encoder(name: str, config: dict) -> nn.Module:
    """Instantiate encoder ``name`` from a plain config dict (as stored in checkpoints).

    Raises ``ValueError`` for an unknown name (listing the known ones) and ``TypeError``
    for config keys the encoder's ``config_cls`` does not take.
    """
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; available: {', '.join(ENCODERS)}")
    cls = ENCODERS[name]
    return cls(cls.config_cls(**config))
