"""Load a user's own table of molecules and measured values into a :class:`~assays.task.Task`.

Accepted inputs: CSV / TSV (any delimiter among comma, tab and semicolon, optionally
gzipped), Excel workbooks (``.xlsx``, first sheet by default) and SDF files (the SMILES
comes from each record's structure, the SD properties become columns), given as a path,
as raw bytes plus a file name (what a web upload delivers), as an open file, or as a
DataFrame.

Every input row is accounted for in a per-row report, so that a user can see which rows
were used and why the others were not. Statuses:

``ok``
    used in the task;
``invalid structure``
    empty SMILES, a SMILES RDKit rejects, or an SDF record RDKit cannot read;
``missing value``
    the value cell is empty (or an SDF record lacks the chosen property);
``non-numeric value``
    the value is not a number (text, ``inf``, ``nan`` spelled out as a number...);
``duplicate (conflicting values)``
    the same structure (same canonical SMILES) appears in several rows with values that
    differ: all those rows are left out (or averaged, with ``conflicts="mean"``);
``duplicate (merged)``
    a later row repeating an earlier structure with the same value: merged into the first.

Every problem that stops loading raises :class:`UserTableError` with a message meant for
the user (it names the file, the column or the row and says what to do).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import logging
import math
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, Union

import numpy as np
import pandas as pd
from rdkit import Chem

from assays.sources.common import smiles_problem
from assays.task import Task, TaskKind

logger = logging.getLogger(__name__)

TableSource = Union[str, os.PathLike, pd.DataFrame, bytes, bytearray, memoryview, IO[bytes], IO[str]]

#: Largest file accepted (after gzip decompression), in MB (1 MB = 2**20 bytes).
MAX_UPLOAD_MB = 20

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

#: Column names never taken as the value column by auto-detection (identifiers).
ID_COLUMN_NAMES: frozenset[str] = frozenset(
    {"id", "compound_id", "cmpd_id", "compound", "molecule_id", "mol_id", "name", "index", "idx", "no", "#", "row", "title"}
)

#: Columns of a table read from an SDF file: the SMILES written from each record's
#: structure, the record title (when any record has one) and, when some records could not
#: be read, why.
SDF_SMILES_COLUMN = "smiles"
SDF_NAME_COLUMN = "name"
RECORD_ERROR_COLUMN = "record_error"

#: Row statuses used in the report.
STATUS_OK = "ok"
STATUS_INVALID_STRUCTURE = "invalid structure"
STATUS_MISSING_VALUE = "missing value"
STATUS_NON_NUMERIC = "non-numeric value"
#: Kept for backwards compatibility: non-finite values (inf) count as non-numeric.
STATUS_NON_FINITE = STATUS_NON_NUMERIC
STATUS_DUPLICATE_CONFLICT = "duplicate (conflicting values)"
STATUS_DUPLICATE_MERGED = "duplicate (merged)"
#: Every status, in the order a summary lists them.
STATUSES: tuple[str, ...] = (
    STATUS_OK,
    STATUS_INVALID_STRUCTURE,
    STATUS_MISSING_VALUE,
    STATUS_NON_NUMERIC,
    STATUS_DUPLICATE_CONFLICT,
    STATUS_DUPLICATE_MERGED,
)

REPORT_COLUMNS = ["row", "smiles", "value", "status", "error"]

_MISSING_TOKENS = frozenset({"", "nan", "na", "n/a", "#n/a", "none", "null", "-"})

#: Text labels read as the active (1) / inactive (0) class, compared case-insensitively.
POSITIVE_LABELS = frozenset(
    {"1", "active", "actives", "positive", "pos", "yes", "y", "true", "t", "hit", "binder", "inhibitor", "toxic", "+"}
)
NEGATIVE_LABELS = frozenset(
    {"0", "inactive", "inactives", "negative", "neg", "no", "n", "false", "f", "non-hit", "nonhit", "non-binder",
     "nonbinder", "non-toxic", "nontoxic", "decoy", "not active", "non-active", "nonactive", "inert"}
)

_FORMATS = Literal["text", "excel", "sdf"]
_TEXT_ENCODINGS = ("utf-8", "utf-8-sig", "latin-1")
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")
_HELP_FORMATS = "Upload a CSV or TSV text file, an Excel .xlsx workbook or an SDF file."


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


def _display_name(source: TableSource, filename: str | None) -> str:
    if filename:
        return Path(str(filename)).name
    if isinstance(source, pd.DataFrame):
        return "DataFrame"
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(str(name)).name if isinstance(name, (str, os.PathLike)) and str(name) else "uploaded table"


def _limit_bytes(max_mb: float) -> int:
    return int(max_mb * 2**20)


def _too_large(name: str, size: int, max_mb: float, what: str = "") -> UserTableError:
    return UserTableError(
        f"{name} is too large{what}: {size / 2**20:.1f} MB, the limit is {max_mb:g} MB. "
        f"Keep only the rows and columns you need, or split the file."
    )


def _raw_bytes(source: TableSource, name: str, max_mb: float) -> bytes:
    """The bytes of a path, bytes-like or file-like ``source``, size-checked and gunzipped."""
    limit = _limit_bytes(max_mb)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"Table not found: {path}")
        size = path.stat().st_size
        if size > limit:
            raise _too_large(name, size, max_mb)
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        getvalue = getattr(source, "getvalue", None)  # BytesIO / Streamlit uploads: all of it, wherever the cursor is
        data = getvalue() if callable(getvalue) else source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        data = bytes(data)
    if len(data) > limit:
        raise _too_large(name, len(data), max_mb)
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                data = fh.read(limit + 1)
        except (OSError, EOFError) as exc:
            raise UserTableError(f"{name} looks gzip-compressed but could not be decompressed ({exc}).") from exc
        if len(data) > limit:
            raise _too_large(name, len(data), max_mb, " once decompressed")
    return data


def _decode(data: bytes, name: str) -> str:
    """Text of ``data``: UTF-16 when it starts with a UTF-16 byte-order mark, else the first of
    utf-8, utf-8-sig and latin-1 that decodes it; binary content raises :class:`UserTableError`."""
    text = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    if text is None:
        for encoding in _TEXT_ENCODINGS:
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    bad = _BINARY_CHARS.search(text) if text is not None else None
    if text is None or bad is not None:
        where = f" (a control character at character {bad.start()})" if bad is not None else ""
        raise UserTableError(
            f"{name}: could not decode the file as text with the utf-8, utf-8-sig or latin-1 encodings: "
            f"it looks like binary data{where}. {_HELP_FORMATS}"
        )
    return text.lstrip("\ufeff")


def _strip_gz(name: str) -> str:
    return re.sub(r"\.gz$", "", name.lower())


def _detect_format(data: bytes, name: str) -> _FORMATS:
    lower = _strip_gz(name)
    if data.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise UserTableError(
            f"{name} is an old-style Excel .xls workbook, which is not supported: save it as .xlsx or as CSV."
        )
    if data.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        return "excel"
    if lower.endswith((".sdf", ".sd", ".mol")):
        return "sdf"
    if lower.endswith((".csv", ".tsv", ".tab", ".txt", ".smi")):
        return "text"
    head = data[:200_000]
    if re.search(rb"^M  END\s*$", head, flags=re.MULTILINE) and (b"$$$$" in head or len(data) <= len(head)):
        return "sdf"
    return "text"


def _delimiter(text: str, name: str) -> str:
    lower = _strip_gz(name)
    if lower.endswith((".tsv", ".tab")):
        return "\t"
    if lower.endswith(".csv"):
        return ","
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        return "\t" if "\t" in sample and "," not in sample else ","


def _empty_error(name: str) -> UserTableError:
    return UserTableError(
        f"{name} is empty: expected a header row with a SMILES and a value column, then one row per molecule."
    )


def _read_text(data: bytes, name: str) -> pd.DataFrame:
    text = _decode(data, name)
    if not text.strip():
        raise _empty_error(name)
    sep = _delimiter(text, name)
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=True)
    except pd.errors.EmptyDataError as exc:  # pragma: no cover - caught by the strip() check above
        raise _empty_error(name) from exc
    except pd.errors.ParserError as exc:
        raise UserTableError(f"{name}: could not read it as a {'tab' if sep == chr(9) else repr(sep)}-separated table ({exc}).") from exc


def _read_excel(data: bytes, name: str, sheet: int | str) -> pd.DataFrame:
    if not data.startswith(b"PK\x03\x04"):
        if not data.strip():
            raise _empty_error(name)
        raise UserTableError(f"{name} is named like an Excel workbook but is not one (not an .xlsx file). {_HELP_FORMATS}")
    try:
        df = pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=str, keep_default_na=False, na_filter=False, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise UserTableError(f"{name} is not a readable Excel .xlsx workbook ({type(exc).__name__}: {exc}). {_HELP_FORMATS}") from exc
    except ValueError as exc:  # e.g. "Worksheet named 'x' not found"
        raise UserTableError(f"{name}: could not read sheet {sheet!r} ({exc}).") from exc
    if df.shape[1] == 0:
        raise UserTableError(f"{name}: sheet {sheet!r} is empty.")
    blank = (df.astype(str).apply(lambda c: c.str.strip()) == "").all(axis=1)
    return df[~blank].reset_index(drop=True)


_SD_FIELD = re.compile(r"^>.*?<([^>]*)>")


def _sd_properties(block: str) -> dict[str, str]:
    """The data items (``> <NAME>`` then value lines up to a blank line) of one SDF record."""
    lines = block.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith("M  END")), 0)
    props: dict[str, str] = {}
    i = start
    while i < len(lines):
        match = _SD_FIELD.match(lines[i])
        i += 1
        if not match:
            continue
        values = []
        while i < len(lines) and lines[i].strip() != "":
            values.append(lines[i])
            i += 1
        props.setdefault(match.group(1).strip(), "\n".join(values).strip())
    return props


def _read_sdf(data: bytes, name: str) -> pd.DataFrame:
    """One row per SDF record: SMILES from the structure (RDKit), title, then SD properties."""
    text = _decode(data, name)
    if not text.strip():
        raise _empty_error(name)
    blocks = [b for b in re.split(r"^\$\$\$\$[ \t]*\r?\n?", text, flags=re.MULTILINE) if b.strip()]
    rows: list[dict[str, str]] = []
    errors: list[str] = []
    titles: list[str] = []
    columns: dict[str, None] = {}
    for k, block in enumerate(blocks):
        props = _sd_properties(block)
        for key in props:
            columns.setdefault(key, None)
        mol = None
        try:
            supplier = Chem.ForwardSDMolSupplier(io.BytesIO((block + "$$$$\n").encode("utf-8")), sanitize=True, removeHs=True)
            mol = next(iter(supplier), None)
        except Exception:  # noqa: BLE001 - RDKit raises for a few malformed blocks
            mol = None
        error = ""
        smiles = ""
        if mol is None:
            error = f"SDF record {k + 1}: RDKit could not read its structure"
        elif mol.GetNumAtoms() == 0:
            error = f"SDF record {k + 1} has no atoms"
        else:
            smiles = Chem.MolToSmiles(mol)
        titles.append(block.splitlines()[0].strip() if block.splitlines() else "")
        errors.append(error)
        rows.append({"__smiles": smiles, **props})
    if not rows:
        raise UserTableError(f"{name}: no SDF records found (each record ends with a '$$$$' line).")
    df = pd.DataFrame.from_records(rows).reindex(columns=["__smiles", *columns]).fillna("")
    rename = {"__smiles": SDF_SMILES_COLUMN}
    reserved = {SDF_SMILES_COLUMN, SDF_NAME_COLUMN, RECORD_ERROR_COLUMN}
    for col in columns:
        if col.strip().lower() in reserved:
            rename[col] = f"{col} (property)"
    df = df.rename(columns=rename)
    if any(titles):
        df.insert(1, SDF_NAME_COLUMN, titles)
    if any(errors):
        df[RECORD_ERROR_COLUMN] = errors
    return df


def read_table(
    source: TableSource,
    *,
    filename: str | None = None,
    sheet: int | str = 0,
    max_mb: float = MAX_UPLOAD_MB,
) -> pd.DataFrame:
    """Read a CSV / TSV / Excel / SDF table as given by a user, every cell as text.

    Parameters
    ----------
    source : path-like, bytes, file-like or pandas.DataFrame
        As for :func:`load_user_table` (a DataFrame is returned with a fresh 0..n-1 index).
    filename : str, optional
        The file's name, used to tell the format (``.csv``, ``.tsv``, ``.xlsx``, ``.sdf``...)
        and in messages. Needed for bytes (an upload); for a path the path's name is used.
        Without a telling name the format is sniffed from the content.
    sheet : int or str, optional
        Excel sheet (index or name); default the first.
    max_mb : float, optional
        Size limit in MB (also applied after gzip decompression); default :data:`MAX_UPLOAD_MB`.

    Returns
    -------
    pandas.DataFrame
        All columns as strings (empty cells are ``""``, nothing is turned into NaN),
        column names stripped of surrounding whitespace. Row ``i`` is 0-based data row
        ``i`` of the file (blank lines / fully blank sheet rows are skipped). An SDF file
        gives columns :data:`SDF_SMILES_COLUMN` (written by RDKit from the structure;
        ``""`` where the record could not be read), :data:`SDF_NAME_COLUMN` (record titles,
        when any), one column per SD property (``""`` where a record lacks it) and, when
        some records could not be read, :data:`RECORD_ERROR_COLUMN` saying why.

    Raises
    ------
    UserTableError
        If the file is empty, too large, binary / undecodable, or cannot be parsed.
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    return _read_table(source, filename=filename, sheet=sheet, max_mb=max_mb)[0]


