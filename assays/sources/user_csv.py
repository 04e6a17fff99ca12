"""Load a user's own table of molecules and measured values into a :class:`~assays.task.Task`.

Every input row is accounted for in a per-row report, so that a user can see which rows
were used and why the others were not.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
import os
import re
from pathlib import Path
from typing import IO, Union

import numpy as np
import pandas as pd

from assays.sources.common import smiles_problem
from assays.task import Task, TaskKind

logger = logging.getLogger(__name__)

TableSource = Union[str, os.PathLike, pd.DataFrame, IO[bytes], IO[str]]

#: Column names recognised as the SMILES column (compared case-insensitively, in this order).
SMILES_COLUMN_NAMES: tuple[str, ...] = (
    "smiles",
    "canonical_smiles",
    "isomeric_smiles",
    "smi",
    "smiles_string",
    "structure",
    "mol",
    "molecule",
)

#: Row statuses used in the report.
STATUS_OK = "ok"
STATUS_INVALID_STRUCTURE = "invalid structure"
STATUS_MISSING_VALUE = "missing value"
STATUS_NON_NUMERIC = "non-numeric value"
STATUS_NON_FINITE = "non-finite value"

REPORT_COLUMNS = ["row", "smiles", "value", "status", "error"]

_MISSING_TOKENS = frozenset({"", "nan", "na", "n/a", "none", "null", "-"})


class UserTableError(ValueError):
    """A user table that cannot be turned into a task, with a message meant for the user.

    Attributes
    ----------
    report : pandas.DataFrame or None
        The per-row report when the rows were read (e.g. "no usable rows"), else ``None``.
    """

    def __init__(self, message: str, report: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.report = report


# ----------------------------------------------------------------------------- reading


def _source_name(source: TableSource) -> str:
    if isinstance(source, pd.DataFrame):
        return "DataFrame"
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return str(getattr(source, "name", "uploaded table"))


def _decode(data: bytes, name: str) -> str:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserTableError(f"{name}: could not decode the file as text")  # pragma: no cover - latin-1 always decodes


def _delimiter(text: str, name: str) -> str:
    lower = re.sub(r"\.gz$", "", name.lower())
    if lower.endswith((".tsv", ".tab")):
        return "\t"
    if lower.endswith(".csv"):
        return ","
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        return "\t" if "\t" in sample and "," not in sample else ","


def read_table(source: TableSource) -> pd.DataFrame:
    """Read a CSV / TSV table as given by a user, every cell as text.

    Parameters
    ----------
    source : path-like, file-like or pandas.DataFrame
        As for :func:`load_user_table` (a DataFrame is returned with a fresh 0..n-1 index).

    Returns
    -------
    pandas.DataFrame
        All columns as strings (empty cells are ``""``, nothing is turned into NaN),
        column names stripped of surrounding whitespace. Row ``i`` is 0-based data row
        ``i`` of the file.

    Raises
    ------
    UserTableError
        If the file is empty or cannot be parsed as a delimited table.
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    return _read_table(source)[0]


def _read_table(source: TableSource) -> tuple[pd.DataFrame, str]:
    """Read ``source`` into a DataFrame of strings (or the given DataFrame) and its display name."""
    name = _source_name(source)
    if isinstance(source, pd.DataFrame):
        if source.shape[1] == 0 and len(source) == 0:
            raise UserTableError("The table is empty (no columns and no rows).")
        return source.reset_index(drop=True), name
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"Table not found: {path}")
        data = path.read_bytes()
    else:
        data = source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
    text = _decode(data, name)
    if not text.strip():
        raise UserTableError(f"{name} is empty: expected a header row with a SMILES and a value column, then one row per molecule.")
    sep = _delimiter(text, name)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=True)
    except pd.errors.EmptyDataError as exc:  # pragma: no cover - caught by the strip() check above
        raise UserTableError(f"{name} is empty.") from exc
    except pd.errors.ParserError as exc:
        raise UserTableError(f"{name}: could not read it as a {'tab' if sep == chr(9) else repr(sep)}-separated table ({exc}).") from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df, name


# ----------------------------------------------------------------------------- columns


def _norm(col: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(col).strip().lower())


def _find_column(df: pd.DataFrame, wanted: str, role: str, name: str) -> str:
    if wanted in df.columns:
        return wanted
    matches = [c for c in df.columns if _norm(c) == _norm(wanted)]
    if len(matches) == 1:
        return matches[0]
    raise UserTableError(
        f"{name}: no {role} column {wanted!r}. Available columns: {', '.join(map(repr, df.columns))}."
    )


