"""Graph encoders, built from a config dict through a string-keyed registry."""

from __future__ import annotations

from typing import Callable

from torch import nn

from sciml.encoders.gin import GINEConfig, GINEncoder

#: name -> (config class, encoder class); feeds the CLI's ``--encoder`` choices.
ENCODERS: dict[str, tuple[type, Callable[..., nn.Module]]] = {
    "gine": (GINEConfig, GINEncoder),
}


def build_encoder(name: str, config: dict) -> nn.Module:
    """Instantiate encoder ``name`` from a plain config dict (as stored in checkpoints)."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; available: {sorted(ENCODERS)}")
    cfg_cls, enc_cls = ENCODERS[name]
    return enc_cls(cfg_cls(**config))


__all__ = ["ENCODERS", "GINEConfig", "GINEncoder", "build_encoder"]
