"""Small models that several learner test modules build."""

from __future__ import annotations

import numpy as np
import torch

from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM
from sciml.encoders.gin import GINEConfig, GINEncoder


def tiny_gin(seed: int = 0, depth: int = 2, hidden: int = 16) -> GINEncoder:
    """A GINE encoder on molecule graphs with 8-wide embeddings, initialised from ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return GINEncoder(GINEConfig(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=hidden, depth=depth, out_dim=8,
                                 pooling="mean", dropout=0.0, norm="batch"))


#: A toy assay: aromatics active (1), alcohols inactive (0); regression targets a smooth function of the row.
AROMATICS = ["c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "Cc1ccccc1C", "Clc1ccccc1"]
ALCOHOLS = ["CCO", "CCCO", "CCCCO", "CC(C)O", "CCCCCO"]
SUPPORT = AROMATICS + ALCOHOLS
LABELS = np.array([1.0] * 5 + [0.0] * 5)
TARGETS = np.linspace(-2.0, 5.0, 10) ** 2
QUERY = ["CCCc1ccccc1", "Brc1ccccc1", "Cc1cccc(C)c1", "CCCCCCO", "CC(C)CCO", "OCCCCCCC"]
