"""A task collection from a lab's own assays: one long-format table, or a folder of one table per assay.

Each assay becomes one :class:`~assays.task.Task`, read with the rules of a user table
(:func:`~assays.sources.tables.load_user_table`: structure validation, value parsing,
task kind, duplicates), and the assays are split by name into train / validation / test
(deterministically, or as a split file says). A per-assay report says what was used and
why anything was left out.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from assays.sources.tables import STATUS_OK, STATUSES, UserTableError, load_user_table
from assays.sources.tables.columns import as_domain, find_column, find_structure_column, find_value_column, normalise
from assays.sources.tables.read import RECORD_ERROR_COLUMN, read_named_table
from assays.task import InvalidRow, Task, TaskCollection, TaskKind
from sciml.domains import Domain

__all__ = [
    "ASSAY_COLUMN_NAMES",
    "ASSAY_TYPE_KINDS",
    "MAX_COLLECTION_MB",
    "REPORT_COLUMNS",
    "load_assay_collection",
    "split_assays",
]

logger = logging.getLogger(__name__)

#: Column names read as the assay id of a long-format table (normalised), in order of preference.
ASSAY_COLUMN_NAMES: tuple[str, ...] = ("assay", "assay_id", "assay_name", "assay_chembl_id", "task", "task_id",
                                       "target", "target_id", "endpoint")
#: Column names read as the measured value, in order of preference; else the only other numeric column.
VALUE_COLUMN_NAMES: tuple[str, ...] = ("value", "y", "label", "activity", "measurement", "result", "response",
                                       "standard_value", "pchembl_value")
#: Column names read as the unit of the value.
UNIT_COLUMN_NAMES: tuple[str, ...] = ("unit", "units", "standard_units", "value_unit")
#: Column names read as the assay type.
TYPE_COLUMN_NAMES: tuple[str, ...] = ("assay_type", "type", "task_type", "kind")
#: Assay-type cells (case-insensitive) that fix an assay's kind instead of reading it from the values.
ASSAY_TYPE_KINDS: dict[str, TaskKind] = {
    "classification": "classification", "binary": "classification", "class": "classification",
    "categorical": "classification", "active/inactive": "classification",
    "regression": "regression", "continuous": "regression", "quantitative": "regression", "numeric": "regression",
}
#: Size limit of a collection file in MB (a local file, not an upload).
MAX_COLLECTION_MB = 512

_TABLE_SUFFIX = re.compile(r"\.(csv|tsv|tab|txt|xlsx|xlsm|sdf|sd)(\.gz)?$", re.IGNORECASE)

STATUS_SKIPPED = "skipped"
#: Columns of the per-assay report; the row statuses of :data:`~assays.sources.tables.STATUSES` other than ok are counts.
REPORT_COLUMNS: list[str] = ["assay", "kind", "n_rows", "n_used", "n_dropped", *STATUSES[1:], "status", "why", "part",
                             "unit", "assay_type", "source"]


@dataclass
class _Columns:
    structure: str
    value: str
    unit: str | None = None
    type: str | None = None


@dataclass
class _Assay:
    """One assay's rows as read: a table of text cells, the file it came from and its data-row numbers there."""

    name: str
    df: pd.DataFrame | None
    source: str
    rows: list[int]
    columns: _Columns | None = None
    problem: str = ""


# ----------------------------------------------------------------------------- columns


def _named(df: pd.DataFrame, names: Sequence[str]) -> str | None:
    by_norm: dict[str, str] = {}
    for c in df.columns:
        by_norm.setdefault(normalise(c), c)
    return next((by_norm[n] for n in names if n in by_norm), None)


