"""The encoder registry: ``@ENCODERS.register("name")`` on each encoder class (with a ``config_cls``)."""

from __future__ import annotations

from torch import nn

from sciml.registry import ClassRegistry

__all__ = ["ENCODERS", "Encoder", "build_encoder"]

class Encoder(nn.Module):
    """What every encoder shares: ``config`` (its config dataclass), ``out_dim`` and ``reset_parameters``."""

    config: object

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    def reset_parameters(self) -> None:
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()


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
