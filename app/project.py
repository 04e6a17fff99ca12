"""A project file: everything a run needs, so that it can be reopened tomorrow (no Streamlit here).

A project is one JSON object (``format: "sciml-project"``): the measured compounds and the
candidates as the tables the app read (every cell as text, with the SHA-256 of the file the
user gave and of the stored table), the column and task choices, the sidebar settings, the
checkpoint's name and the ranking. Nothing in it is executed or unpickled; :func:`read_project`
validates every field and raises :class:`ProjectError` with a message that names the field.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from app import user_tables as ut
from assays.sources import tables

FORMAT = "sciml-project"
VERSION = 1
#: Largest project file read: both tables at the upload limit, plus the settings.
MAX_PROJECT_MB = 2 * tables.MAX_UPLOAD_MB + 1
#: Sidebar and ranking settings a project keeps (widget keys of the app), with their types.
SETTINGS = {"level": float, "similarity": (float, type(None)), "check": str, "rows": int,
            "hit_rate": (float, type(None)), "baseline_choice": str, "acquisition": (str, type(None)),
            "kappa": (float, type(None))}


class ProjectError(ValueError):
    """A project file that cannot be opened; the message says why and what to do."""


@dataclass(frozen=True)
class Project:
    """An opened project: the two tables, the choices made on them, the settings and the checkpoint name."""

    support: ut.InputTable
    choice: dict
    candidates: ut.Candidates
    settings: dict
    checkpoint: str
    created_at_utc: str
    package_version: str


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _table_entry(df: pd.DataFrame, name: str, sha256: str) -> dict:
    csv = df.to_csv(index=False)
    return {"name": name, "sha256": sha256, "csv": csv, "csv_sha256": _sha(csv), "n_rows": len(df)}


def support_choice(support: ut.SupportSet) -> dict:
    """The column and task choices of step 2 that produced ``support``."""
    if support.threshold is not None:
        mode = ut.KIND_THRESHOLD
    elif support.kind == "classification":
        mode = ut.KIND_CLASSIFICATION
    else:
        mode = ut.KIND_REGRESSION
    return {"smiles_col": support.smiles_col, "value_col": support.value_col, "mode": mode,
            "threshold": support.threshold, "positive": support.positive, "units": support.units,
            "maximize": bool(support.maximize)}


def project_bytes(support: ut.SupportSet, cands: ut.Candidates, settings: dict, checkpoint: str,
                  package_version: str) -> bytes:
    """The project file of a run (UTF-8 JSON)."""
    doc = {"format": FORMAT, "version": VERSION, "package_version": package_version,
           "created_at_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "checkpoint": checkpoint,
           "support": {**_table_entry(support.table.df, support.table.name, support.table.sha256),
                       "choice": support_choice(support)},
           "candidates": {**_table_entry(cands.df, cands.name, cands.sha256), "smiles_col": cands.smiles_col},
           "settings": {k: settings.get(k) for k in SETTINGS}}
    return json.dumps(doc, indent=1).encode("utf-8")


def _get(doc: dict, key: str, kind, where: str):
    if key not in doc:
        raise ProjectError(f"{where}: the key {key!r} is missing. Save the project again from the app.")
    value = doc[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(kind, tuple) and float in kind and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ProjectError(f"{where}: {key!r} has the wrong type ({type(value).__name__}). Save the project again "
                           "from the app.")
    return value


def _table(doc: dict, part: str, name: str) -> tuple[pd.DataFrame, dict]:
    entry = _get(doc, part, dict, name)
    where = f"{name}, {part}"
    csv = _get(entry, "csv", str, where)
    if _sha(csv) != _get(entry, "csv_sha256", str, where):
        raise ProjectError(f"{where}: the stored table does not match its checksum: the file was edited or damaged. "
                           "Save the project again from the app.")
    df = pd.read_csv(io.StringIO(csv), dtype=str, keep_default_na=False)
    if len(df) != _get(entry, "n_rows", int, where):
        raise ProjectError(f"{where}: {len(df)} rows stored but {entry['n_rows']} recorded; the file is damaged.")
    return df, entry


def read_project(data: bytes, name: str = "project file") -> Project:
    """Validate and open a project file; :class:`ProjectError` names what is wrong."""
    if len(data) > MAX_PROJECT_MB * 1024 * 1024:
        raise ProjectError(f"{name} is {len(data) / 2**20:.1f} MB; project files are at most {MAX_PROJECT_MB} MB.")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProjectError(f"{name} is not a project file (not JSON: {exc}). Open a file saved with "
                           "'Project (JSON)' in step 8.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProjectError(f"{name} is not a sciml project (no \"format\": \"{FORMAT}\"). Open a file saved with "
                           "'Project (JSON)' in step 8.")
    version = _get(doc, "version", int, name)
    if version > VERSION:
        raise ProjectError(f"{name} was saved by a newer sciml (project version {version}; this one reads up to "
                           f"{VERSION}). Update sciml.")
    sdf, sentry = _table(doc, "support", name)
    cdf, centry = _table(doc, "candidates", name)
    raw = _get(sentry, "choice", dict, f"{name}, support")
    choice = {"smiles_col": _get(raw, "smiles_col", str, f"{name}, support choice"),
              "value_col": _get(raw, "value_col", str, f"{name}, support choice"),
              "mode": _get(raw, "mode", str, f"{name}, support choice"),
              "threshold": _get(raw, "threshold", (float, type(None)), f"{name}, support choice"),
              "positive": _get(raw, "positive", (str, type(None)), f"{name}, support choice"),
              "units": _get(raw, "units", str, f"{name}, support choice"),
              "maximize": _get(raw, "maximize", bool, f"{name}, support choice")}
    for col, part, df in ((choice["smiles_col"], "support", sdf), (choice["value_col"], "support", sdf),
                          (_get(centry, "smiles_col", str, f"{name}, candidates"), "candidates", cdf)):
        if col not in df.columns:
            raise ProjectError(f"{name}, {part}: the chosen column {col!r} is not in the stored table "
                               f"({', '.join(map(repr, df.columns))}).")
    if choice["mode"] not in (ut.KIND_REGRESSION, ut.KIND_CLASSIFICATION, ut.KIND_THRESHOLD):
        raise ProjectError(f"{name}, support choice: unknown task choice {choice['mode']!r}.")
    settings_doc = _get(doc, "settings", dict, name)
    settings = {k: _get(settings_doc, k, kind, f"{name}, settings") for k, kind in SETTINGS.items()}
    support = ut.InputTable(sdf, _get(sentry, "name", str, f"{name}, support"),
                            _get(sentry, "sha256", str, f"{name}, support"), "project")
    table = ut.InputTable(cdf, _get(centry, "name", str, f"{name}, candidates"),
                          _get(centry, "sha256", str, f"{name}, candidates"), "project")
    try:
        cands = ut.candidates_from_table(table, centry["smiles_col"])
    except tables.UserTableError as exc:
        raise ProjectError(f"{name}, candidates: {exc}") from None
    return Project(support, choice, cands, settings, _get(doc, "checkpoint", str, name),
                   str(doc.get("created_at_utc", "")), str(doc.get("package_version", "")))
