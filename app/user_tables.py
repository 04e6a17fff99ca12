"""The user's tables: uploads, pasted text and typed rows into support sets and candidate lists.

No Streamlit here: every function either returns a result or raises
:class:`~assays.sources.tables.UserTableError` with a message meant for the user
(it names the file, the column or the row and says what to do).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from app.config import MAX_CANDIDATES, MIN_SUPPORT
from assays.sources import tables
from assays.sources.tables import UserTableError
from sciml.domains import get_domain
from sciml.domains.molecules import SMILES_COLUMN_NAMES

#: The three ways of reading the measurement column (shown in the app).
KIND_REGRESSION = "Regression: predict the measured value"
KIND_CLASSIFICATION = "Classification: 0/1 or two text labels (e.g. active/inactive)"
KIND_THRESHOLD = "Classification by an activity threshold on the values"


@dataclass(frozen=True)
class InputTable:
    """A table as the user gave it: every cell as text, its display name and the SHA-256 of what was given."""

    df: pd.DataFrame
    name: str
    sha256: str
    origin: str  # "upload", "paste", "table", "example"


@dataclass
class SupportSet:
    """The measured compounds after column and task choices: the usable rows and the per-row report."""

    smiles: list[str]
    y: np.ndarray
    kind: str
    report: pd.DataFrame
    smiles_col: str
    value_col: str
    kind_reason: str
    table: InputTable
    threshold: float | None = None
    positive: str | None = None
    units: str = ""
    maximize: bool = True
    meta: dict = field(default_factory=dict)


@dataclass
class Candidates:
    """Structures to predict, with the user's rows kept (one output row per input row)."""

    df: pd.DataFrame
    smiles: list[str]
    smiles_col: str
    name: str
    sha256: str


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_rows(df: pd.DataFrame, name: str) -> pd.DataFrame:
    if df.shape[1] == 0:
        raise UserTableError(f"{name} has no columns: the first line should name the columns (e.g. smiles,value).")
    if len(df) == 0:
        raise UserTableError(f"{name} has a header ({', '.join(map(repr, df.columns))}) but no data rows: "
                             "add one row per molecule under the header.")
    return df


def table_from_bytes(data: bytes, filename: str, origin: str = "upload") -> InputTable:
    """An uploaded (or shipped) CSV / TSV / Excel / SDF file; the size limit is ``tables.MAX_UPLOAD_MB`` (read now)."""
    df = tables.read_table(data, filename=filename, max_mb=tables.MAX_UPLOAD_MB)
    return InputTable(_check_rows(df, filename), filename, _sha(data), origin)


def _headerless(first_line: str) -> bool:
    """A first line like ``CCO<TAB>5.2``: a SMILES then a number, and no column names."""
    tokens = [t for t in re.split(r"[\t,;]|\s+", first_line.strip()) if t]
    if len(tokens) < 2 or tokens[0].lower() in SMILES_COLUMN_NAMES:
        return False
    try:
        float(tokens[1])
    except ValueError:
        return False
    return get_domain().problem(tokens[0]) is None


def table_from_text(text: str, name: str = "pasted text") -> InputTable:
    """Pasted rows (CSV, TSV or copied spreadsheet cells); a missing header becomes ``smiles, value``."""
    if not text or not text.strip():
        raise UserTableError(f"{name} is empty: paste a header line (e.g. smiles,pKi) and one row per molecule.")
    lines = text.strip("\n").splitlines()
    if _headerless(lines[0]):
        sep = "\t" if "\t" in lines[0] else ("," if "," in lines[0] else ";" if ";" in lines[0] else None)
        if sep is None:
            lines = ["\t".join(re.split(r"\s+", line.strip(), maxsplit=1)) for line in lines]
            sep = "\t"
        n = len(lines[0].split(sep))
        header = sep.join(["smiles", "value"] + [f"column {k + 3}" for k in range(n - 2)])
        text = "\n".join([header, *lines])
    data = text.encode("utf-8")
    df = tables.read_table(data, filename=f"{name}.txt", max_mb=tables.MAX_UPLOAD_MB)
    return InputTable(_check_rows(df, name), name, _sha(data), "paste")


def table_from_editor(df: pd.DataFrame, name: str = "typed table") -> InputTable:
    """Rows typed into the editable table (fully blank rows dropped)."""
    df = df.copy()
    for c in df.columns:
        df[c] = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() for v in df[c]]
    df = df[(df != "").any(axis=1)].reset_index(drop=True)
    if len(df) == 0:
        raise UserTableError(f"The {name} is empty: type or paste one molecule per row (SMILES and measured value).")
    data = df.to_csv(index=False).encode("utf-8")
    return InputTable(df, name, _sha(data), "table")


# ------------------------------------------------------------------------------- columns


def guess_smiles_column(df: pd.DataFrame) -> str | None:
    try:
        return tables.find_structure_column(df)
    except UserTableError:
        return None


def guess_value_column(table: InputTable, smiles_col: str | None) -> str | None:
    """The measurement column auto-detection picks, or ``None`` when it is not obvious."""
    if smiles_col is None:
        return None
    try:
        _, report = tables.load_user_table(table.df, smiles_col=smiles_col, raise_on_empty=False, filename=table.name)
    except UserTableError:
        return None
    return report.attrs.get("value_col")