def _read_table(
    source: TableSource, *, filename: str | None = None, sheet: int | str = 0, max_mb: float = MAX_UPLOAD_MB
) -> tuple[pd.DataFrame, str]:
    """Read ``source`` into a DataFrame of strings (or the given DataFrame) and its display name."""
    name = _display_name(source, filename)
    if isinstance(source, pd.DataFrame):
        if source.shape[1] == 0 and len(source) == 0:
            raise UserTableError("The table is empty (no columns and no rows).")
        return source.reset_index(drop=True), name
    data = _raw_bytes(source, name, max_mb)
    if not data.strip():
        raise _empty_error(name)
    fmt = _detect_format(data, name)
    if fmt == "excel":
        df = _read_excel(data, name, sheet)
    elif fmt == "sdf":
        df = _read_sdf(data, name)
    else:
        df = _read_text(data, name)
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
    """The SMILES column of ``df``, found by name or, failing that, by content.

    Parameters
    ----------
    df : pandas.DataFrame
    name : str, optional
        Used in the error message (e.g. the file name).

    Returns
    -------
    str
        In this order: the first column whose name matches one of
        :data:`SMILES_COLUMN_NAMES` (case-insensitive; spaces and hyphens count as
        underscores); else the only column whose name contains "smiles"; else the only
        column whose non-empty cells (up to the first 100) are at least 80 % SMILES that
        RDKit parses.

    Raises
    ------
    UserTableError
        If no column qualifies, or several do at the name-contains or content step; the
        message lists the available columns.
    """
    return _auto_smiles_column(df, name)