def _columns(df: pd.DataFrame, src: str, domain: Domain, *, exclude: Sequence[str] = (), structure_col=None,
             value_col=None, unit_col=None, type_col=None) -> _Columns:
    """The structure, value, unit and type columns of ``df``: as named (checked), else by name, else by content."""
    unit = find_column(df, unit_col, "unit", src) if unit_col else _named(df, UNIT_COLUMN_NAMES)
    assay_type = find_column(df, type_col, "assay type", src) if type_col else _named(df, TYPE_COLUMN_NAMES)
    taken = [c for c in (*exclude, unit, assay_type) if c]
    rest = df.drop(columns=taken)
    if structure_col:
        structure = find_column(df, structure_col, domain.label, src)
    else:
        structure = find_structure_column(rest, src, domain)
    if value_col:
        value = find_column(df, value_col, "value", src)
    else:
        named = _named(rest.drop(columns=[structure], errors="ignore"), VALUE_COLUMN_NAMES)
        value = named or find_value_column(rest, structure, src)
    if value == structure:
        raise UserTableError(f"{src}: the {domain.label} and the value column are the same column ({structure!r}).")
    return _Columns(structure, value, unit, assay_type)


def _assay_column(df: pd.DataFrame, src: str, assay_col: str | None) -> str:
    if assay_col:
        return find_column(df, assay_col, "assay", src)
    found = _named(df, ASSAY_COLUMN_NAMES)
    if found is None:
        raise UserTableError(
            f"{src}: could not find the assay column (no column is named {', '.join(ASSAY_COLUMN_NAMES)}). "
            f"Available columns: {', '.join(map(repr, df.columns))}. Name it with assay_col, or give a folder "
            f"with one table per assay."
        )
    return found


# ----------------------------------------------------------------------------- reading


def _assay_stem(path: Path) -> str:
    return _TABLE_SUFFIX.sub("", path.name)


def _from_long_table(path: Path, domain: Domain, assay_col, max_mb, **cols) -> tuple[list[_Assay], int]:
    df, src = read_named_table(path, max_mb=max_mb)
    if len(df) == 0:
        raise UserTableError(f"{src} has a header ({', '.join(map(repr, df.columns))}) but no data rows.")
    assay = _assay_column(df, src, assay_col)
    columns = _columns(df, src, domain, exclude=[assay], **cols)
    ids = [str(v).strip() for v in df[assay].tolist()]
    keep = [c for c in (columns.structure, columns.value, columns.unit, columns.type, RECORD_ERROR_COLUMN)
            if c and c in df.columns]
    groups: dict[str, list[int]] = {}
    for i, a in enumerate(ids):
        groups.setdefault(a, []).append(i)
    no_id = groups.pop("", [])
    if no_id:
        logger.warning("%s: %d rows have an empty assay column %r and are left out (0-based data rows: %s%s)",
                       src, len(no_id), assay, ", ".join(map(str, no_id[:5])), ", ..." if len(no_id) > 5 else "")
    assays = [_Assay(name, df.iloc[rows][keep].reset_index(drop=True), src, rows, columns)
              for name, rows in groups.items()]
    return assays, len(no_id)


def _from_folder(folder: Path, domain: Domain, max_mb, **cols) -> list[_Assay]:
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and _TABLE_SUFFIX.search(p.name))
    if not files:
        raise UserTableError(
            f"{folder}: no assay tables in this folder (one .csv, .tsv, .xlsx or .sdf file per assay, named after the assay)."
        )
    by_stem: dict[str, list[Path]] = {}
    for p in files:
        by_stem.setdefault(_assay_stem(p), []).append(p)
    twice = {s: ps for s, ps in by_stem.items() if len(ps) > 1}
    if twice:
        shown = "; ".join(f"{s}: {', '.join(p.name for p in ps)}" for s, ps in sorted(twice.items()))
        raise UserTableError(f"{folder}: several files name the same assay ({shown}). Keep one file per assay.")
    assays = []
    for stem, (path,) in by_stem.items():
        try:
            df, src = read_named_table(path, max_mb=max_mb)
            if len(df) == 0:
                raise UserTableError(f"{src} has a header but no data rows.")
            columns = _columns(df, src, domain, **cols)
        except UserTableError as exc:
            assays.append(_Assay(stem, None, path.name, [], problem=str(exc).removeprefix(f"{path.name}: ")))
            continue
        assays.append(_Assay(stem, df, src, list(range(len(df))), columns))
    return assays


# ----------------------------------------------------------------------------- one assay


