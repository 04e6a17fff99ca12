"""Encoders (``forward(batch) -> [n, out_dim]``), built from a config dict through :data:`ENCODERS`."""

from __future__ import annotations

from sciml.encoders.gin import GINEConfig, GINEncoder  # noqa: F401 - registers "gine"
from sciml.encoders.pretrained import PretrainedMLPConfig, PretrainedMLPEncoder  # noqa: F401 - "pretrained_mlp"
from sciml.encoders.registry import ENCODERS, build_encoder

__all__ = ["ENCODERS", "GINEConfig", "GINEncoder", "PretrainedMLPConfig", "PretrainedMLPEncoder", "build_encoder"]
