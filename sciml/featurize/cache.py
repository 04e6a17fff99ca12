"""On-disk cache of featurized molecular graphs, keyed by SMILES and featurizer spec.

Layout: ``<cache_dir>/graphs/<spec key>/shard-<time>-<pid>.pt`` plus ``.json`` (its SMILES). Each shard is a dict of
plain tensors plus a list of SMILES (saved with ``torch.save`` and read back with
``torch.load(weights_only=True)``, so reading a cache never unpickles code):

- ``smiles``: list[str] of length n
- ``x`` [sum atoms, atom_dim], ``x_ptr`` [n + 1]
- ``edge_index`` [2, sum edges] (local atom indices), ``edge_attr`` [sum edges, bond_dim], ``e_ptr`` [n + 1]
- ``gfeat`` [n, fingerprint_bits] uint8 (only when the spec has a fingerprint)

New graphs are appended as new shards, so concurrent writers never clobber each
other; a corrupt shard is skipped with a warning.

Each listing is ``{"smiles": [...], "hmac": ...}``: the HMAC-SHA256 of the shard's bytes under
this user's cache key (:func:`sciml.files.cache_signature`; the key lives outside the cache
folder). A shard whose bytes do not match its listing's signature, or whose listing has
none (written by an older sciml or by someone else), is ignored with a warning and its
molecules are featurized again: whoever can write to ``$SCIML_CACHE_DIR`` cannot change a
molecule's graph, and so its predictions.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from pathlib import Path

import torch
from torch_geometric.data import Data

from sciml.config import default_cache_dir
from sciml.files import atomic_write_bytes, atomic_write_text, cache_signature, signature_ok

logger = logging.getLogger(__name__)


class GraphCache:
    """A folder of graph shards for one featurizer spec (see module docstring).

    Each shard ``shard-*.pt`` has a small companion ``shard-*.json`` listing its SMILES;
    lookups read only those lists and then load just the shards that hold requested
    molecules, so predicting a handful of molecules does not load a 100k-molecule cache.
    One instance per folder is shared within a process (:meth:`for_spec`).
    """

    _instances: dict[Path, "GraphCache"] = {}

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._where: dict[str, str] = {}  # smiles -> shard file name
        self._seen: set[str] = set()  # shard names already indexed
        self._loaded: dict[str, dict[str, Data]] = {}  # shard name -> graphs
        self._sig: dict[str, str] = {}  # shard name -> the signature its listing records
        self._lock = threading.Lock()

    @classmethod
    def for_spec(cls, spec, root: Path | None = None) -> "GraphCache":
        root = Path(root) if root is not None else default_cache_dir()
        folder = root / "graphs" / spec.key()
        if folder not in cls._instances:
            cls._instances[folder] = cls(folder)
        return cls._instances[folder]

    def _refresh_index(self) -> None:
        """Index shards written since the last look (by this or another process); unsigned ones are ignored."""
        ignored: list[str] = []
        for shard in sorted(self.folder.glob("shard-*.pt")):
            if shard.name in self._seen:
                continue
            listing = shard.with_suffix(".json")
            if not listing.is_file():  # its writer stopped before committing it
                continue
            self._seen.add(shard.name)
            try:
                entry = json.loads(listing.read_text())
                if not (isinstance(entry, dict) and isinstance(entry.get("hmac"), str)
                        and isinstance(entry.get("smiles"), list)):
                    raise ValueError("its listing carries no signature (an older sciml, or not written by you)")
            except Exception as e:  # a half-written or foreign file must not break a run
                ignored.append(f"{shard.name}: {e}")
                continue
            self._sig[shard.name] = entry["hmac"]
            for smi in entry["smiles"]:
                self._where.setdefault(smi, shard.name)
        if ignored:
            logger.warning("ignoring %d graph cache shard(s) in %s (their molecules are featurized again), e.g. %s",
                           len(ignored), self.folder, ignored[0])

    def _shard(self, name: str) -> dict[str, Data]:
        if name not in self._loaded:
            try:
                data = (self.folder / name).read_bytes()
                if not signature_ok(data, self._sig.get(name)):
                    raise ValueError("its bytes do not match the signature in its listing (changed after writing)")
                self._loaded[name] = _unpack(torch.load(io.BytesIO(data), weights_only=True))
            except Exception as e:
                logger.warning("ignoring graph cache shard %s: %s; its molecules are featurized again",
                               self.folder / name, e)
                self._loaded[name] = {}
        return self._loaded[name]

    def get_many(self, smiles: list[str]) -> dict[str, Data]:
        """Cached graphs for those of ``smiles`` that are in the cache."""
        if not self.folder.is_dir():
            return {}
        with self._lock:
            self._refresh_index()
            out: dict[str, Data] = {}
            for s in smiles:
                if isinstance(s, str) and s in self._where and s not in out:
                    g = self._shard(self._where[s]).get(s)
                    if g is not None:
                        out[s] = g
            return out

    def put_many(self, graphs: dict[str, Data]) -> None:
        """Write ``graphs`` as one new shard plus its SMILES listing (atomic renames; listing last)."""
        if not graphs:
            return
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"shard-{time.time_ns()}-{os.getpid()}.pt"
            buf = io.BytesIO()
            torch.save(_pack(graphs), buf)
            data = buf.getvalue()
            atomic_write_bytes(self.folder / name, data)
            sig = cache_signature(data)
            # the listing last: it commits the shard
            atomic_write_text((self.folder / name).with_suffix(".json"), json.dumps({"smiles": list(graphs),
                                                                                    "hmac": sig}))
            self._sig[name] = sig
            self._seen.add(name)
            self._loaded[name] = dict(graphs)
            for smi in graphs:
                self._where.setdefault(smi, name)
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