def _looks_like_smiles_column(series: pd.Series) -> bool:
    cells = [s.strip() for s in series.tolist() if isinstance(s, str) and s.strip()][:100]
    if not cells or all(_to_float(c)[1] is None for c in cells):
        return False
    return sum(smiles_problem(c) is None for c in cells) >= 0.8 * len(cells)


def _auto_smiles_column(df: pd.DataFrame, name: str) -> str:
    by_norm: dict[str, str] = {}
    for c in df.columns:
        by_norm.setdefault(_norm(c), c)
    for candidate in SMILES_COLUMN_NAMES:
        if candidate in by_norm:
            return by_norm[candidate]
    for step, found in (
        ("are named like SMILES", [c for c in df.columns if "smiles" in _norm(c)]),
        ("hold SMILES", [c for c in df.columns if _looks_like_smiles_column(df[c])]),
    ):
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UserTableError(
                f"{name}: several columns {step}: {', '.join(map(repr, found))}. Choose the structure column "
                f"(smiles_col / --smiles-col)."
            )
    raise UserTableError(
        f"{name}: could not find a SMILES column (no column is named {', '.join(SMILES_COLUMN_NAMES)} "
        f"or holds SMILES that RDKit parses). Available columns: {', '.join(map(repr, df.columns))}. "
        f"Name the column with smiles_col / --smiles-col."
    )


