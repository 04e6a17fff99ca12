"""Libraries of molecules read in chunks, so memory stays flat whatever the file size.

:func:`read_chunks` yields ``pandas.DataFrame`` chunks of at most ``chunk_size`` rows with the
columns of :data:`CHUNK_COLUMNS`:

* ``row``: the 0-based position of the input row in the library (records for SDF);
* ``id``: the row's identifier (the id column or second field, the SDF title or an id
  property; the row number when there is none);
* ``smiles``: the structure as read ("" when the row could not be read);
* ``read_error``: why the row could not be read ("" when it could).

A malformed line (a CSV row with the wrong number of fields, bytes that are not UTF-8, an SDF
record RDKit cannot parse) is still one row, with its reason, so a library of N rows gives N
output rows. Formats, by suffix: ``.smi`` / ``.smiles`` / ``.txt`` (SMILES, whitespace, optional
id; a first line ``smiles ...`` is a header), ``.csv`` / ``.tsv`` (header row, delimiter sniffed
from it), ``.parquet``, ``.sdf``; each may end in ``.gz`` except Parquet. Blank lines of text
formats are skipped (they are not rows).
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Iterator

import pandas as pd

__all__ = ["CHUNK_COLUMNS", "FORMATS", "LibraryError", "library_format", "read_chunks"]

CHUNK_COLUMNS = ("row", "id", "smiles", "read_error")
FORMATS = {".smi": "smi", ".smiles": "smi", ".txt": "smi", ".csv": "csv", ".tsv": "csv", ".tab": "csv",
           ".parquet": "parquet", ".pq": "parquet", ".sdf": "sdf", ".sd": "sdf", ".mol": "sdf"}
#: Column names tried, in order, when the caller names no SMILES / id column.
SMILES_NAMES = ("smiles", "canonical_smiles", "smi", "structure", "mol", "molecule")
ID_NAMES = ("id", "name", "compound_id", "mol_id", "molecule_id", "identifier", "title", "zinc_id", "idnumber")


class LibraryError(ValueError):
    """The library as a whole cannot be read (unknown format, no SMILES column); names the file."""


def library_format(path: str | Path) -> tuple[str, bool]:
    """``(format, gzipped)`` of a library path by its suffixes; :class:`LibraryError` for others."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    ext = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes and not gz else "")
    fmt = FORMATS.get(ext)
    if fmt is None or (gz and fmt == "parquet"):
        raise LibraryError(f"{p}: unknown library format {''.join(p.suffixes[-2:]) or '(no suffix)'}; use .smi, .csv, "
                           f".tsv, .sdf (each optionally .gz) or .parquet")
    return fmt, gz


def _text(path: Path, gz: bool) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if gz else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def _frame(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(CHUNK_COLUMNS))
    df["row"] = df["row"].astype("int64")
    return df


def _pick(columns: list[str], wanted: str | None, names: tuple[str, ...], path: Path, what: str) -> int | None:
    if wanted is not None:
        if wanted not in columns:
            raise LibraryError(f"{path}: no column {wanted!r} (columns: {', '.join(columns[:20])}); name the {what} "
                               f"column that is there")
        return columns.index(wanted)
    lower = [c.strip().lower() for c in columns]
    for n in names:
        if n in lower:
            return lower.index(n)
    return None


def _smi_rows(path: Path, gz: bool, smiles_col, id_col) -> Iterator[tuple]:
    with _text(path, gz) as f:
        row = 0
        for i, line in enumerate(f):
            text = line.strip()
            if not text:
                continue
            parts = text.split(None, 1)
            if i == 0 and parts[0].lower() in SMILES_NAMES:
                continue  # a header line
            rid = parts[1].strip() if len(parts) > 1 else str(row)
            err = "the line is not valid UTF-8" if "\ufffd" in text else ""
            yield row, rid, "" if err else parts[0], err
            row += 1