def _distinct(df: pd.DataFrame, col: str | None) -> list[str]:
    if not col:
        return []
    return sorted({v for v in (str(x).strip() for x in df[col].tolist()) if v})


def _report_row(a: _Assay, **fields) -> dict:
    row = {c: 0 for c in STATUSES[1:]}
    row.update(assay=a.name, kind="", n_rows=len(a.rows), n_used=0, n_dropped=len(a.rows), status=STATUS_SKIPPED,
               why=a.problem, part="", unit="", assay_type="", source=a.source)
    row.update(fields)
    return row


def _load_assay(a: _Assay, domain: Domain, min_rows: int, conflicts: str) -> tuple[Task | None, dict, list[InvalidRow]]:
    """The task of one assay (``None`` when skipped), its report row and its left-out rows."""
    if a.df is None:
        return None, _report_row(a), []
    cols = a.columns
    units, types = _distinct(a.df, cols.unit), _distinct(a.df, cols.type)
    info = {"unit": ", ".join(units), "assay_type": ", ".join(types)}
    if len(units) > 1:
        return None, _report_row(a, why=f"mixed units ({', '.join(units)}): convert the values to one unit", **info), []
    kinds = {ASSAY_TYPE_KINDS.get(t.casefold()) for t in types}
    if None in kinds:
        unknown = [t for t in types if t.casefold() not in ASSAY_TYPE_KINDS]
        return None, _report_row(a, why=f"unknown assay type {', '.join(map(repr, unknown))} "
                                        f"(use classification or regression)", **info), []
    if len(kinds) > 1:
        return None, _report_row(a, why=f"assay types {', '.join(types)} disagree", **info), []
    where = a.source if _assay_stem(Path(a.source)) == a.name else f"{a.source}, assay {a.name}"
    try:
        task, rep = load_user_table(a.df, domain=domain, smiles_col=cols.structure, value_col=cols.value,
                                    kind=kinds.pop() if kinds else None, name=a.name, raise_on_empty=False,
                                    filename=where, conflicts=conflicts, row_numbers=a.rows)
    except UserTableError as exc:
        return None, _report_row(a, why=str(exc).removeprefix(f"{where}: "), **info), []
    counts = rep["status"].value_counts().to_dict()
    bad = rep[rep["status"] != STATUS_OK]
    invalid = [InvalidRow(a.source, int(r.row), r.smiles, f"assay {a.name}: {r.status}: {r.error}")
               for r in bad.itertuples()]
    n_used = int(counts.get(STATUS_OK, 0))
    row = _report_row(a, n_used=n_used, n_dropped=len(rep) - n_used, status=STATUS_OK, why="", **info,
                      **{s: int(counts.get(s, 0)) for s in STATUSES[1:]})
    why = ""
    if task is None:
        why = "no usable rows"
    elif n_used < min_rows:
        why = f"too few rows: {n_used} usable, need {min_rows}"
    elif task.kind == "classification" and task.n_positive in (0, n_used):
        why = f"one class only: all {n_used} usable rows are {'active (1)' if task.n_positive else 'inactive (0)'}"
    if task is not None:
        row["kind"] = task.kind
        task.source = a.source
        task = task.subset(sorted(range(len(task)), key=lambda i: (domain.key(task.inputs[i]), task.labels[i])))
        task.meta.update(unit=units[0] if units else None, assay_type=types[0] if types else None,
                         kind_reason=rep.attrs.get("kind_reason", ""))
    if why:
        row.update(status=STATUS_SKIPPED, why=why)
        return None, row, invalid
    return task, row, invalid


# ----------------------------------------------------------------------------- split


def _order(names: Sequence[str], seed: int) -> list[str]:
    """``names`` in the order of a stable hash of ``f"{seed}:{name}"`` (CRC32, as :func:`~assays.task.carve_validation`)."""
    return sorted(names, key=lambda n: (zlib.crc32(f"{seed}:{n}".encode()), n))