def _to_float(value: object) -> tuple[float, str | None, str]:
    """Parse one value cell: ``(number, status or None, error text)``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return math.nan, STATUS_MISSING_VALUE, "no value"
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
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
        return math.nan, STATUS_NON_NUMERIC, f"value {number!r} is not a finite number"
    return number, None, ""


def _parses_as_float(value: object) -> bool:
    """Whether ``value`` reads as a float at all (``inf`` and ``nan`` included)."""
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return True
    try:
        float(str(value).strip())
    except ValueError:
        return False
    return True


def _smiles_text(value: object) -> str:
    """A SMILES cell as stripped text (``""`` for missing cells)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _numeric_fraction(series: pd.Series) -> float:
    """Fraction of the non-missing cells of ``series`` that are numbers, ``inf`` included (0 when all missing)."""
    present = [v for v in series if _to_float(v)[1] != STATUS_MISSING_VALUE]
    if not present:
        return 0.0
    return sum(_parses_as_float(v) for v in present) / len(present)


def _text_labels(series: pd.Series) -> list[str]:
    """Distinct non-missing cells of ``series`` (stripped, first spelling kept, case-insensitive)."""
    seen: dict[str, str] = {}
    for v in series.tolist():
        if _to_float(v)[1] == STATUS_MISSING_VALUE:
            continue
        text = str(v).strip()
        seen.setdefault(text.casefold(), text)
    return list(seen.values())


