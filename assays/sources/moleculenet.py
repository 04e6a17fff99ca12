"""MoleculeNet multitask tables and the few-shot MoleculeNet benchmark split.

The tables (``molecules/moleculenet/*.csv.gz``) have a SMILES column followed by one
column per task; an empty cell means "not measured". The few-shot benchmark
(Tox21, SIDER, MUV, ToxCast) fixes which label columns are meta-train and which are
test tasks (``molecules/fewshot_moleculenet_splits.json``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from assays.sources.common import missing_file_error, molecules_dir, parse_input_column
from assays.task import InvalidRow, Task, TaskCollection, TaskKind, carve_validation

logger = logging.getLogger(__name__)

#: Datasets of the few-shot MoleculeNet benchmark.
FEWSHOT_DATASETS: tuple[str, ...] = ("tox21", "sider", "muv", "toxcast")

SPLITS_FILE = "fewshot_moleculenet_splits.json"

# Label cells that mean "not measured" (compared after strip + lower-casing).
_MISSING_TOKENS = frozenset({"", "nan", "na", "n/a", "none", "null"})


def _stem(path: Path) -> str:
    """File name without ``.gz`` and ``.csv`` / ``.tsv`` suffixes."""
    name = path.name
    for suffix in (".gz", ".csv", ".tsv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _numeric_column(raw: pd.Series, column: str, file: str) -> np.ndarray:
    """Label cells (read as strings) to floats, NaN for empty cells.

    Raises
    ------
    ValueError
        If a non-empty cell is not a number (silently treating it as "not measured"
        would hide a broken file).
    """
    text = raw.astype(str).str.strip()
    missing = text.str.lower().isin(_MISSING_TOKENS)
    values = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~missing.to_numpy() & ~np.isfinite(values))
    if len(bad):
        examples = ", ".join(f"row {i}: {text.iloc[i]!r}" for i in bad[:5])
        raise ValueError(
            f"{file}: column {column!r} has {len(bad)} non-numeric or non-finite label(s) "
            f"(0-based data rows) - {examples}"
        )
    return values


def _detect_kind(values: np.ndarray) -> TaskKind:
    measured = values[~np.isnan(values)]
    return "classification" if np.isin(measured, (0.0, 1.0)).all() else "regression"


def load_multitask_csv(
    path: str | os.PathLike,
    *,
    smiles_col: str | None = None,
    kind: TaskKind | None = None,
    name: str | None = None,
) -> tuple[dict[str, Task], list[InvalidRow]]:
    """Load a multitask table: one SMILES column, every other column is a task.

    Parameters
    ----------
    path : path-like
        CSV file, optionally gzip-compressed (``.gz``, read transparently).
    smiles_col : str, optional
        Name of the SMILES column; default: the first column.
    kind : {"classification", "regression"}, optional
        Task kind for every column. Default: detected per column - classification when
        all measured values are 0 or 1, otherwise regression.
    name : str, optional
        Prefix of the task names; default: the file name without ``.csv`` / ``.gz``.

    Returns
    -------
    tasks : dict[str, Task]
        One task per label column, named ``f"{name}/{column}"``, in column order. A task
        holds the rows that have a valid SMILES and a value in its column; an empty cell
        means "not measured" and drops the row from that task only. ``meta`` holds
        ``{"column": column, "column_index": j}`` where ``j`` is the 0-based position
        among the label columns.
    invalid : list[InvalidRow]
        Rows whose SMILES is empty or not parseable by RDKit; they are dropped from every
        task. ``row`` is the 0-based data row (header excluded).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``smiles_col`` is not a column, a label cell is not a number, or
        ``kind="classification"`` is forced on a column with values other than 0/1.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Multitask table not found: {path}")
    name = name if name is not None else _stem(path)
    # Everything as text so that SMILES such as "NA" are never turned into NaN and
    # labels are parsed (and checked) by us.
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, compression="infer")
    if df.shape[1] < 2:
        raise ValueError(f"{path}: expected a SMILES column and at least one label column, got {list(df.columns)}")
    if smiles_col is None:
        smiles_col = df.columns[0]
    elif smiles_col not in df.columns:
        raise ValueError(f"{path}: no column {smiles_col!r}; columns are {list(df.columns)}")

    raw_smiles = df[smiles_col].tolist()
    valid, invalid = parse_input_column(raw_smiles, path.name)
    smiles = np.array([s.strip() for s in raw_smiles], dtype=object)

    tasks: dict[str, Task] = {}
    label_cols = [c for c in df.columns if c != smiles_col]
    for j, col in enumerate(label_cols):
        values = _numeric_column(df[col], col, path.name)
        col_kind = kind or _detect_kind(values)
        keep = valid & ~np.isnan(values)
        labels = values[keep]
        if col_kind == "classification" and not np.isin(labels, (0.0, 1.0)).all():
            raise ValueError(f"{path.name}: column {col!r} is not 0/1 but kind='classification' was asked for")
        task_name = f"{name}/{col}"
        tasks[task_name] = Task(
            name=task_name,
            inputs=smiles[keep].tolist(),
            labels=labels,
            kind=col_kind,
            source=path.name,
            meta={"column": col, "column_index": j},
        )
    logger.debug("%s: %d tasks, %d rows, %d invalid", path.name, len(tasks), len(df), len(invalid))
    return tasks, invalid