def kind_choices(table: InputTable, value_col: str, tasks: tuple[str, ...]) -> tuple[list[str], tables.KindDecision]:
    """The ways the value column can be read (the first is the default) and the automatic decision.

    Raises :class:`UserTableError` when the column fits no task, or none the checkpoint serves."""
    decision = tables.decide_task_kind(table.df[value_col], column=value_col)
    if decision.label_map is not None or decision.kind == "classification":
        choices = [KIND_CLASSIFICATION]
    else:
        choices = [KIND_REGRESSION, KIND_THRESHOLD]
    allowed = [c for c in choices if (c == KIND_REGRESSION and "regression" in tasks)
               or (c != KIND_REGRESSION and "classification" in tasks)]
    if not allowed:
        raise UserTableError(
            f"Column {value_col!r} gives a {decision.kind} task ({decision.reason}), but the chosen checkpoint serves "
            f"only {', '.join(tasks)}. Choose another checkpoint or another measurement column.")
    return allowed, decision


def numeric_values(series: pd.Series) -> np.ndarray:
    """The finite numbers of a text column (for threshold defaults)."""
    v = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    return v[np.isfinite(v)]


def build_support(table: InputTable, smiles_col: str, value_col: str, mode: str, *,
                  threshold: float | None = None, positive_label: str | None = None) -> SupportSet:
    """Per-row report and usable rows; raises :class:`UserTableError` when no row is usable (``.report`` set)."""
    if smiles_col == value_col:
        raise UserTableError(f"{table.name}: the structure and the measurement column are both {smiles_col!r}. "
                             "Choose the column of measured values as the measurement column.")
    kind = "regression" if mode == KIND_REGRESSION else "classification"
    task, report = tables.load_user_table(
        table.df, smiles_col=smiles_col, value_col=value_col, kind=kind, filename=table.name, name=table.name,
        threshold=threshold if mode == KIND_THRESHOLD else None,
        positive_label=positive_label if mode == KIND_CLASSIFICATION else None)
    meta = dict(task.meta)
    return SupportSet(list(task.inputs), np.asarray(task.labels, dtype=np.float64), kind, report, smiles_col, value_col,
                      report.attrs.get("kind_reason", ""), table, meta.get("threshold"),
                      meta.get("positive") or (f">= {threshold:g}" if mode == KIND_THRESHOLD else None), meta=meta)


def support_problem(support: SupportSet) -> str | None:
    """Why the usable rows are not enough to adapt on, with what is needed; ``None`` when they are."""
    n = len(support.y)
    need = MIN_SUPPORT[support.kind]
    counts = tables.status_counts(support.report)
    left = ", ".join(f"{v} {k}" for k, v in counts.items() if k != tables.STATUS_OK)
    why = f" ({left}; see the status column)" if left else ""
    if n < need:
        return (f"{support.table.name}: only {n} usable row{'s' if n != 1 else ''} out of {len(support.report)}{why}. "
                f"{support.kind.capitalize()} needs at least {need} measured compounds with a valid structure and "
                "value: add rows or fix the ones marked in the table.")
    if support.kind == "classification":
        n_pos = int((support.y == 1).sum())
        if n_pos == 0 or n_pos == n:
            cls = "active (1)" if n_pos else "inactive (0)"
            hint = (f" With a threshold of {support.threshold:g}, move it inside the range of your values."
                    if support.threshold is not None else "")
            return (f"{support.table.name}: all {n} usable rows are {cls}. Classification needs at least one active "
                    f"and one inactive compound: add measurements of the other class.{hint}")
    return None


# ---------------------------------------------------------------------------- candidates


def candidates_from_table(table: InputTable, smiles_col: str) -> Candidates:
    if smiles_col not in table.df.columns:
        raise UserTableError(f"{table.name}: no column {smiles_col!r}; available: {', '.join(map(repr, table.df.columns))}.")
    n = len(table.df)
    if n > MAX_CANDIDATES:
        raise UserTableError(f"{table.name} has {n:,} rows; the app predicts at most {MAX_CANDIDATES:,} candidates at a "
                             "time. Split the file, or score the whole library with `sciml screen` on the command line.")
    smiles = [str(s).strip() if isinstance(s, str) else "" for s in table.df[smiles_col].tolist()]
    if not any(get_domain().problem(s) is None for s in smiles):
        raise UserTableError(f"{table.name}: no cell of column {smiles_col!r} is a SMILES that RDKit can read. "
                             "Choose the column that holds the structures.")
    return Candidates(table.df.reset_index(drop=True), smiles, smiles_col, table.name, table.sha256)


def candidates_from_text(text: str, name: str = "pasted SMILES") -> Candidates:
    """One SMILES per line (optionally followed by a name), or a table with a SMILES column header."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise UserTableError(f"{name} is empty: paste one SMILES per line.")
    first = [t for t in re.split(r"[\t,;]|\s+", lines[0].strip()) if t]
    if any(t.lower() in SMILES_COLUMN_NAMES for t in first):
        table = table_from_text(text, name)
        return candidates_from_table(table, tables.find_structure_column(table.df, name))
    rows = [re.split(r"[\t,;]|\s+", line.strip(), maxsplit=1) for line in lines]
    df = pd.DataFrame({"smiles": [r[0] for r in rows], "name": [r[1].strip() if len(r) > 1 else "" for r in rows]})
    if not (df["name"] != "").any():
        df = df[["smiles"]]
    table = InputTable(df, name, _sha("\n".join(lines).encode("utf-8")), "paste")
    return candidates_from_table(table, "smiles")
