"""Load a user's table of structures and measured values into a :class:`~assays.task.Task` plus a per-row report.

Every input row is accounted for in the report, so that a user can see which rows were
used and why the others were not. Statuses (:data:`STATUSES`):

``ok``
    used in the task;
``invalid structure``
    an empty structure cell, one the domain cannot parse (a SMILES RDKit rejects), or a
    structure-file record that could not be read;
``missing value``
    the value cell is empty (or a structure-file record lacks the chosen property);
``non-numeric value``
    the value is not a finite number (text, ``inf``...) or not one of the two labels;
``duplicate (conflicting values)``
    the same structure (equal :meth:`~sciml.domains.base.Domain.key`) appears in several
    rows with values that differ: all those rows are left out (or averaged, with
    ``conflicts="mean"``);
``duplicate (merged)``
    a later row repeating an earlier structure with the same value: merged into the first.
"""

from __future__ import annotations

import logging
import math
from typing import Sequence

import numpy as np
import pandas as pd

from assays.sources.tables.columns import as_domain, find_column, find_structure_column, find_value_column
from assays.sources.tables.duplicates import (
    STATUS_DUPLICATE_CONFLICT,
    STATUS_DUPLICATE_MERGED,
    Conflicts,
    mark_duplicates,
)
from assays.sources.tables.kind import STATUS_MISSING_VALUE, STATUS_NON_NUMERIC, decide_task_kind
from assays.sources.tables.read import RECORD_ERROR_COLUMN, TableSource, UserTableError, read_named_table
from assays.task import Task, TaskKind
from sciml.domains import Domain

__all__ = [
    "REPORT_COLUMNS",
    "STATUSES",
    "STATUS_INVALID_STRUCTURE",
    "STATUS_OK",
    "load_user_table",
    "status_counts",
]

logger = logging.getLogger(__name__)

#: Row status of a row used in the task.
STATUS_OK = "ok"
#: Row status of a row whose structure cell is empty or not a valid input of the domain.
STATUS_INVALID_STRUCTURE = "invalid structure"
#: Every status, in the order a summary lists them.
STATUSES: tuple[str, ...] = (
    STATUS_OK,
    STATUS_INVALID_STRUCTURE,
    STATUS_MISSING_VALUE,
    STATUS_NON_NUMERIC,
    STATUS_DUPLICATE_CONFLICT,
    STATUS_DUPLICATE_MERGED,
)

#: Columns of the per-row report; ``smiles`` holds the structure cell as given (stripped), whatever the domain.
REPORT_COLUMNS = ["row", "smiles", "value", "status", "error"]


def status_counts(report: pd.DataFrame) -> dict[str, int]:
    """Rows per status of a report, in :data:`STATUSES` order, statuses with no row left out."""
    counts = report["status"].value_counts().to_dict()
    return {s: int(counts[s]) for s in STATUSES if s in counts}


