"""Scaffold-disjoint splits of molecules, and task collections restricted to them.

The published splits of the few-shot collections separate *tasks*: a test assay is never
trained on, but its molecules, or close analogues of them, may well be in the training
assays. :func:`molecule_disjoint_collection` also separates the *molecules*: every
molecule of the collection is given to one part by its Bemis–Murcko scaffold
(:func:`scaffold_split`, deepchem's ``ScaffoldSplitter``), training and validation tasks
keep only molecules of the train part and test tasks only molecules of the test part, so
no scaffold of a test molecule was seen in meta-training.

>>> parts = scaffold_split(["c1ccccc1O", "c1ccccc1N", "C1CCCCC1O", "CCO"], (0.5, 0.0, 0.5))  # doctest: +SKIP
>>> parts["train"], parts["test"]                                                        # doctest: +SKIP
(['c1ccccc1O', 'c1ccccc1N'], ['C1CCCCC1O', 'CCO'])

deepchem is imported by the first call (several seconds in a fresh interpreter), never
when this module is imported.
"""

from __future__ import annotations

import logging
import zlib
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from assays.task import Task, TaskCollection

__all__ = ["PARTS", "scaffold_split", "restrict_collection", "molecule_disjoint_collection", "task_folds"]

logger = logging.getLogger(__name__)

#: The parts of a split, in the order of ``fractions``; also the split parts of a TaskCollection.
PARTS = ("train", "val", "test")

#: Columns of the report returned with a restricted collection.
REPORT_COLUMNS = ["task", "part", "n_rows", "n_kept", "kept", "reason"]


def scaffold_split(inputs: Sequence[str], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                   seed: int | None = 0) -> dict[str, list[str]]:
    """Split molecules into train / val / test so that no Bemis–Murcko scaffold is in two parts.

    The unique SMILES of ``inputs`` go through deepchem's ``ScaffoldSplitter.split``:
    scaffold sets are taken largest first, each to train while train stays within
    ``fractions[0]`` of the molecules, else to val while train + val stay within
    ``fractions[0] + fractions[1]``, else to test. Large chemotypes thus end in train and
    rare ones in val and test. Acyclic molecules share the empty scaffold (one set).

    Parameters
    ----------
    inputs : sequence of str
        Valid SMILES; repeated strings count once.
    fractions : (float, float, float), default (0.8, 0.1, 0.1)
        Target shares of train, val and test, non-negative and summing to 1. They are met
        approximately: whole scaffold sets move, so a part may fall short by up to the size
        of one set.
    seed : int or None, default 0
        deepchem's splitter is deterministic and ignores seeds (equal-size scaffold sets in a
        fixed order). ``None`` gives exactly deepchem's split; an integer shuffles the order of
        scaffold sets of equal size (:func:`sciml.domains.molecules.scaffolds.scaffold_splitter`),
        so different seeds draw different, equally sized splits and a seed always the same one.

    Returns
    -------
    dict
        ``{"train": [...], "val": [...], "test": [...]}``: each unique input in exactly one
        part, in the order of first appearance in ``inputs``.

    Raises
    ------
    ValueError
        Bad ``fractions``, or inputs that are empty or RDKit cannot read (positions named).
    """
    fr = np.asarray(list(fractions), dtype=np.float64)
    if fr.shape != (3,) or not np.isfinite(fr).all() or (fr < 0).any() or abs(fr.sum() - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three non-negative shares of train, val and test summing to 1, "
                         f"got {tuple(fractions)!r}")
    unique = list(dict.fromkeys(inputs))
    empty = [i for i, s in enumerate(unique) if not isinstance(s, str) or not s.strip()]
    if empty:
        raise ValueError(f"{len(empty)} empty input(s), e.g. {unique[empty[0]]!r}; drop them before splitting")
    if not unique:
        return {p: [] for p in PARTS}
    from rdkit import RDLogger

    from sciml.domains.molecules.scaffolds import scaffold_splitter

    RDLogger.DisableLog("rdApp.*")  # unreadable SMILES are reported below, not by RDKit on stderr
    splitter = scaffold_splitter(seed)
    import deepchem as dc  # already imported by scaffold_splitter

    dataset = dc.data.NumpyDataset(X=np.zeros((len(unique), 1)), ids=np.asarray([s.strip() for s in unique], dtype=object))
    frac = fr / fr.sum()
    idx = splitter.split(dataset, frac_train=float(frac[0]), frac_valid=float(frac[1]),
                         frac_test=float(1.0 - frac[0] - frac[1]))
    part_of = np.full(len(unique), -1, dtype=np.int64)
    for p, rows in enumerate(idx):
        part_of[np.asarray(rows, dtype=np.int64)] = p
    missing = np.flatnonzero(part_of < 0)
    if missing.size:  # deepchem silently leaves out SMILES RDKit cannot read
        shown = ", ".join(repr(str(unique[i])) for i in missing[:5])
        raise ValueError(f"{missing.size} input(s) RDKit cannot read, e.g. {shown}; drop invalid SMILES first")
    return {name: [unique[i] for i in np.flatnonzero(part_of == p)] for p, name in enumerate(PARTS)}


