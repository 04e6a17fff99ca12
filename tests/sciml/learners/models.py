"""Small models that several learner test modules build."""

from __future__ import annotations

import torch

from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM
from sciml.encoders.gin import GINEConfig, GINEncoder


def tiny_gin(seed: int = 0, depth: int = 2, hidden: int = 16) -> GINEncoder:
    """A GINE encoder on molecule graphs with 8-wide embeddings, initialised from ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return GINEncoder(GINEConfig(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=hidden, depth=depth, out_dim=8,
                                 pooling="mean", dropout=0.0, norm="batch"))
