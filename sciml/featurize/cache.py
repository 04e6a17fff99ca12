"""On-disk cache of featurized molecular graphs, keyed by SMILES and featurizer spec.

Layout: ``<cache_dir>/graphs/<spec key>/shard-<time>-<pid>.pt``. Each shard is a dict of
plain tensors plus a list of SMILES (saved with ``torch.save`` and read back with
``torch.load(weights_only=True)``, so reading a cache never unpickles code):

- ``smiles``: list[str] of length n
- ``x`` [sum atoms, atom_dim], ``x_ptr`` [n + 1]
- ``edge_index`` [2, sum edges] (local atom indices), ``edge_attr`` [sum edges, bond_dim], ``e_ptr`` [n + 1]
- ``gfeat`` [n, fingerprint_bits] uint8 (only when the spec has a fingerprint)

New graphs are appended as new shards, so concurrent writers never clobber each
other; a corrupt shard is skipped with a warning.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import torch
from torch_geometric.data import Data

from sciml.config import default_cache_dir

logger = logging.getLogger(__name__)


class GraphCache:
    """A folder of graph shards for one featurizer spec (see module docstring)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._index: dict[str, Data] | None = None

    @classmethod
    def for_spec(cls, spec, root: Path | None = None) -> "GraphCache":
        root = Path(root) if root is not None else default_cache_dir()
        return cls(root / "graphs" / spec.key())

    def _load(self) -> dict[str, Data]:
        if self._index is not None:
            return self._index
        index: dict[str, Data] = {}
        for shard in sorted(self.folder.glob("shard-*.pt")):
            try:
                blob = torch.load(shard, weights_only=True)
                index.update(_unpack(blob))
            except Exception as e:  # a half-written or foreign file must not break a run
                logger.warning("skipping unreadable graph cache shard %s: %s", shard, e)
        self._index = index
        return index

    def get_many(self, smiles: list[str]) -> dict[str, Data]:
        """Cached graphs for those of ``smiles`` that are in the cache."""
        if not self.folder.is_dir():
            return {}
        index = self._load()
        return {s: index[s] for s in smiles if isinstance(s, str) and s in index}

    def put_many(self, graphs: dict[str, Data]) -> None:
        """Write ``graphs`` as one new shard (atomic rename)."""
        if not graphs:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"shard-{time.time_ns()}-{os.getpid()}.pt"
        tmp = self.folder / (name + ".tmp")
        torch.save(_pack(graphs), tmp)
        tmp.replace(self.folder / name)
        if self._index is not None:
            self._index.update(graphs)
        logger.debug("cached %d graphs in %s", len(graphs), self.folder / name)


def _pack(graphs: dict[str, Data]) -> dict:
    smiles = list(graphs)
    gs = [graphs[s] for s in smiles]
    n_atoms = torch.tensor([0] + [g.num_nodes for g in gs])
    n_edges = torch.tensor([0] + [g.edge_index.shape[1] for g in gs])
    blob = {
        "smiles": smiles,
        "x": torch.cat([g.x for g in gs]),
        "x_ptr": torch.cumsum(n_atoms, 0),
        "edge_index": torch.cat([g.edge_index for g in gs], dim=1),
        "edge_attr": torch.cat([g.edge_attr for g in gs]),
        "e_ptr": torch.cumsum(n_edges, 0),
    }
    if "gfeat" in gs[0]:
        blob["gfeat"] = torch.cat([g.gfeat for g in gs])
    return blob


def _unpack(blob: dict) -> dict[str, Data]:
    out = {}
    xp, ep = blob["x_ptr"].tolist(), blob["e_ptr"].tolist()
    gfeat = blob.get("gfeat")
    for i, s in enumerate(blob["smiles"]):
        d = Data(
            x=blob["x"][xp[i] : xp[i + 1]],
            edge_index=blob["edge_index"][:, ep[i] : ep[i + 1]],
            edge_attr=blob["edge_attr"][ep[i] : ep[i + 1]],
        )
        if gfeat is not None:
            d.gfeat = gfeat[i : i + 1]
        out[s] = d
    return out
