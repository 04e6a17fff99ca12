"""Helpers shared by the data-source loaders: input validation and data-folder lookup.

Row numbers used throughout the loaders (in :class:`~assays.task.InvalidRow` and in
reports) are **0-based data rows**: the first row after the header is row 0.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from assays.task import InvalidRow
from sciml.config import DATA_DIR_ENV, resolve_data_dir
from sciml.domains import Domain, get_domain

logger = logging.getLogger(__name__)

#: How many row numbers the per-file log summary lists.
_N_ROWS_IN_SUMMARY = 5


def parse_input_column(
    values: Sequence, file: str, *, domain: Domain | str | None = None, log_level: int = logging.INFO
) -> tuple[np.ndarray, list[InvalidRow]]:
    """Check every cell of an input column with the domain (:meth:`~sciml.domains.base.Domain.problem`).

    Parameters
    ----------
    values : sequence
        The column, in file order. Element ``i`` is 0-based data row ``i`` of ``file``
        (header excluded).
    file : str
        Name used in the :class:`InvalidRow` records and in the log line.
    domain : Domain or str, optional
        The input domain (an instance or a registered name); default molecules.
    log_level : int, optional
        Level of the one-line summary logged when some rows are invalid
        (files without invalid rows are logged at DEBUG).

    Returns
    -------
    valid : np.ndarray
        Boolean mask of shape ``[len(values)]``, True where the cell is a valid input.
    invalid : list[InvalidRow]
        One record per invalid row with ``row`` = 0-based data row, the raw cell
        (``""`` for cells that are not text) and the domain's reason (for molecules
        ``REASON_EMPTY`` or ``REASON_UNPARSEABLE`` of :mod:`sciml.domains.molecules`).
    """
    domain = domain if isinstance(domain, Domain) else get_domain(domain)
    n = len(values)
    valid = np.ones(n, dtype=bool)
    invalid: list[InvalidRow] = []
    for i, value in enumerate(values):
        reason = domain.problem(value)
        if reason is not None:
            valid[i] = False
            invalid.append(InvalidRow(file=file, row=i, input=value if isinstance(value, str) else "", reason=reason))
    if invalid:
        rows = ", ".join(str(r.row) for r in invalid[:_N_ROWS_IN_SUMMARY])
        more = ", ..." if len(invalid) > _N_ROWS_IN_SUMMARY else ""
        logger.log(
            log_level,
            "%s: %d of %d rows have an invalid %s and are dropped (0-based data rows: %s%s)",
            file, len(invalid), n, domain.label, rows, more,
        )
    else:
        logger.debug("%s: all %d %s parse", file, n, domain.label)
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