def _csv_rows(path: Path, gz: bool, smiles_col, id_col) -> Iterator[tuple]:
    with _text(path, gz) as f:
        first = f.readline()
        if not first.strip():
            raise LibraryError(f"{path}: the first line is empty; a CSV library needs a header row")
        tab = any(x.lower() in (".tsv", ".tab") for x in path.suffixes)
        delim = "\t" if tab else max((",", "\t", ";"), key=first.count)
        header = next(csv.reader([first], delimiter=delim))
        si = _pick(header, smiles_col, SMILES_NAMES, path, "SMILES")
        if si is None:
            raise LibraryError(f"{path}: no SMILES column among {', '.join(header[:20])}; name it with --smiles-col")
        ii = _pick(header, id_col, ID_NAMES, path, "id")
        row = 0
        for fields in csv.reader(f, delimiter=delim):
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            rid = fields[ii].strip() if ii is not None and ii < len(fields) else str(row)
            if len(fields) != len(header):
                yield row, rid, "", f"the row has {len(fields)} fields, the header {len(header)}"
            elif any("\ufffd" in x for x in fields):
                yield row, rid, "", "the row is not valid UTF-8"
            else:
                yield row, rid, fields[si].strip(), ""
            row += 1


def _sdf_rows(path: Path, gz: bool, smiles_col, id_col) -> Iterator[tuple]:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    raw = gzip.open(path, "rb") if gz else open(path, "rb")
    with raw:
        for row, mol in enumerate(Chem.ForwardSDMolSupplier(raw, sanitize=True)):
            if mol is None:
                yield row, str(row), "", f"SDF record {row + 1} could not be read by RDKit"
                continue
            if mol.GetNumAtoms() == 0:
                yield row, str(row), "", f"SDF record {row + 1} has no atoms"
                continue
            rid = mol.GetProp(id_col) if id_col and mol.HasProp(id_col) else (
                mol.GetProp("_Name").strip() if mol.HasProp("_Name") and mol.GetProp("_Name").strip() else str(row))
            yield row, rid, Chem.MolToSmiles(mol), ""


def _parquet_chunks(path: Path, chunk_size: int, smiles_col, id_col) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    si = _pick(names, smiles_col, SMILES_NAMES, path, "SMILES")
    if si is None:
        raise LibraryError(f"{path}: no SMILES column among {', '.join(names[:20])}; name it with --smiles-col")
    ii = _pick(names, id_col, ID_NAMES, path, "id")
    cols = [names[si]] + ([names[ii]] if ii is not None else [])
    start = 0
    for batch in pf.iter_batches(batch_size=chunk_size, columns=cols):
        df = batch.to_pandas()
        n = len(df)
        rows = pd.RangeIndex(start, start + n)
        smi = df[names[si]]
        ok = smi.notna()
        out = pd.DataFrame({"row": rows.to_numpy(dtype="int64"),
                            "id": (df[names[ii]].astype(str) if ii is not None else pd.Series(rows.astype(str))).values,
                            "smiles": smi.where(ok, "").astype(str).str.strip().values,
                            "read_error": ok.map({True: "", False: "missing SMILES"}).values})
        start += n
        yield out


def read_chunks(path: str | Path, chunk_size: int, smiles_col: str | None = None,
                id_col: str | None = None) -> Iterator[pd.DataFrame]:
    """Chunks of ``path`` (see the module docstring); ``chunk_size`` rows each, the last possibly fewer.

    Raises :class:`LibraryError` (naming the file) for an unknown format or a table without a SMILES
    column, ``FileNotFoundError`` for a missing file; a bad row never raises.
    """
    path = Path(path)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such library file")
    fmt, gz = library_format(path)
    if fmt == "parquet":
        yield from _parquet_chunks(path, chunk_size, smiles_col, id_col)
        return
    rows = {"smi": _smi_rows, "csv": _csv_rows, "sdf": _sdf_rows}[fmt](path, gz, smiles_col, id_col)
    buf: list[tuple] = []
    for r in rows:
        buf.append(r)
        if len(buf) == chunk_size:
            yield _frame(buf)
            buf = []
    if buf:
        yield _frame(buf)
