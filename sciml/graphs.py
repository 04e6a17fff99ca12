"""Holding featurized inputs in memory, batching them, and embedding them with an encoder.

Domain-generic: the featurizer of the input's domain featurizes (``featurize``) and
batches (``collate``); graph domains batch with PyG's ``Batch``.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import torch
logger = logging.getLogger(__name__)


class GraphStore:
    """Featurized items (graphs) of a fixed list of inputs, addressable by input or position.

    Invalid inputs are kept out of the store and listed in ``errors`` (input position ->
    reason); ``index[input]`` gives the position of a valid input in ``graphs``.
    """

    def __init__(self, featurizer, inputs: Sequence[str], progress: bool = False):
        res = featurizer.featurize(list(inputs), progress=progress)
        self.collate = featurizer.collate
        self.errors = res.errors
        self.graphs = []
        self.index: dict[str, int] = {}
        for s, g in zip(inputs, res.items):
            if g is not None and s not in self.index:
                self.index[s] = len(self.graphs)
                self.graphs.append(g)

    def __len__(self) -> int:
        return len(self.graphs)

    def positions(self, inputs: Sequence[str]) -> np.ndarray:
        """Store positions of ``inputs`` (all must be valid)."""
        return np.fromiter((self.index[s] for s in inputs), dtype=np.int64, count=len(inputs))

    def batch(self, positions: Sequence[int]):
        """The collated batch of the items at ``positions`` (what the encoder takes)."""
        return self.collate([self.graphs[i] for i in positions])


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
                 progress: bool = False, collate=None) -> np.ndarray:
    """Embed featurized items in eval mode, batched by ``collate`` (default: PyG ``Batch``). Returns ``[n, out_dim]`` float32."""
    if collate is None:
        from torch_geometric.data import Batch

        collate = Batch.from_data_list
    out = []
    starts = range(0, len(graphs), batch_size)
    if progress and len(graphs) > 5 * batch_size:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="embedding", unit="batch", disable=None)
    with eval_mode(encoder):
        for i in starts:
            b = collate(graphs[i : i + batch_size]).to(device)
            out.append(encoder(b).float().cpu())
    if not out:
        return np.zeros((0, getattr(encoder, "out_dim", 0)), dtype=np.float32)
    return torch.cat(out).numpy()


def featurize_items(featurizer, inputs: Sequence[str], progress: bool = False) -> list:
    """The featurized items of ``inputs`` (``featurizer.featurize(inputs).items``), all valid.

    Raises
    ------
    ValueError
        Naming the first invalid input and the featurizer's reason.
    """
    inputs = list(inputs)
    res = featurizer.featurize(inputs, progress=progress)
    if res.errors:
        i = min(res.errors)
        raise ValueError(f"input {i} ({inputs[i]!r}): {res.errors[i]}")
    return list(res.items)


def embed_inputs(encoder, featurizer, inputs: Sequence[str], device: str = "cpu", batch_size: int = 256,
                 progress: bool = False) -> np.ndarray:
    """Embed valid inputs ``[n]`` -> ``[n, out_dim]`` (raises ``ValueError`` naming the first invalid one)."""
    return embed_graphs(encoder, featurize_items(featurizer, inputs, progress), device, batch_size, progress,
                        collate=featurizer.collate)