def find_smiles_column(df: pd.DataFrame, name: str = "table") -> str:
    """The SMILES column of ``df``, found by name.

    Parameters
    ----------
    df : pandas.DataFrame
    name : str, optional
        Used in the error message (e.g. the file name).

    Returns
    -------
    str
        The first column whose name matches one of :data:`SMILES_COLUMN_NAMES`
        (case-insensitive; spaces and hyphens count as underscores), in that order of
        preference.

    Raises
    ------
    UserTableError
        If no column matches; the message lists the available columns.
    """
    return _auto_smiles_column(df, name)


def _auto_smiles_column(df: pd.DataFrame, name: str) -> str:
    by_norm = {}
    for c in df.columns:
        by_norm.setdefault(_norm(c), c)
    for candidate in SMILES_COLUMN_NAMES:
        if candidate in by_norm:
            return by_norm[candidate]
    raise UserTableError(
        f"{name}: could not find a SMILES column (looked for {', '.join(SMILES_COLUMN_NAMES)}, "
        f"case-insensitive). Available columns: {', '.join(map(repr, df.columns))}. "
        f"Name the column with smiles_col / --smiles-col."
    )


def _to_float(value: object) -> tuple[float, str | None, str]:
    """Parse one value cell: ``(number, status or None, error text)``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan, STATUS_MISSING_VALUE, "no value"
    if isinstance(value, (bool, np.bool_)):
        number = float(value)
    elif isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        text = str(value).strip()
        if text.lower() in _MISSING_TOKENS:
            return math.nan, STATUS_MISSING_VALUE, "no value"
        try:
            number = float(text)
        except ValueError:
            return math.nan, STATUS_NON_NUMERIC, f"could not read {text!r} as a number"
    if not math.isfinite(number):
        return math.nan, STATUS_NON_FINITE, f"value {number!r} is not finite"
    return number, None, ""


def _smiles_text(value: object) -> str:
    """A SMILES cell as stripped text (``""`` for missing cells)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _numeric_fraction(series: pd.Series) -> float:
    """Fraction of the non-missing cells of ``series`` that parse as finite numbers (0 when all missing)."""
    parsed = [_to_float(v) for v in series]
    present = [p for p in parsed if p[1] != STATUS_MISSING_VALUE]
    if not present:
        return 0.0
    return sum(p[1] is None for p in present) / len(present)


def _looks_like_index(col: str, series: pd.Series) -> bool:
    """An unnamed column holding 0..n-1 (a DataFrame index written by ``to_csv``)."""
    if not (col == "" or col.lower().startswith("unnamed:")):
        return False
    values = np.array([_to_float(v)[0] for v in series])
    return bool(np.array_equal(values, np.arange(len(series))))


def _auto_value_column(df: pd.DataFrame, smiles_col: str, name: str) -> str:
    others = [c for c in df.columns if c != smiles_col]
    numeric = [c for c in others if _numeric_fraction(df[c]) >= 0.5 and not _looks_like_index(c, df[c])]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric:
        raise UserTableError(
            f"{name}: found no numeric value column besides {smiles_col!r}. "
            f"Available columns: {', '.join(map(repr, df.columns))}. Name it with value_col / --value-col."
        )
    raise UserTableError(
        f"{name}: more than one numeric column could hold the values: {', '.join(map(repr, numeric))}. "
        f"Choose one with value_col / --value-col."
    )


# ----------------------------------------------------------------------------- main