def _looks_like_index(col: str, series: pd.Series) -> bool:
    """An unnamed column holding 0..n-1 (a DataFrame index written by ``to_csv``)."""
    if not (col == "" or col.lower().startswith("unnamed:")):
        return False
    values = np.array([_to_float(v)[0] for v in series])
    return bool(np.array_equal(values, np.arange(len(series))))


def _is_id_column(col: str) -> bool:
    n = _norm(col)
    return n in ID_COLUMN_NAMES or n.endswith("_id")


def _auto_value_column(df: pd.DataFrame, smiles_col: str, name: str) -> str:
    others = [c for c in df.columns if c not in (smiles_col, RECORD_ERROR_COLUMN) and not _looks_like_index(c, df[c])]
    numeric = [c for c in others if _numeric_fraction(df[c]) >= 0.5]
    if len(numeric) > 1:
        numeric = [c for c in numeric if not _is_id_column(c)] or numeric
    if len(numeric) == 1:
        return numeric[0]
    if len(numeric) > 1:
        raise UserTableError(
            f"{name}: more than one numeric column could hold the values: {', '.join(map(repr, numeric))}. "
            f"Choose one with value_col / --value-col."
        )
    two_labels = [c for c in others if not _is_id_column(c) and len(_text_labels(df[c])) == 2]
    if len(two_labels) == 1:
        return two_labels[0]
    raise UserTableError(
        f"{name}: found no value column besides {smiles_col!r} (numbers, 0/1, or two text labels such as "
        f"active/inactive)" + (f"; columns with two labels: {', '.join(map(repr, two_labels))}" if two_labels else "")
        + f". Available columns: {', '.join(map(repr, df.columns))}. Name it with value_col / --value-col."
    )


# ----------------------------------------------------------------------------- task kind


@dataclass(frozen=True)
class KindDecision:
    """How a value column is read: the task kind and, for classification, what 1 means.

    Attributes
    ----------
    kind : {"classification", "regression"}
    reason : str
        One line for the user, e.g. ``"classification: 'active' = 1, 'inactive' = 0"``.
    label_map : dict or None
        Text labels (as first written) to 0/1, when the column holds two text labels.
    threshold : float or None
        When a numeric column is binarised: values ``>= threshold`` are 1.
    positive : str or None
        What class 1 means (a text label, ``">= 6.5"`` or ``"1"``); ``None`` for regression.
    """

    kind: TaskKind
    reason: str
    label_map: dict[str, int] | None = None
    threshold: float | None = None
    positive: str | None = None
    _folded: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def parse(self, value: object) -> tuple[float, str | None, str]:
        """One value cell as ``(number, status or None when ok, error text)``."""
        if self.label_map is not None:
            if _to_float(value)[1] == STATUS_MISSING_VALUE:
                return math.nan, STATUS_MISSING_VALUE, "no value"
            text = str(value).strip()
            if text.casefold() in self._folded:
                return float(self._folded[text.casefold()]), None, ""
            return math.nan, STATUS_NON_NUMERIC, f"{text!r} is neither of the labels {', '.join(map(repr, self.label_map))}"
        number, status, error = _to_float(value)
        if status is None and self.threshold is not None:
            number = float(number >= self.threshold)
        return number, status, error


