"""Helpers shared by the data-source loaders: SMILES validation and data-folder lookup.

Row numbers used throughout the loaders (in :class:`~assays.task.InvalidRow` and in
reports) are **0-based data rows**: the first row after the header is row 0.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from rdkit import Chem, RDLogger

from assays.task import InvalidRow
from sciml.config import DATA_DIR_ENV, resolve_data_dir

logger = logging.getLogger(__name__)

# RDKit prints a line to stderr for every unparseable SMILES; we report them ourselves.
RDLogger.DisableLog("rdApp.*")

#: Reason given for an empty / missing SMILES cell.
REASON_EMPTY = "empty SMILES"
#: Reason given for a SMILES that RDKit rejects (syntax or sanitization error).
REASON_UNPARSEABLE = "RDKit could not parse SMILES"

#: How many row numbers the per-file log summary lists.
_N_ROWS_IN_SUMMARY = 5


def _is_empty_cell(value: object) -> bool:
    """True for ``None``, NaN, non-strings and blank strings."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if not isinstance(value, str):
        return True
    return not value.strip()


def smiles_problem(value: object) -> str | None:
    """Why ``value`` is not a usable SMILES, or ``None`` when RDKit parses it.

    Parameters
    ----------
    value : object
        One cell of a SMILES column.

    Returns
    -------
    str or None
        :data:`REASON_EMPTY` for empty / NaN / non-string cells,
        :data:`REASON_UNPARSEABLE` when ``Chem.MolFromSmiles`` returns ``None``,
        otherwise ``None``.
    """
    if _is_empty_cell(value):
        return REASON_EMPTY
    return None if _parses(value.strip()) else REASON_UNPARSEABLE  # type: ignore[union-attr]


@functools.lru_cache(maxsize=1 << 17)
def _parses(smiles: str) -> bool:
    """Whether RDKit parses (and sanitizes) ``smiles``; cached, as the benchmark files share molecules."""
    try:
        return Chem.MolFromSmiles(smiles) is not None
    except Exception:  # noqa: BLE001 - RDKit raises for a few pathological inputs
        return False


def parse_smiles_column(
    smiles: Sequence, file: str, *, log_level: int = logging.INFO
) -> tuple[np.ndarray, list[InvalidRow]]:
    """Check every SMILES of a column with RDKit.

    Parameters
    ----------
    smiles : sequence
        The column, in file order. Element ``i`` is 0-based data row ``i`` of ``file``
        (header excluded).
    file : str
        Name used in the :class:`InvalidRow` records and in the log line.
    log_level : int, optional
        Level of the one-line summary logged when some rows are invalid
        (files without invalid rows are logged at DEBUG).

    Returns
    -------
    valid : np.ndarray
        Boolean mask of shape ``[len(smiles)]``, True where the SMILES parses.
    invalid : list[InvalidRow]
        One record per invalid row with ``row`` = 0-based data row, the raw cell as a
        string (``""`` for missing cells) and the reason (:data:`REASON_EMPTY` or
        :data:`REASON_UNPARSEABLE`).
    """
    n = len(smiles)
    valid = np.ones(n, dtype=bool)
    invalid: list[InvalidRow] = []
    for i, value in enumerate(smiles):
        reason = smiles_problem(value)
        if reason is not None:
            valid[i] = False
            raw = value if isinstance(value, str) else ("" if _is_empty_cell(value) else str(value))
            invalid.append(InvalidRow(file=file, row=i, input=raw, reason=reason))
    if invalid:
        rows = ", ".join(str(r.row) for r in invalid[:_N_ROWS_IN_SUMMARY])
        more = ", ..." if len(invalid) > _N_ROWS_IN_SUMMARY else ""
        logger.log(
            log_level,
            "%s: %d of %d rows have an invalid SMILES and are dropped (0-based data rows: %s%s)",
            file, len(invalid), n, rows, more,
        )
    else:
        logger.debug("%s: all %d SMILES parse", file, n)
    return valid, invalid


def molecules_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The ``molecules/`` folder of the shared data.

    Parameters
    ----------
    data_dir : path-like, optional
        The data folder (the one holding ``molecules/``); ``None`` means the default
        (``$SCIML_DATA_DIR`` or ``../shared/data``). Passing the ``molecules/`` folder
        itself is accepted too.

    Raises
    ------
    FileNotFoundError
        When the folder does not exist (message names the path and how to set it).
    """
    root = resolve_data_dir(data_dir)
    if (root / "molecules").is_dir():
        return root / "molecules"
    if (root / "fewshot_moleculenet_splits.json").is_file() or (root / "moleculenet").is_dir():
        return root
    raise FileNotFoundError(
        f"No 'molecules' folder in the data folder {root}. Point ${DATA_DIR_ENV} or --data-dir "
        f"at the folder that holds molecules/."
    )


def missing_file_error(path: Path, what: str) -> FileNotFoundError:
    """A :class:`FileNotFoundError` naming ``path`` and how to point at the data."""
    return FileNotFoundError(
        f"{what} not found: {path}. Set ${DATA_DIR_ENV} or pass --data-dir to the folder that "
        f"holds molecules/ (see molecules/MANIFEST.md)."
    )
