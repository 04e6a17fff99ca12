"""A user's own tables of structures and measured values: read, find the columns, decide the task kind, load.

* :mod:`~assays.sources.tables.read`: bytes, size limit, encodings, format detection,
  CSV / TSV / Excel readers and the structure-file readers (SDF), :func:`read_table`;
* :mod:`~assays.sources.tables.columns`: which column holds the structures (through the
  :class:`~sciml.domains.base.Domain`) and which the values;
* :mod:`~assays.sources.tables.kind`: value cells, :class:`KindDecision`, :func:`decide_task_kind`;
* :mod:`~assays.sources.tables.duplicates`: repeated structures;
* :mod:`~assays.sources.tables.load`: :func:`load_user_table`, the row statuses and the
  per-row report.

Every problem that stops loading raises :class:`UserTableError` with a message meant for
the user (it names the file, the column or the row and says what to do).

``MAX_UPLOAD_MB`` is read from :mod:`~assays.sources.tables.read` whenever it is asked
for here, so that setting ``assays.sources.tables.read.MAX_UPLOAD_MB`` changes the limit
everywhere.
"""

from __future__ import annotations

from assays.sources.tables import read as _read
from assays.sources.tables.columns import find_structure_column, find_value_column
from assays.sources.tables.duplicates import STATUS_DUPLICATE_CONFLICT, STATUS_DUPLICATE_MERGED
from assays.sources.tables.kind import (
    NEGATIVE_LABELS,
    POSITIVE_LABELS,
    STATUS_MISSING_VALUE,
    STATUS_NON_NUMERIC,
    KindDecision,
    decide_task_kind,
)
from assays.sources.tables.load import (
    REPORT_COLUMNS,
    STATUS_INVALID_STRUCTURE,
    STATUS_OK,
    STATUSES,
    load_user_table,
    status_counts,
)
from assays.sources.tables.read import (
    RECORD_ERROR_COLUMN,
    SDF_NAME_COLUMN,
    SDF_SMILES_COLUMN,
    TableSource,
    UserTableError,
    read_table,
)

__all__ = [
    "KindDecision",
    "MAX_UPLOAD_MB",
    "NEGATIVE_LABELS",
    "POSITIVE_LABELS",
    "RECORD_ERROR_COLUMN",
    "REPORT_COLUMNS",
    "SDF_NAME_COLUMN",
    "SDF_SMILES_COLUMN",
    "STATUSES",
    "STATUS_DUPLICATE_CONFLICT",
    "STATUS_DUPLICATE_MERGED",
    "STATUS_INVALID_STRUCTURE",
    "STATUS_MISSING_VALUE",
    "STATUS_NON_NUMERIC",
    "STATUS_OK",
    "TableSource",
    "UserTableError",
    "decide_task_kind",
    "find_structure_column",
    "find_value_column",
    "load_user_table",
    "read_table",
    "status_counts",
]


def __getattr__(name: str):
    if name == "MAX_UPLOAD_MB":
        return _read.MAX_UPLOAD_MB
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
