"""Holding featurized molecules in memory, batching them, and embedding them with an encoder."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import torch
from torch_geometric.data import Batch

logger = logging.getLogger(__name__)


class GraphStore:
    """Graphs of a fixed list of SMILES, addressable by SMILES or position.

    Invalid SMILES are kept out of the store and listed in ``errors`` (input position ->
    reason); ``index[smiles]`` gives the position of a valid molecule in ``graphs``.
    """

    def __init__(self, featurizer, smiles: Sequence[str], progress: bool = False):
        res = featurizer.featurize(list(smiles), progress=progress)
        self.errors = res.errors
        self.graphs = []
        self.index: dict[str, int] = {}
        for s, g in zip(smiles, res.graphs):
            if g is not None and s not in self.index:
                self.index[s] = len(self.graphs)
                self.graphs.append(g)

    def __len__(self) -> int:
        return len(self.graphs)

    def positions(self, smiles: Sequence[str]) -> np.ndarray:
        """Store positions of ``smiles`` (all must be valid)."""
        return np.fromiter((self.index[s] for s in smiles), dtype=np.int64, count=len(smiles))

    def batch(self, positions: Sequence[int]) -> Batch:
        return Batch.from_data_list([self.graphs[i] for i in positions])


@contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put ``module`` in eval mode for the block, then restore its previous mode."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@torch.no_grad()
def embed_graphs(encoder: torch.nn.Module, graphs: list, device: str = "cpu", batch_size: int = 256,
                 progress: bool = False) -> np.ndarray:
    """Embed graphs in eval mode. Returns ``[n_graphs, out_dim]`` float32."""
    out = []
    starts = range(0, len(graphs), batch_size)
    if progress and len(graphs) > 5 * batch_size:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="embedding", unit="batch", disable=None)
    with eval_mode(encoder):
        for i in starts:
            b = Batch.from_data_list(graphs[i : i + batch_size]).to(device)
            out.append(encoder(b).float().cpu())
    if not out:
        return np.zeros((0, getattr(encoder, "out_dim", 0)), dtype=np.float32)
    return torch.cat(out).numpy()


def embed_smiles(encoder, featurizer, smiles: Sequence[str], device: str = "cpu", batch_size: int = 256,
                 progress: bool = False) -> np.ndarray:
    """Embed valid SMILES (raises ``ValueError`` naming the first invalid one)."""
    res = featurizer.featurize(list(smiles), progress=progress)
    if res.errors:
        i = min(res.errors)
        raise ValueError(f"input {i} ({smiles[i]!r}): {res.errors[i]}")
    return embed_graphs(encoder, res.graphs, device, batch_size, progress)