def _load_split_spec(mol_dir: Path, dataset: str) -> dict:
    split_path = mol_dir / SPLITS_FILE
    if not split_path.is_file():
        raise missing_file_error(split_path, "Few-shot MoleculeNet split file")
    with open(split_path, encoding="utf-8") as fh:
        return json.load(fh)[dataset]


def load_fewshot_moleculenet(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    *,
    val_fraction: float = 0.2,
    val_seed: int = 0,
) -> TaskCollection:
    """One dataset of the few-shot MoleculeNet benchmark with its published task split.

    Parameters
    ----------
    dataset : {"tox21", "sider", "muv", "toxcast"}
        Case-insensitive.
    data_dir : path-like, optional
        Folder holding ``molecules/``; default ``$SCIML_DATA_DIR`` or ``../shared/data``.
    val_fraction : float, optional
        Fraction of the published train tasks held out as validation tasks (see
        :func:`assays.task.carve_validation`, which keeps at least 2 of them).
    val_seed : int, optional
        Seed of the validation carve-out.

    Returns
    -------
    TaskCollection
        Named ``dataset``; tasks named ``f"{dataset}/{column}"``, all classification.
        ``test`` = the published test tasks, ``train`` + ``val`` = the published train
        tasks. Label columns in neither list (ToxCast drops sparse tasks) are not
        included. ``invalid`` lists the rows with unparseable SMILES.

    Raises
    ------
    ValueError
        For an unknown dataset, or if the column names in the file disagree with the
        task names recorded in the split file.
    FileNotFoundError
        If the data folder, the split file or the table is missing.
    """
    key = dataset.lower().strip()
    if key not in FEWSHOT_DATASETS:
        raise ValueError(f"Unknown few-shot MoleculeNet dataset {dataset!r}; choose one of {', '.join(FEWSHOT_DATASETS)}")
    mol_dir = molecules_dir(data_dir)
    spec = _load_split_spec(mol_dir, key)
    path = mol_dir / spec["file"]
    if not path.is_file():
        raise missing_file_error(path, f"{key} table")

    tasks, invalid = load_multitask_csv(path, kind="classification", name=key)
    columns = [t.meta["column"] for t in tasks.values()]
    if "n_tasks" in spec and spec["n_tasks"] != len(columns):
        raise ValueError(f"{path.name}: {len(columns)} label columns but the split file says {spec['n_tasks']}")

    def names(part: str) -> list[str]:
        idx = spec[f"{part}_tasks"]
        cols = [columns[i] for i in idx]
        expected = spec.get(f"{part}_task_names")
        if expected is not None and list(expected) != cols:
            raise ValueError(f"{path.name}: {part} task columns {cols[:3]}... do not match the split file {expected[:3]}...")
        return [f"{key}/{c}" for c in cols]

    train_all, test = names("train"), names("test")
    train, val = carve_validation(train_all, fraction=val_fraction, seed=val_seed)
    keep = set(train_all) | set(test)
    n_dropped = len(tasks) - len(keep)
    if n_dropped:
        logger.info("%s: %d of %d label columns are in neither split part and are left out", key, n_dropped, len(tasks))
    collection = TaskCollection(
        name=key,
        tasks={n: t for n, t in tasks.items() if n in keep},
        train=train,
        val=val,
        test=test,
        invalid=invalid,
        source=str(path),
    )
    logger.info("%s", collection.summary())
    return collection