def _cell_text(value: object) -> str:
    """A structure cell as stripped text (``""`` for missing cells)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def load_user_table(
    source: TableSource,
    *,
    domain: Domain | str | None = None,
    smiles_col: str | None = None,
    value_col: str | None = None,
    kind: TaskKind | None = None,
    name: str = "user",
    raise_on_empty: bool = True,
    filename: str | None = None,
    threshold: float | None = None,
    positive_label: str | None = None,
    conflicts: Conflicts = "drop",
    sheet: int | str = 0,
    max_mb: float | None = None,
    row_numbers: Sequence[int] | None = None,
) -> tuple[Task | None, pd.DataFrame]:
    """Read a user table of structures and measured values into a task plus a per-row report.

    Parameters
    ----------
    source : path-like, bytes, file-like or pandas.DataFrame
        A CSV / TSV file, an Excel ``.xlsx`` workbook or a structure file (SDF), as a
        path, its bytes (give ``filename``), an open file, or a DataFrame; see
        :func:`~assays.sources.tables.read.read_table`.
    domain : Domain or str, optional
        The input domain (an instance or a registered name); default molecules. It finds
        the structure column, validates each structure cell and tells duplicates apart.
    smiles_col : str, optional
        Structure column (matched exactly, then case-insensitively). Default: see
        :func:`~assays.sources.tables.columns.find_structure_column`; for an SDF file,
        the SMILES of each record's structure.
    value_col : str, optional
        Value column (for an SDF file, an SD property). Default: see
        :func:`~assays.sources.tables.columns.find_value_column`.
    kind : {"classification", "regression"}, optional
        Default: decided by :func:`~assays.sources.tables.kind.decide_task_kind` (0/1 or
        two text labels give classification, other numbers regression).
    name : str, optional
        Task name.
    raise_on_empty : bool, optional
        When no row is usable: raise :class:`UserTableError` (default, the error carries
        the report in ``.report``) or return ``(None, report)``.
    filename : str, optional
        File name of a bytes / file-like source (format detection and messages).
    threshold : float, optional
        Binarise a numeric value column: ``>= threshold`` is active (1), else 0.
    positive_label : str, optional
        For two text labels: which one is active (1).
    conflicts : {"drop", "mean"}, optional
        Rows repeating a structure with different values: left out (``"drop"``, default),
        or, for regression, averaged into the first such row (``"mean"``).
    sheet : int or str, optional
        Excel sheet; default the first.
    max_mb : float, optional
        Size limit; default ``read.MAX_UPLOAD_MB`` as it is at call time.
    row_numbers : sequence of int, optional
        The data-row number of each row of ``source`` in the file it comes from (for a
        DataFrame cut out of a larger table), used in the report and in messages;
        default ``0 .. n-1``.

    Returns
    -------
    task : Task or None
        The usable (``"ok"``) rows only, in input order (task row ``j`` is report row
        ``report.row[report.status == "ok"].iloc[j]``), with ``domain`` set; ``meta``
        holds the column names used, plus ``label_map`` / ``positive`` for text labels
        and ``threshold`` when binarised. ``None`` only when no row is usable and
        ``raise_on_empty`` is False.
    report : pandas.DataFrame
        Exactly one row per input data row, in input order, with columns ``row``
        (0-based data row, header excluded, or ``row_numbers``), ``smiles`` (the structure cell as given,
        stripped), ``value`` (the task label, NaN when the row is not used), ``status``
        (one of :data:`STATUSES`) and ``error`` (human-readable, ``""`` when ok).
        ``report.attrs`` holds ``smiles_col``, ``value_col`` and ``kind_reason``.

    Raises
    ------
    UserTableError
        Empty / too large / binary / unreadable file, no data rows, a named column that
        does not exist, no (or an ambiguous) auto-detected column, no usable rows, or a
        value column that fits neither kind (see ``decide_task_kind``).
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    if conflicts not in ("drop", "mean"):
        raise ValueError(f"conflicts must be 'drop' or 'mean', not {conflicts!r}")
    domain = as_domain(domain)
    df, src = read_named_table(source, filename=filename, sheet=sheet, max_mb=max_mb)
    if df.shape[1] == 0:
        raise UserTableError(f"{src} has no columns.")
    if len(df) == 0:
        raise UserTableError(f"{src} has a header ({', '.join(map(repr, df.columns))}) but no data rows.")
    if smiles_col:
        structure_col = find_column(df, smiles_col, domain.label, src)
    else:
        structure_col = find_structure_column(df, src, domain)
    value_col = find_column(df, value_col, "value", src) if value_col else find_value_column(df, structure_col, src)
    if value_col == structure_col:
        raise UserTableError(
            f"{src}: the {domain.label} and the value column are the same column ({structure_col!r}). "
            f"Choose another value column."
        )
    try:
        decision = decide_task_kind(df[value_col], kind=kind, threshold=threshold, positive_label=positive_label, column=value_col)
    except UserTableError as exc:
        raise UserTableError(f"{src}: {exc}") from exc

    numbers = list(range(len(df))) if row_numbers is None else [int(r) for r in row_numbers]
    if len(numbers) != len(df):
        raise ValueError(f"{src}: {len(numbers)} row numbers for {len(df)} rows")
    record_errors = df[RECORD_ERROR_COLUMN].tolist() if RECORD_ERROR_COLUMN in df.columns else [""] * len(df)
    records: list[list] = []
    for i, (raw, raw_value, record_error) in enumerate(zip(df[structure_col].tolist(), df[value_col].tolist(), record_errors)):
        value, value_status, value_error = decision.parse(raw_value)
        structure_error = record_error if isinstance(record_error, str) and record_error else domain.problem(raw)
        if structure_error is not None:
            status = STATUS_INVALID_STRUCTURE
            error = structure_error + (f"; also {value_error}" if value_status else "")
        elif value_status is not None:
            status, error = value_status, value_error
        else:
            status, error = STATUS_OK, ""
        records.append([numbers[i], _cell_text(raw), value if status == STATUS_OK else math.nan, status, error])

    usable = [r for r in records if r[3] == STATUS_OK]
    changes = mark_duplicates([r[0] for r in usable], [domain.key(r[1]) for r in usable], [r[2] for r in usable],
                              kind=decision.kind, conflicts=conflicts, label=domain.label)
    for pos, (status, value, error) in changes.items():
        usable[pos][2] = value
        if status is not None:
            usable[pos][3], usable[pos][4] = status, error
    report = pd.DataFrame.from_records(records, columns=REPORT_COLUMNS)
    report["value"] = report["value"].astype(np.float64)
    ok = (report["status"] == STATUS_OK).to_numpy()
    report.attrs.update({"smiles_col": structure_col, "value_col": value_col,
                         "kind_reason": decision.with_counts(report["value"].to_numpy()[ok])})

    counts = status_counts(report)
    logger.info("%s: %d of %d rows usable (%s)", src, int(ok.sum()), len(report), ", ".join(f"{k}: {v}" for k, v in counts.items()))
    if not ok.any():
        message = (
            f"{src}: no usable rows out of {len(report)} ({domain.label} column {structure_col!r}, value column "
            f"{value_col!r}): " + ", ".join(f"{v} {k}" for k, v in counts.items()) + "."
        )
        if raise_on_empty:
            raise UserTableError(message, report=report)
        logger.warning("%s", message)
        return None, report

    meta: dict = {"smiles_col": structure_col, "value_col": value_col}
    if decision.label_map is not None:
        meta.update(label_map=dict(decision.label_map), positive=decision.positive)
    if decision.threshold is not None:
        meta["threshold"] = decision.threshold
    task = Task(
        name=name,
        inputs=report.loc[ok, "smiles"].tolist(),
        labels=report.loc[ok, "value"].to_numpy(dtype=np.float64),
        kind=decision.kind,
        source=src,
        meta=meta,
        domain=domain.name,
    )
    return task, report
