"""The new-assay protocol on the shared collections: load the committed split, pool the meta-training tasks.

The split itself (:mod:`assays.protocols.new_assay`) is built by
``scripts/make_new_assay_split.py`` and committed as ``benchmarks/results/new_assay_split.json``
(counts and digests, no molecule). :func:`load_new_assay` loads the collections it names,
rebuilds the split from the data and verifies it against the record (about six minutes on
two cores, most of it RDKit canonicalisation and scaffolds), and saves the per-molecule
assignment in the cache folder (:func:`sciml.config.default_cache_dir`, outside the project)
so that the next call only checks the assignment's digests against the record.

Meta-training pools the train and validation tasks of every collection of one kind
(:func:`pooled_train_collection`): classification (Tox21, SIDER, ToxCast; MUV keeps no train
task under the split) and regression (MoleculeACE), each on train molecules only. Test tasks
are evaluated per collection, on test molecules only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Mapping

from assays.protocols.new_assay import (NewAssaySplit, apply_split, load_split_record, rebuild_split,
                                        split_from_record)
from assays.protocols.new_assay_records import PROVENANCE_KEYS
from assays.task import TaskCollection

__all__ = ["SPLIT_RECORD", "KINDS", "split_key", "load_new_assay", "pooled_train_collection", "evaluation_collection"]

logger = logging.getLogger(__name__)

#: The committed split record, relative to the project root.
SPLIT_RECORD = Path("benchmarks/results/new_assay_split.json")
#: Task kinds meta-trained on separately (one pooled model per kind).
KINDS = ("classification", "regression")


def split_key(record: Mapping) -> str:
    """SHA-256 of the record without its provenance: names the cached assignment of this split."""
    body = {k: v for k, v in record.items() if k not in PROVENANCE_KEYS}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def _cache_path(record: Mapping, cache_dir: Path | None) -> Path:
    from sciml.config import default_cache_dir

    return Path(cache_dir or default_cache_dir()) / "new_assay" / f"assignment-{split_key(record)[:20]}.parquet"


def _read_assignment(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    import pandas as pd

    df = pd.read_parquet(path)
    canonical = dict(zip(df["input"], df["canonical"]))
    side = dict(zip(df["canonical"], df["side"]))
    return side, canonical


def _write_assignment(path: Path, split: NewAssaySplit) -> None:
    import pandas as pd

    canonical = split._canonical
    df = pd.DataFrame({"input": list(canonical), "canonical": list(canonical.values())})
    df["side"] = df["canonical"].map(split._side)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def load_new_assay(data_dir=None, record_path: str | os.PathLike = SPLIT_RECORD, *, cache_dir: Path | None = None,
                   use_cache: bool = True) -> tuple[dict[str, TaskCollection], NewAssaySplit, dict]:
    """The collections of the split record under the split.

    Parameters
    ----------
    data_dir : path, optional
        Shared data folder (default ``$SCIML_DATA_DIR`` or ``../shared/data``).
    record_path : path, default :data:`SPLIT_RECORD`
    cache_dir : path, optional
        Where the per-molecule assignment is cached (default the sciml cache folder).
    use_cache : bool, default True
        ``False`` always rebuilds and verifies (and refreshes the cache).

    Returns
    -------
    (collections, split, record)
        ``collections``: name -> :func:`~assays.protocols.new_assay.apply_split` of that
        collection (train / val tasks on train molecules, test tasks on test molecules).

    Raises
    ------
    assays.protocols.new_assay.SplitMismatchError
        The data or the code give another split than the record's.
    """
    from pipelines.run import load_collection
    from sciml.config import resolve_data_dir

    data_dir = resolve_data_dir(data_dir)
    record = load_split_record(record_path)
    raw = {n: load_collection(n, data_dir) for n in record["collections"]}
    cache = _cache_path(record, cache_dir)
    if use_cache and cache.is_file():
        side, canonical = _read_assignment(cache)
        split = split_from_record(record, side, canonical)
        logger.info("new-assay split: assignment read from %s", cache)
    else:
        logger.info("new-assay split: rebuilding from %s (several minutes)", data_dir)
        split = rebuild_split(raw, record)
        _write_assignment(cache, split)
    return {n: apply_split(c, split, name=n) for n, c in raw.items()}, split, record


def pooled_train_collection(collections: Mapping[str, TaskCollection], kind: str) -> TaskCollection:
    """One collection of every train and validation task of ``kind`` over ``collections`` (no test task).

    Task names carry their collection (``tox21/NR-AR``), so they stay unique; a repeated name is
    a ``ValueError``. ``ValueError`` too when no collection has a train task of that kind.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    tasks, train, val, names = {}, [], [], []
    for name, coll in collections.items():
        for part, out in (("train", train), ("val", val)):
            for t in getattr(coll, part):
                task = coll.tasks[t]
                if task.kind != kind:
                    continue
                if t in tasks:
                    raise ValueError(f"task {t!r} occurs in more than one collection; names must be unique")
                tasks[t] = task
                out.append(t)
        if any(coll.tasks[t].kind == kind for t in coll.train):
            names.append(name)
    if not train:
        raise ValueError(f"no {kind} train task in {sorted(collections)}")
    return TaskCollection(name=f"new_assay/{kind}", tasks=tasks, train=train, val=val, test=[],
                          source="+".join(names))


def evaluation_collection(collections: Mapping[str, TaskCollection], name: str) -> TaskCollection:
    """The test tasks of one collection under the split (no train or validation task)."""
    coll = collections[name]
    return TaskCollection(name=name, tasks={t: coll.tasks[t] for t in coll.test}, test=list(coll.test),
                          source=coll.source)