def _label_decision(labels: list[str], positive_label: str | None, column: str) -> KindDecision:
    folded = [lab.casefold() for lab in labels]
    if positive_label is not None:
        if positive_label.strip().casefold() not in folded:
            raise UserTableError(
                f"column {column!r}: positive label {positive_label!r} is not one of its labels {', '.join(map(repr, labels))}."
            )
        pos = folded.index(positive_label.strip().casefold())
        why = "as chosen"
    else:
        is_pos = [f in POSITIVE_LABELS for f in folded]
        is_neg = [f in NEGATIVE_LABELS for f in folded]
        if len(labels) == 2 and is_pos.count(True) == 1 and not is_neg[is_pos.index(True)]:
            pos, why = is_pos.index(True), "recognised as the active label"
        elif len(labels) == 2 and is_neg.count(True) == 1:
            pos, why = 1 - is_neg.index(True), "the other label is recognised as inactive"
        elif len(labels) == 1:
            pos, why = (0, "the only label") if not is_neg[0] else (None, "the only label, recognised as inactive")
        else:
            pos, why = folded.index(max(folded)), "alphabetically last; choose the active label to change this"
    label_map = {lab: int(i == pos) for i, lab in enumerate(labels)}
    shown = ", ".join(f"{lab!r} = {v}" for lab, v in sorted(label_map.items(), key=lambda kv: -kv[1]))
    positive = labels[pos] if pos is not None else None
    return KindDecision(
        "classification",
        f"classification from text labels: {shown} ({positive!r} {why})" if positive else f"classification: {shown} ({why})",
        label_map=label_map,
        positive=positive,
        _folded={lab.casefold(): v for lab, v in label_map.items()},
    )


def decide_task_kind(
    values: pd.Series | list,
    *,
    kind: TaskKind | None = None,
    threshold: float | None = None,
    positive_label: str | None = None,
    column: str = "value",
) -> KindDecision:
    """Decide how a value column becomes task labels.

    Rules: with ``threshold``, numeric values ``>= threshold`` are 1, the rest 0
    (classification). Otherwise, when most non-missing cells are numbers: values that are
    all 0/1 give classification, other numbers regression (text cells among numbers are
    reported as non-numeric rows). When most cells are text: two distinct labels (e.g.
    active/inactive, case-insensitive) give classification, mapped to 1/0 by
    ``positive_label`` or by recognised words (:data:`POSITIVE_LABELS`,
    :data:`NEGATIVE_LABELS`), else the alphabetically last label is 1 (said in ``reason``).

    Parameters
    ----------
    values : pandas.Series or list
        The value column's cells (text or numbers).
    kind : {"classification", "regression"}, optional
        Force the kind (regression with text labels leaves every text row non-numeric).
    threshold : float, optional
        Binarise a numeric column at this activity threshold (implies classification).
    positive_label : str, optional
        Which text label is the active class (1).
    column : str, optional
        Column name for messages.

    Returns
    -------
    KindDecision

    Raises
    ------
    UserTableError
        ``threshold`` with ``kind="regression"`` or with a text column; more than two text
        labels (unless ``kind="regression"``); ``kind="classification"`` with numbers other
        than 0/1 and no threshold; an unknown ``positive_label``.
    """
    series = pd.Series(list(values), dtype=object)
    parsed = [_to_float(v) for v in series]
    numbers = np.array([p[0] for p in parsed if p[1] is None], dtype=np.float64)
    n_text = sum(p[1] == STATUS_NON_NUMERIC and not _parses_as_float(v) for p, v in zip(parsed, series))
    n_numeric = sum(p[1] != STATUS_MISSING_VALUE for p in parsed) - n_text
    if threshold is not None:
        if kind == "regression":
            raise UserTableError(f"column {column!r}: an activity threshold makes the task classification, not regression.")
        if not math.isfinite(float(threshold)):
            raise UserTableError(f"column {column!r}: the activity threshold must be a finite number, not {threshold!r}.")
        if n_text > n_numeric:
            raise UserTableError(
                f"column {column!r} holds text labels, not numbers: an activity threshold needs a numeric column."
            )
        t = float(threshold)
        n_pos = int((numbers >= t).sum())
        return KindDecision(
            "classification",
            f"classification: {column} >= {t:g} is active (1), below is inactive (0) "
            f"({n_pos} active, {len(numbers) - n_pos} inactive)",
            threshold=t,
            positive=f">= {t:g}",
        )
    if n_text > n_numeric:
        labels = _text_labels(series)
        if kind == "regression":
            return KindDecision("regression", f"regression (as chosen; column {column!r} holds text, which is not usable)")
        if len(labels) > 2:
            raise UserTableError(
                f"column {column!r} holds {len(labels)} different text values ({', '.join(map(repr, labels[:5]))}"
                f"{', ...' if len(labels) > 5 else ''}): classification needs exactly two labels (e.g. active/inactive) "
                f"and regression needs numbers. Choose another column."
            )
        return _label_decision(labels, positive_label, column)
    is_binary = bool(len(numbers)) and bool(np.isin(numbers, (0.0, 1.0)).all())
    if kind is None:
        kind = "classification" if is_binary else "regression"
    if kind == "classification":
        if not is_binary and len(numbers):
            others = sorted(set(numbers[~np.isin(numbers, (0.0, 1.0))].tolist()))[:3]
            raise UserTableError(
                f"kind='classification' needs values 0 or 1, but column {column!r} has other values "
                f"(e.g. {others}). Set an activity threshold to turn the numbers into active/inactive, "
                f"or use regression."
            )
        return KindDecision("classification", f"classification: column {column!r} holds 0/1 (1 = active)", positive="1")
    return KindDecision("regression", f"regression on the numeric values of column {column!r}")