def split_assays(names: Sequence[str], *, val_fraction: float = 0.15, test_fraction: float = 0.15,
                 seed: int = 0) -> dict[str, list[str]]:
    """Split assay names into ``{"train", "val", "test"}`` by a stable hash, independent of their order.

    ``round(fraction * n)`` assays go to test and to validation, at least one each when
    the fraction is positive and enough assays remain (three for a test assay, two for a
    validation assay); at least one stays in train. Each part lists names sorted.
    """
    for f in (val_fraction, test_fraction):
        if not 0 <= f < 1:
            raise ValueError(f"split fractions must be in [0, 1), got {f}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be below 1, got {val_fraction + test_fraction:g}")
    order = _order(sorted(set(names)), seed)
    n = len(order)
    n_test = max(int(test_fraction > 0 and n >= 3), round(test_fraction * n))
    n_val = max(int(val_fraction > 0 and n - n_test >= 2), round(val_fraction * n))
    n_val = max(0, min(n_val, n - n_test - 1))
    return {"test": sorted(order[:n_test]), "val": sorted(order[n_test:n_test + n_val]),
            "train": sorted(order[n_test + n_val:])}


def _read_split(split: str | os.PathLike | Mapping) -> tuple[dict[str, list[str]], str]:
    if isinstance(split, Mapping):
        spec, where = split, "the split"
    else:
        where = Path(split).name
        try:
            spec = json.loads(Path(split).expanduser().read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"Split file not found: {split}") from exc
        except json.JSONDecodeError as exc:
            raise UserTableError(f"{where} is not valid JSON ({exc}); expected "
                                 '{"train": [...], "val": [...], "test": [...]}.') from exc
    if not isinstance(spec, Mapping) or not set(spec) <= {"train", "val", "test"} or "train" not in spec:
        raise UserTableError(f"{where}: expected a JSON object with a \"train\" list and optional \"val\" and \"test\" "
                             f"lists of assay names, got {list(spec) if isinstance(spec, Mapping) else type(spec).__name__}.")
    parts = {p: [str(n) for n in spec.get(p, [])] for p in ("train", "val", "test")}
    seen: dict[str, str] = {}
    for part, names in parts.items():
        for n in names:
            if n in seen:
                raise UserTableError(f"{where}: assay {n!r} is listed in both {seen[n]!r} and {part!r}.")
            seen[n] = part
    return parts, where


# ----------------------------------------------------------------------------- main