def _problem(task: Task, n_kept: int, kept_labels: np.ndarray, min_rows: int, min_per_class: int) -> str:
    if n_kept < min_rows:
        return f"only {n_kept} of {len(task)} rows kept, need {min_rows}"
    if task.kind == "classification":
        pos, neg = int((kept_labels == 1).sum()), int((kept_labels == 0).sum())
        if min(pos, neg) < min_per_class:
            return f"{pos} positives and {neg} negatives kept, need {min_per_class} of each"
    return ""


def restrict_collection(collection: TaskCollection, inputs_by_part: Mapping[str, Sequence[str]], *,
                        min_rows: int = 10, min_per_class: int = 2,
                        name: str | None = None) -> tuple[TaskCollection, pd.DataFrame]:
    """Keep in each task of a split part only the rows whose input is allowed for that part.

    Parameters
    ----------
    collection : TaskCollection
    inputs_by_part : mapping
        Split part (``"train"``, ``"val"``, ``"test"``) -> the inputs its tasks may keep,
        matched as exact strings. Tasks of a part not named keep all their rows.
    min_rows : int, default 10
        A task left with fewer rows is dropped.
    min_per_class : int, default 2
        A classification task left with fewer positives or negatives than this is dropped.
    name : str, optional
        Name of the new collection (default: the old one's).

    Returns
    -------
    collection : TaskCollection
        The kept tasks (rows in their original order, :meth:`Task.subset`) under the same
        split parts; ``invalid`` and ``source`` carried over.
    report : pandas.DataFrame
        One row per task of the split parts: ``task, part, n_rows, n_kept, kept`` (bool),
        ``reason`` (why it was dropped; ``""`` when kept).

    Raises
    ------
    ValueError
        A part that is not one of :data:`PARTS`.
    """
    unknown = sorted(set(inputs_by_part) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown split parts {unknown}; use {list(PARTS)}")
    allowed = {p: set(v) for p, v in inputs_by_part.items()}
    tasks: dict[str, Task] = {}
    parts: dict[str, list[str]] = {p: [] for p in PARTS}
    rows = []
    for part in PARTS:
        for tname in getattr(collection, part):
            task = collection.tasks[tname]
            keep = (np.arange(len(task)) if part not in allowed
                    else np.array([i for i, s in enumerate(task.inputs) if s in allowed[part]], dtype=np.int64))
            reason = _problem(task, len(keep), task.labels[keep], min_rows, min_per_class)
            rows.append({"task": tname, "part": part, "n_rows": len(task), "n_kept": int(len(keep)),
                         "kept": not reason, "reason": reason})
            if reason:
                continue
            tasks[tname] = task if len(keep) == len(task) else task.subset(keep)
            parts[part].append(tname)
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    for part in PARTS:
        sub = report[report["part"] == part]
        if len(sub):
            logger.info("%s %s: %d of %d tasks kept, %d of %d rows", collection.name, part, len(parts[part]), len(sub),
                        int(sub.loc[sub["kept"].astype(bool), "n_kept"].sum()), int(sub["n_rows"].sum()))
    for r in report[~report["kept"].astype(bool)].head(10).itertuples():
        logger.warning("%s: %s task %r dropped: %s", collection.name, r.part, r.task, r.reason)
    out = TaskCollection(name=name or collection.name, tasks=tasks, train=parts["train"], val=parts["val"],
                         test=parts["test"], invalid=list(collection.invalid), source=collection.source)
    return out, report


def molecule_disjoint_collection(collection: TaskCollection, fraction: float = 0.2, seed: int | None = 0, *,
                                 min_rows: int = 10, min_per_class: int = 2) -> tuple[TaskCollection, pd.DataFrame]:
    """The collection with scaffold-disjoint molecules: train / val tasks on one side, test tasks on the other.

    All unique molecules of the collection are split by :func:`scaffold_split` with
    fractions ``(1 - fraction, 0, fraction)``; train and val tasks keep only molecules of
    the train part, test tasks only molecules of the test part (:func:`restrict_collection`),
    so no Bemis–Murcko scaffold of a test-task molecule occurs in a train or val task.

    Parameters
    ----------
    collection : TaskCollection
        A molecule collection (inputs are SMILES).
    fraction : float, default 0.2
        Share of the unique molecules given to the test part, in (0, 1).
    seed : int or None, default 0
        See :func:`scaffold_split`.
    min_rows, min_per_class : int
        See :func:`restrict_collection`: tasks left smaller are dropped, with the reason.

    Returns
    -------
    collection : TaskCollection
        Named ``"<name>/scaffold_disjoint"``.
    report : pandas.DataFrame
        Rows kept per task (:func:`restrict_collection`).
    """
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"fraction (the test share of the molecules) must be in (0, 1), got {fraction!r}")
    used = [n for part in PARTS for n in getattr(collection, part)]
    inputs = list(dict.fromkeys(s for n in used for s in collection.tasks[n].inputs))
    parts = scaffold_split(inputs, (1.0 - float(fraction), 0.0, float(fraction)), seed)
    return restrict_collection(collection, {"train": parts["train"], "val": parts["train"], "test": parts["test"]},
                               min_rows=min_rows, min_per_class=min_per_class,
                               name=f"{collection.name}/scaffold_disjoint")