# ----------------------------------------------------------------------------- duplicates


def _canonical(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else smiles


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _mark_duplicates(records: list[list], kind: TaskKind, conflicts: str) -> None:
    """Flag repeated structures among the ok rows of ``records`` (``[row, smiles, value, status, error]``)."""
    groups: dict[str, list[int]] = {}
    for idx, rec in enumerate(records):
        if rec[3] == STATUS_OK:
            groups.setdefault(_canonical(rec[1]), []).append(idx)
    for canon, members in groups.items():
        if len(members) < 2:
            continue
        first = members[0]
        values = [records[i][2] for i in members]
        rows = [records[i][0] for i in members]
        if all(_same(v, values[0]) for v in values):
            for i in members[1:]:
                records[i][3] = STATUS_DUPLICATE_MERGED
                records[i][4] = f"same structure and value as row {rows[0]}; merged into row {rows[0]}"
                records[i][2] = math.nan
            continue
        shown = ", ".join(f"row {r}: {v:g}" for r, v in zip(rows, values))
        if conflicts == "mean" and kind == "regression":
            mean = float(np.mean(values))
            records[first][2] = mean
            for i in members[1:]:
                records[i][3] = STATUS_DUPLICATE_MERGED
                records[i][4] = f"same structure as row {rows[0]} with another value ({shown}); averaged into row {rows[0]} ({mean:g})"
                records[i][2] = math.nan
            continue
        for i in members:
            others = ", ".join(str(r) for r in rows if r != records[i][0])
            records[i][3] = STATUS_DUPLICATE_CONFLICT
            records[i][4] = (
                f"same structure as row{'s' if len(rows) > 2 else ''} {others} (canonical SMILES {canon}) with different "
                f"values ({shown}); left out: correct or remove the conflicting rows, or average them"
            )
            records[i][2] = math.nan


# ----------------------------------------------------------------------------- main


def status_counts(report: pd.DataFrame) -> dict[str, int]:
    """Rows per status of a report, in :data:`STATUSES` order, statuses with no row left out."""
    counts = report["status"].value_counts().to_dict()
    return {s: int(counts[s]) for s in STATUSES if s in counts}


def load_user_table(
    source: TableSource,
    *,
    smiles_col: str | None = None,
    value_col: str | None = None,
    kind: TaskKind | None = None,
    name: str = "user",
    raise_on_empty: bool = True,
    filename: str | None = None,
    threshold: float | None = None,
    positive_label: str | None = None,
    conflicts: Literal["drop", "mean"] = "drop",
    sheet: int | str = 0,
    max_mb: float = MAX_UPLOAD_MB,
) -> tuple[Task | None, pd.DataFrame]:
    """Read a user table of molecules and measured values into a task plus a per-row report.

    Parameters
    ----------
    source : path-like, bytes, file-like or pandas.DataFrame
        A CSV / TSV file (delimiter from the extension ``.csv`` / ``.tsv`` / ``.tab``,
        otherwise sniffed among comma, tab and semicolon), an Excel ``.xlsx`` workbook or
        an SDF file (``.gz`` or gzip content is decompressed); its bytes (give
        ``filename``), an open binary/text file (e.g. an upload), or a DataFrame. Text is
        decoded as UTF-16 (with a byte-order mark), utf-8, utf-8-sig or latin-1.
    smiles_col : str, optional
        SMILES column (matched exactly, then case-insensitively). Default: see
        :func:`find_smiles_column`; for an SDF file, the SMILES of each record's structure.
    value_col : str, optional
        Value column (for an SDF file, an SD property). Default: the only other column
        whose non-empty cells are mostly numbers (an unnamed 0..n-1 index column, and ID
        columns when another numeric column exists, are ignored); else the only column
        holding exactly two text labels.
    kind : {"classification", "regression"}, optional
        Default: decided by :func:`decide_task_kind` (0/1 or two text labels give
        classification, other numbers regression).
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
        Size limit; default :data:`MAX_UPLOAD_MB`.

    Returns
    -------
    task : Task or None
        The usable (``"ok"``) rows only, in input order (task row ``j`` is report row
        ``report.row[report.status == "ok"].iloc[j]``); ``meta`` holds the column names
        used, plus ``label_map`` / ``positive`` for text labels and ``threshold`` when
        binarised. ``None`` only when no row is usable and ``raise_on_empty`` is False.
    report : pandas.DataFrame
        Exactly one row per input data row, in input order, with columns ``row``
        (0-based data row, header excluded), ``smiles`` (as given, stripped), ``value``
        (the task label, NaN when the row is not used), ``status`` (one of
        :data:`STATUSES`) and ``error`` (human-readable, ``""`` when ok). ``report.attrs``
        holds ``smiles_col``, ``value_col`` and ``kind_reason``.

    Raises
    ------
    UserTableError
        Empty / too large / binary / unreadable file, no data rows, a named column that
        does not exist, no (or an ambiguous) auto-detected column, no usable rows, or a
        value column that fits neither kind (see :func:`decide_task_kind`).
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    if conflicts not in ("drop", "mean"):
        raise ValueError(f"conflicts must be 'drop' or 'mean', not {conflicts!r}")
    df, src = _read_table(source, filename=filename, sheet=sheet, max_mb=max_mb)
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
        raise UserTableError(f"{src}: the SMILES and the value column are the same column ({smiles_col!r}). Choose another value column.")
    try:
        decision = decide_task_kind(df[value_col], kind=kind, threshold=threshold, positive_label=positive_label, column=value_col)
    except UserTableError as exc:
        raise UserTableError(f"{src}: {exc}") from exc

    record_errors = df[RECORD_ERROR_COLUMN].tolist() if RECORD_ERROR_COLUMN in df.columns else [""] * len(df)
    records: list[list] = []
    for i, (raw_smiles, raw_value, record_error) in enumerate(zip(df[smiles_col].tolist(), df[value_col].tolist(), record_errors)):
        smiles = _smiles_text(raw_smiles)
        value, value_status, value_error = decision.parse(raw_value)
        structure_error = record_error if isinstance(record_error, str) and record_error else smiles_problem(raw_smiles)
        if structure_error is not None:
            status = STATUS_INVALID_STRUCTURE
            error = structure_error + (f"; also {value_error}" if value_status else "")
        elif value_status is not None:
            status, error = value_status, value_error
        else:
            status, error = STATUS_OK, ""
        records.append([i, smiles, value if status == STATUS_OK else math.nan, status, error])
    _mark_duplicates(records, decision.kind, conflicts)
    report = pd.DataFrame.from_records(records, columns=REPORT_COLUMNS)
    report["value"] = report["value"].astype(np.float64)
    report.attrs.update({"smiles_col": smiles_col, "value_col": value_col, "kind_reason": decision.reason})

    ok = (report["status"] == STATUS_OK).to_numpy()
    counts = status_counts(report)
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

    meta: dict = {"smiles_col": smiles_col, "value_col": value_col}
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
    )
    return task, report