def load_user_table(
    source: TableSource,
    *,
    smiles_col: str | None = None,
    value_col: str | None = None,
    kind: TaskKind | None = None,
    name: str = "user",
    raise_on_empty: bool = True,
) -> tuple[Task | None, pd.DataFrame]:
    """Read a user table of SMILES and measured values into a task plus a per-row report.

    Parameters
    ----------
    source : path-like, file-like or pandas.DataFrame
        A CSV / TSV file (delimiter from the extension ``.csv`` / ``.tsv`` / ``.tab``,
        otherwise sniffed among comma, tab and semicolon; ``.gz`` or gzip content is
        decompressed), an open binary/text file (e.g. an upload), or a DataFrame.
    smiles_col : str, optional
        SMILES column (matched exactly, then case-insensitively). Default: the first
        column named like one of :data:`SMILES_COLUMN_NAMES` (case-insensitive).
    value_col : str, optional
        Value column. Default: the only other column whose non-empty cells are mostly
        numbers (an unnamed 0..n-1 index column is ignored).
    kind : {"classification", "regression"}, optional
        Default: classification when every usable value is 0 or 1, else regression.
    name : str, optional
        Task name.
    raise_on_empty : bool, optional
        When no row is usable: raise :class:`UserTableError` (default, the error carries
        the report in ``.report``) or return ``(None, report)``.

    Returns
    -------
    task : Task or None
        The usable (``"ok"``) rows only, in input order (task row ``j`` is report row
        ``report.row[report.status == "ok"].iloc[j]``); ``meta`` holds the column names
        used.
        ``None`` only when no row is usable and ``raise_on_empty`` is False.
    report : pandas.DataFrame
        Exactly one row per input data row, in input order, with columns ``row``
        (0-based data row, header excluded), ``smiles`` (as given, stripped), ``value``
        (the parsed number, NaN when unusable), ``status`` (``"ok"``,
        ``"invalid structure"``, ``"missing value"``, ``"non-numeric value"`` or
        ``"non-finite value"``) and ``error`` (human-readable, ``""`` when ok).

    Raises
    ------
    UserTableError
        Empty file, no data rows, a named column that does not exist, no (or an
        ambiguous) auto-detected column, no usable rows, or ``kind="classification"``
        with values other than 0/1.
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    df, src = _read_table(source)
    if df.shape[1] == 0:
        raise UserTableError(f"{src} has no columns.")
    if len(df) == 0:
        raise UserTableError(
            f"{src} has a header ({', '.join(map(repr, df.columns))}) but no data rows."
        )
    smiles_col = _find_column(df, smiles_col, "SMILES", src) if smiles_col else _auto_smiles_column(df, src)
    if value_col:
        value_col = _find_column(df, value_col, "value", src)
    else:
        value_col = _auto_value_column(df, smiles_col, src)
    if value_col == smiles_col:
        raise UserTableError(f"{src}: the SMILES and the value column are the same column ({smiles_col!r}).")

    records = []
    for i, (raw_smiles, raw_value) in enumerate(zip(df[smiles_col].tolist(), df[value_col].tolist())):
        smiles = _smiles_text(raw_smiles)
        value, value_status, value_error = _to_float(raw_value)
        structure_error = smiles_problem(raw_smiles)
        if structure_error is not None:
            status = STATUS_INVALID_STRUCTURE
            error = structure_error + (f"; also {value_error}" if value_status else "")
        elif value_status is not None:
            status, error = value_status, value_error
        else:
            status, error = STATUS_OK, ""
        records.append((i, smiles, value if status == STATUS_OK else math.nan, status, error))
    report = pd.DataFrame.from_records(records, columns=REPORT_COLUMNS)
    report["value"] = report["value"].astype(np.float64)

    ok = (report["status"] == STATUS_OK).to_numpy()
    counts = report["status"].value_counts().to_dict()
    logger.info("%s: %d of %d rows usable (%s)", src, int(ok.sum()), len(report), ", ".join(f"{k}: {v}" for k, v in counts.items()))
    if not ok.any():
        message = (
            f"{src}: no usable rows out of {len(report)} (SMILES column {smiles_col!r}, value column "
            f"{value_col!r}): " + ", ".join(f"{v} {k}" for k, v in counts.items()) + "."
        )
        if raise_on_empty:
            raise UserTableError(message, report=report)
        logger.warning("%s", message)
        return None, report

    labels = report.loc[ok, "value"].to_numpy(dtype=np.float64)
    is_binary = bool(np.isin(labels, (0.0, 1.0)).all())
    if kind is None:
        kind = "classification" if is_binary else "regression"
    elif kind == "classification" and not is_binary:
        raise UserTableError(
            f"{src}: kind='classification' needs values 0 or 1, but column {value_col!r} has other values "
            f"(e.g. {sorted(set(labels[~np.isin(labels, (0.0, 1.0))].tolist()))[:3]}).",
            report=report,
        )
    task = Task(
        name=name,
        smiles=report.loc[ok, "smiles"].tolist(),
        labels=labels,
        kind=kind,
        source=src,
        meta={"smiles_col": smiles_col, "value_col": value_col},
    )
    return task, report