def task_folds(collection: TaskCollection, k: int, seed: int = 0) -> list[TaskCollection]:
    """Leave-tasks-out folds over a collection's train and validation tasks (its test tasks untouched).

    The train and validation tasks are pooled and ordered by CRC32 of ``f"{seed}:{name}"`` (as
    :func:`assays.task.carve_validation`, so the order does not depend on the input order), then
    dealt round-robin into ``k`` folds; fold ``i`` is the validation set of the ``i``-th returned
    collection and the other tasks its train set. Every pooled task is a validation task in
    exactly one fold. For selection on collections with few train tasks (MUV 12, Tox21 9), where
    one small validation split ranks candidates by chance.

    Raises
    ------
    ValueError
        ``k < 2``, or fewer than ``k`` pooled tasks, or a fold whose train part would be empty.
    """
    pool = list(collection.train) + list(collection.val)
    if int(k) != k or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    if len(pool) < k + 1:
        raise ValueError(f"{collection.name}: {len(pool)} train + validation tasks cannot make {k} folds "
                         f"(need at least {k + 1})")
    order = sorted(pool, key=lambda n: (zlib.crc32(f"{seed}:{n}".encode()), n))
    folds = [set(order[i::k]) for i in range(k)]
    return [TaskCollection(name=f"{collection.name}/fold{i}", tasks=collection.tasks,
                           train=[t for t in pool if t not in fold], val=[t for t in pool if t in fold],
                           test=list(collection.test), invalid=list(collection.invalid), source=collection.source)
            for i, fold in enumerate(folds)]
