"""Read a table as a user gives it (path, bytes, open file or DataFrame) into a DataFrame of text cells.

Formats: CSV / TSV (any delimiter among comma, tab and semicolon, sniffed from the content
whatever the extension, decimal commas detected in semicolon- and tab-separated files;
optionally gzipped),
Excel workbooks (``.xlsx``, first sheet by default) and structure files (SDF for
molecules: one row per record, the structure written as SMILES, the SD properties as
columns). The format comes from the file name, else from the content. Every problem
raises :class:`UserTableError` with a message that names the file and says what to do.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import logging
import os
import re
import zipfile
from pathlib import Path
from typing import IO, Callable, Union

import pandas as pd

__all__ = [
    "MAX_UPLOAD_MB",
    "RECORD_ERROR_COLUMN",
    "SDF_NAME_COLUMN",
    "SDF_SMILES_COLUMN",
    "STRUCTURE_FILE_READERS",
    "TableSource",
    "UserTableError",
    "read_table",
]

logger = logging.getLogger(__name__)

TableSource = Union[str, os.PathLike, pd.DataFrame, bytes, bytearray, memoryview, IO[bytes], IO[str]]

#: Largest file accepted (after gzip decompression), in MB (1 MB = 2**20 bytes). Read at
#: call time by :func:`read_table` whenever no ``max_mb`` is given.
MAX_UPLOAD_MB = 20

#: Columns of a table read from an SDF file: the SMILES written from each record's
#: structure, the record title (when any record has one) and, when some records could not
#: be read, why.
SDF_SMILES_COLUMN = "smiles"
SDF_NAME_COLUMN = "name"
RECORD_ERROR_COLUMN = "record_error"

_TEXT_ENCODINGS = ("utf-8", "utf-8-sig", "latin-1")
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")
_HELP_FORMATS = "Upload a CSV or TSV text file, an Excel .xlsx workbook or an SDF file."
_TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".smi")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")


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


# ----------------------------------------------------------------------------- bytes


def _display_name(source: TableSource, filename: str | None) -> str:
    if filename:
        return Path(str(filename)).name
    if isinstance(source, pd.DataFrame):
        return "DataFrame"
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(str(name)).name if isinstance(name, (str, os.PathLike)) and str(name) else "uploaded table"


def _too_large(name: str, size: int, max_mb: float, what: str = "") -> UserTableError:
    return UserTableError(
        f"{name} is too large{what}: {size / 2**20:.1f} MB, the limit is {max_mb:g} MB. "
        f"Keep only the rows and columns you need, or split the file."
    )


def _raw_bytes(source: TableSource, name: str, max_mb: float) -> bytes:
    """The bytes of a path, bytes-like or file-like ``source``, size-checked and gunzipped."""
    limit = int(max_mb * 2**20)
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
    """Text of ``data``: UTF-16 when it starts with a UTF-16 byte-order mark or (without one) every
    other byte is NUL, else the first of
    utf-8, utf-8-sig and latin-1 that decodes it; binary content raises :class:`UserTableError`."""
    text = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    elif len(data) >= 4 and len(data) % 2 == 0:
        # UTF-16 without a byte-order mark: ASCII text leaves every other byte NUL
        head = data[:4096]
        odd, even = head[1::2].count(0) / max(1, len(head) // 2), head[0::2].count(0) / max(1, len(head) // 2)
        for enc, share in (("utf-16-le", odd), ("utf-16-be", even)):
            if share > 0.9 and text is None:
                try:
                    text = data.decode(enc)
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


def _empty_error(name: str) -> UserTableError:
    return UserTableError(
        f"{name} is empty: expected a header row naming the columns (structures and measured values), "
        f"then one row per measurement."
    )


# ----------------------------------------------------------------------------- text and Excel


def _delimiter(text: str, name: str) -> str:
    """The field delimiter: tab for ``.tsv`` / ``.tab``; otherwise sniffed among comma, semicolon and tab
    (a ``.csv`` from Excel in many locales is semicolon-separated), comma when the sample is ambiguous."""
    lower = _strip_gz(name)
    if lower.endswith((".tsv", ".tab")):
        return "\t"
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    sample = "\n".join(lines)
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        sep = None
    header = lines[0] if lines else ""
    if sep is None or (sep != "," and header.count(sep) == 0):
        counts = {d: header.count(d) for d in (",", ";", "\t")}
        best = max(counts, key=counts.get)
        sep = best if counts[best] else ","
    return sep


#: A number written with a decimal comma ("7,25", "-0,5", "1,2e-3").
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")
_DOT_NUMBER = re.compile(r"^[+-]?\d*\.\d+([eE][+-]?\d+)?$")
_SEP_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def _decimal_comma_columns(df: pd.DataFrame) -> list[str]:
    """Columns whose non-empty cells are mostly decimal-comma numbers and none a decimal-point number."""
    out = []
    for col in df.columns:
        cells = [str(v).strip() for v in df[col] if str(v).strip()]
        if not cells:
            continue
        comma = sum(bool(_DECIMAL_COMMA.match(c)) for c in cells)
        if comma and comma >= 0.5 * len(cells) and not any(_DOT_NUMBER.match(c) for c in cells):
            out.append(col)
    return out


def _read_text(data: bytes, name: str) -> pd.DataFrame:
    text = _decode(data, name)
    if not text.strip():
        raise _empty_error(name)
    sep = _delimiter(text, name)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                         skip_blank_lines=True)
    except pd.errors.EmptyDataError as exc:  # pragma: no cover - caught by the strip() check above
        raise _empty_error(name) from exc
    except pd.errors.ParserError as exc:
        raise UserTableError(f"{name}: could not read it as a {_SEP_NAMES.get(sep, repr(sep))}-separated table "
                             f"({exc}).") from exc
    notes = [f"{_SEP_NAMES.get(sep, repr(sep))}-separated"]
    if sep != ",":  # with comma-separated fields a decimal comma cannot occur unquoted
        cols = _decimal_comma_columns(df)
        for col in cols:
            df[col] = [str(v).strip().replace(",", ".") if _DECIMAL_COMMA.match(str(v).strip()) else v
                       for v in df[col]]
        if cols:
            notes.append(f"decimal comma in column(s) {', '.join(map(repr, cols))} (read as decimal points)")
    df.attrs["read_notes"] = notes
    logger.info("%s: read as %s", name, "; ".join(notes))
    return df


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


# ----------------------------------------------------------------------------- structure files
# A structure-file reader turns a file's bytes into one row per record: a column with the
# structure as the domain's table text, the record's properties as further columns and,
# where a record could not be read, RECORD_ERROR_COLUMN saying why.

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
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
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


def _looks_like_sdf(data: bytes) -> bool:
    head = data[:200_000]
    return bool(re.search(rb"^M  END\s*$", head, flags=re.MULTILINE)) and (b"$$$$" in head or len(data) <= len(head))


#: Structure-file readers by file suffix (``bytes, display name -> DataFrame``).
STRUCTURE_FILE_READERS: dict[str, Callable[[bytes, str], pd.DataFrame]] = {
    ".sdf": _read_sdf,
    ".sd": _read_sdf,
    ".mol": _read_sdf,
}
#: Content tests, in order, for structure files whose name does not tell the format.
_STRUCTURE_FILE_SNIFFERS: tuple[tuple[Callable[[bytes], bool], Callable[[bytes, str], pd.DataFrame]], ...] = (
    (_looks_like_sdf, _read_sdf),
)


# ----------------------------------------------------------------------------- dispatch


def _reader(data: bytes, name: str, sheet: int | str) -> Callable[[bytes, str], pd.DataFrame]:
    """The reader for ``data`` named ``name``: by suffix first, then by content."""
    lower = _strip_gz(name)
    if data.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise UserTableError(
            f"{name} is an old-style Excel .xls workbook, which is not supported: save it as .xlsx or as CSV."
        )
    if data.startswith(b"PK\x03\x04") or lower.endswith(_EXCEL_SUFFIXES):
        return lambda d, n: _read_excel(d, n, sheet)
    suffix = Path(lower).suffix
    if suffix in STRUCTURE_FILE_READERS:
        return STRUCTURE_FILE_READERS[suffix]
    if lower.endswith(_TEXT_SUFFIXES):
        return _read_text
    for looks_like, reader in _STRUCTURE_FILE_SNIFFERS:
        if looks_like(data):
            return reader
    return _read_text


def read_table(
    source: TableSource,
    *,
    filename: str | None = None,
    sheet: int | str = 0,
    max_mb: float | None = None,
) -> pd.DataFrame:
    """Read a CSV / TSV / Excel / structure-file table as given by a user, every cell as text.

    Parameters
    ----------
    source : path-like, bytes, file-like or pandas.DataFrame
        A path, its bytes (give ``filename``), an open binary or text file (e.g. an
        upload; all of it is read, wherever the cursor is) or a DataFrame (returned with
        a fresh 0..n-1 index). ``.gz`` / gzip content is decompressed. Text is decoded as
        UTF-16 (with a byte-order mark), utf-8, utf-8-sig or latin-1.
    filename : str, optional
        The file's name, used to tell the format (``.csv``, ``.tsv``, ``.xlsx``, ``.sdf``...)
        and in messages. Needed for bytes (an upload); for a path the path's name is used.
        Without a telling name the format is sniffed from the content.
    sheet : int or str, optional
        Excel sheet (index or name); default the first.
    max_mb : float, optional
        Size limit in MB (also applied after gzip decompression); default
        :data:`MAX_UPLOAD_MB` as it is when the function is called.

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
    return read_named_table(source, filename=filename, sheet=sheet, max_mb=max_mb)[0]


def read_named_table(
    source: TableSource, *, filename: str | None = None, sheet: int | str = 0, max_mb: float | None = None
) -> tuple[pd.DataFrame, str]:
    """:func:`read_table` plus the name that messages use for ``source`` (its file name, or "DataFrame")."""
    if max_mb is None:
        max_mb = MAX_UPLOAD_MB
    name = _display_name(source, filename)
    if isinstance(source, pd.DataFrame):
        if source.shape[1] == 0 and len(source) == 0:
            raise UserTableError("The table is empty (no columns and no rows).")
        return source.reset_index(drop=True), name
    data = _raw_bytes(source, name, max_mb)
    if not data.strip():
        raise _empty_error(name)
    df = _reader(data, name, sheet)(data, name)
    df.columns = [str(c).strip() for c in df.columns]
    return df, name