def load_assay_collection(
    path: str | os.PathLike,
    *,
    domain: Domain | str = "molecules",
    assay_col: str | None = None,
    structure_col: str | None = None,
    value_col: str | None = None,
    unit_col: str | None = None,
    type_col: str | None = None,
    split: str | os.PathLike | Mapping | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    min_rows: int = 10,
    conflicts: str = "drop",
    name: str | None = None,
    max_mb: float = MAX_COLLECTION_MB,
) -> tuple[TaskCollection, pd.DataFrame]:
    """Read a lab's assays into a :class:`~assays.task.TaskCollection` with a train / val / test split by assay.

    Parameters
    ----------
    path : path-like
        A long-format table (CSV / TSV / Excel, see :func:`~assays.sources.tables.read_table`)
        with one row per measurement: assay id, structure and value columns, optionally
        unit and assay type; or a folder holding one such table per assay (without the
        assay column; the assay id is the file name without its suffixes).
    domain : Domain or str, optional
        The input domain (instance or registered name); default molecules.
    assay_col, structure_col, value_col, unit_col, type_col : str, optional
        Column names (matched exactly, then case-insensitively). Defaults: the assay column
        is the first named like :data:`ASSAY_COLUMN_NAMES`; the structure column is found
        as in a user table (domain column names, then content); the value column is the
        first named like ``value``, ``y``, ``label``, ``activity``..., else the only other
        numeric (or two-label) column; unit and type columns are optional (``unit``,
        ``units``...; ``assay_type``, ``type``...).
    split : path-like or mapping, optional
        A JSON file ``{"train": [...], "val": [...], "test": [...]}`` of assay names (or
        that mapping). Names that are no assay are an error; assays it does not list are
        reported as skipped. Default: :func:`split_assays` per task kind.
    val_fraction, test_fraction : float, optional
        Fractions of the usable assays (of each kind) held out for validation and test.
    seed : int, optional
        Seed of the split (the same seed and assays always give the same split).
    min_rows : int, optional
        Assays with fewer usable rows are skipped.
    conflicts : {"drop", "mean"}, optional
        Repeated structures with different values within an assay (see ``load_user_table``).
    name : str, optional
        Collection name; default the file or folder name without suffixes.
    max_mb : float, optional
        Size limit of each file in MB.

    Returns
    -------
    collection : TaskCollection
        One task per usable assay, its rows sorted by structure key (so the row order of
        the files does not matter), ``domain`` set, ``meta`` holding ``unit``,
        ``assay_type``, ``kind_reason`` and the columns used; ``invalid`` holds every
        left-out row (file, 0-based data row, structure cell, assay and reason).
    report : pandas.DataFrame
        One row per assay (:data:`REPORT_COLUMNS`, sorted by assay): kind, rows read,
        used and dropped (by row validation and duplicates), a count per row status, ``status`` ``ok`` or ``skipped`` with
        ``why``, the split ``part``, unit, assay type and source file. Rows without an
        assay id are counted in a last row with an empty ``assay``.

    Raises
    ------
    UserTableError
        An unreadable table, a column that is not there (the message lists the columns),
        no assay column, a folder without tables or with two tables for one assay, a bad
        split file, or a split file naming unknown assays.
    FileNotFoundError
        If ``path`` (or ``split``) does not exist.
    """
    domain = as_domain(domain)
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Assay table or folder not found: {path}")
    cols = dict(structure_col=structure_col, value_col=value_col, unit_col=unit_col, type_col=type_col)
    n_no_id = 0
    if path.is_dir():
        assays = _from_folder(path, domain, max_mb, **cols)
    else:
        assays, n_no_id = _from_long_table(path, domain, assay_col, max_mb, **cols)

    tasks: dict[str, Task] = {}
    rows: list[dict] = []
    invalid: list[InvalidRow] = []
    for a in sorted(assays, key=lambda a: a.name):
        task, row, bad = _load_assay(a, domain, min_rows, conflicts)
        rows.append(row)
        invalid += bad
        if task is not None:
            tasks[a.name] = task
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS)

    if split is not None:
        parts, where = _read_split(split)
        known = {a.name for a in assays}
        unknown = [n for p in parts.values() for n in p if n not in known]
        if unknown:
            raise UserTableError(f"{where} names assays that {path.name} does not hold: {', '.join(map(repr, unknown[:10]))}"
                                 f"{', ...' if len(unknown) > 10 else ''}. Assays: {', '.join(sorted(known)[:20])}.")
        listed = {n: p for p, names in parts.items() for n in names}
        for i, a in report["assay"].items():
            if a in tasks and a not in listed:
                report.loc[i, ["status", "why"]] = [STATUS_SKIPPED, f"not listed in {where}"]
                del tasks[a]
        parts = {p: [n for n in names if n in tasks] for p, names in parts.items()}
    else:
        parts = {"train": [], "val": [], "test": []}
        for kind in sorted({t.kind for t in tasks.values()}):
            for p, names in split_assays([n for n, t in tasks.items() if t.kind == kind], val_fraction=val_fraction,
                                         test_fraction=test_fraction, seed=seed).items():
                parts[p] += names
    for p, names in parts.items():
        report.loc[report["assay"].isin(names), "part"] = p
    if n_no_id:
        no_id = _report_row(_Assay("", None, path.name, list(range(n_no_id))), why="rows with an empty assay id")
        report = pd.concat([report, pd.DataFrame([no_id], columns=REPORT_COLUMNS)], ignore_index=True)
    coll = TaskCollection(name or _assay_stem(path), tasks, train=parts["train"], val=parts["val"], test=parts["test"],
                          invalid=invalid, source=str(path))
    skipped = report[report["status"] != STATUS_OK]
    logger.info("%s; %d assays skipped", coll.summary(), len(skipped))
    for r in skipped.itertuples():
        logger.info("%s: assay %r skipped: %s", path.name, r.assay, r.why)
    return coll, report
