"""The 30 MoleculeACE ChEMBL targets as few-shot regression tasks.

Each file ``molecules/moleculeace/<target>.csv.gz`` has columns ``smiles``,
``exp_mean [nM]``, ``y`` (= -log10 of the value in nM), ``cliff_mol`` and ``split``.
The label of a task is ``y + 9`` = pKi or pEC50 (-log10 of the value in mol/L; higher
is more potent). The per-row ``split`` column (MoleculeACE's own activity-cliff split)
is not used; the task-level split comes from ``molecules/moleculeace_splits.json``.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pandas as pd

from assays.sources.common import missing_file_error, molecules_dir, parse_input_column
from assays.task import InvalidRow, Task, TaskCollection

logger = logging.getLogger(__name__)

SPLITS_FILE = "moleculeace_splits.json"
#: Offset from MoleculeACE's ``y`` (-log10 nM) to pKi / pEC50 (-log10 M).
Y_TO_P = 9.0


def _unit(target: str) -> str:
    assay = target.rsplit("_", 1)[-1]
    if assay not in ("Ki", "EC50"):
        raise ValueError(f"MoleculeACE target {target!r}: expected a name ending in _Ki or _EC50")
    return f"p{assay}"


def load_moleculeace(data_dir: str | os.PathLike | None = None) -> TaskCollection:
    """Load the MoleculeACE targets with their train / validation / test split.

    Parameters
    ----------
    data_dir : path-like, optional
        Folder holding ``molecules/``; default ``$SCIML_DATA_DIR`` or ``../shared/data``.

    Returns
    -------
    TaskCollection
        Named ``"moleculeace"``. One regression :class:`~assays.task.Task` per target
        file, named by the target id (e.g. ``"CHEMBL218_EC50"``), label = ``y + 9``
        (pKi or pEC50), ``meta = {"unit": "pKi" | "pEC50"}``. ``train`` / ``val`` /
        ``test`` are ``train_targets`` / ``val_targets`` / ``test_targets`` of the split
        file as given. Rows with an invalid SMILES or a missing ``y`` are dropped and
        listed in ``invalid``.

    Raises
    ------
    FileNotFoundError
        If the data folder, the split file or a target file is missing.
    """
    mol_dir = molecules_dir(data_dir)
    split_path = mol_dir / SPLITS_FILE
    if not split_path.is_file():
        raise missing_file_error(split_path, "MoleculeACE split file")
    with open(split_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    parts = {p: list(spec[f"{p}_targets"]) for p in ("train", "val", "test")}

    tasks: dict[str, Task] = {}
    invalid: list[InvalidRow] = []
    for target in parts["train"] + parts["val"] + parts["test"]:
        path = mol_dir / "moleculeace" / f"{target}.csv.gz"
        if not path.is_file():
            raise missing_file_error(path, f"MoleculeACE target file for {target}")
        df = pd.read_csv(path, dtype={"smiles": str}, keep_default_na=False, na_values={"y": ["", "nan", "NaN"]})
        for col in ("smiles", "y"):
            if col not in df.columns:
                raise ValueError(f"{path.name}: no column {col!r}; columns are {list(df.columns)}")
        raw = df["smiles"].tolist()
        valid, bad = parse_input_column(raw, path.name)
        y = pd.to_numeric(df["y"], errors="coerce").to_numpy(dtype=np.float64)
        no_y = valid & ~np.isfinite(y)
        bad += [InvalidRow(path.name, int(i), raw[i], "missing or non-numeric y") for i in np.flatnonzero(no_y)]
        invalid += sorted(bad, key=lambda r: r.row)
        keep = valid & np.isfinite(y)
        tasks[target] = Task(
            name=target,
            inputs=[raw[i].strip() for i in np.flatnonzero(keep)],
            labels=y[keep] + Y_TO_P,
            kind="regression",
            source=path.name,
            meta={"unit": _unit(target)},
        )
    collection = TaskCollection(
        name="moleculeace",
        tasks=tasks,
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        invalid=invalid,
        source=str(mol_dir / "moleculeace"),
    )
    logger.info("%s", collection.summary())
    return collection
