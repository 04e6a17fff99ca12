"""Which columns of a user table hold the structures and the measured values.

The structure column is found through the table's :class:`~sciml.domains.base.Domain`:
by name (:attr:`~sciml.domains.base.Domain.input_columns`, then a name containing
:attr:`~sciml.domains.base.Domain.column_hint`), else by content
(:meth:`~sciml.domains.base.Domain.looks_like`). The value column is the only other
numeric column, else the only column of two text labels.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from assays.sources.tables.kind import numeric_fraction, text_labels, to_float
from assays.sources.tables.read import RECORD_ERROR_COLUMN, UserTableError
from sciml.domains import Domain, get_domain

__all__ = ["ID_COLUMN_NAMES", "as_domain", "find_column", "find_structure_column", "find_value_column", "normalise"]

#: Column names never taken as the value column by auto-detection (identifiers).
ID_COLUMN_NAMES: frozenset[str] = frozenset(
    {"id", "compound_id", "cmpd_id", "compound", "molecule_id", "mol_id", "name", "index", "idx", "no", "#", "row", "title"}
)


def as_domain(domain: Domain | str | None) -> Domain:
    """``domain`` itself, or the registered domain of that name (``None``: the default, molecules)."""
    return domain if isinstance(domain, Domain) else get_domain(domain)


def normalise(col: object) -> str:
    """A column name compared loosely: stripped, lower case, runs of spaces and hyphens as ``_``."""
    return re.sub(r"[\s\-]+", "_", str(col).strip().lower())


def find_column(df: pd.DataFrame, wanted: str, role: str, name: str) -> str:
    """The column named ``wanted`` (exactly, else the only one equal after :func:`normalise`).

    Raises
    ------
    UserTableError
        Naming the ``role`` ("value", "SMILES"...), the table ``name`` and the available columns.
    """
    if wanted in df.columns:
        return wanted
    matches = [c for c in df.columns if normalise(c) == normalise(wanted)]
    if len(matches) == 1:
        return matches[0]
    raise UserTableError(
        f"{name}: no {role} column {wanted!r}. Available columns: {', '.join(map(repr, df.columns))}."
    )


def _the_only(found: list[str], several: str, choose: str) -> str | None:
    """The one column in ``found``, ``None`` if it is empty.

    Raises
    ------
    UserTableError
        ``"<several>: 'a', 'b'. <choose>"`` if it holds more than one column.
    """
    if len(found) > 1:
        raise UserTableError(f"{several}: {', '.join(map(repr, found))}. {choose}")
    return found[0] if found else None


def _holds_structures(series: pd.Series, domain: Domain) -> bool:
    cells = [s.strip() for s in series.tolist() if isinstance(s, str) and s.strip()][:100]
    if not cells or all(to_float(c)[1] is None for c in cells):
        return False
    return domain.looks_like(cells)


def find_structure_column(df: pd.DataFrame, name: str = "table", domain: Domain | str | None = None) -> str:
    """The column of ``df`` holding ``domain``'s inputs, found by name or, failing that, by content.

    Parameters
    ----------
    df : pandas.DataFrame
    name : str, optional
        Used in the error message (e.g. the file name).
    domain : Domain or str, optional
        The input domain (an instance or a registered name); default molecules.

    Returns
    -------
    str
        In this order: the first of :attr:`Domain.input_columns` that a column is named
        (case-insensitive; spaces and hyphens count as underscores); else the only column
        whose name contains :attr:`Domain.column_hint`; else the only column whose
        non-empty cells (up to the first 100) are not all numbers and are at least 80 %
        valid inputs (:meth:`Domain.looks_like`).

    Raises
    ------
    UserTableError
        If no column qualifies, or several do at the name-contains or content step; the
        message lists the available columns.
    """
    domain = as_domain(domain)
    by_norm: dict[str, str] = {}
    for c in df.columns:
        by_norm.setdefault(normalise(c), c)
    for candidate in domain.input_columns:
        if candidate in by_norm:
            return by_norm[candidate]
    hinted = [c for c in df.columns if domain.column_hint and domain.column_hint in normalise(c)]
    for step, found in (
        (f"are named like {domain.label}", hinted),
        (f"hold {domain.label}", [c for c in df.columns if _holds_structures(df[c], domain)]),
    ):
        col = _the_only(found, f"{name}: several columns {step}",
                        "Choose the structure column (smiles_col / --smiles-col).")
        if col is not None:
            return col
    raise UserTableError(
        f"{name}: could not find a {domain.label} column (no column is named {', '.join(domain.input_columns)} "
        f"or holds valid {domain.label}). Available columns: {', '.join(map(repr, df.columns))}. "
        f"Name the column with smiles_col / --smiles-col."
    )


def _looks_like_index(col: str, series: pd.Series) -> bool:
    """An unnamed column holding 0..n-1 (a DataFrame index written by ``to_csv``)."""
    if not (col == "" or col.lower().startswith("unnamed:")):
        return False
    values = np.array([to_float(v)[0] for v in series])
    return bool(np.array_equal(values, np.arange(len(series))))


def _is_id_column(col: str) -> bool:
    n = normalise(col)
    return n in ID_COLUMN_NAMES or n.endswith("_id")


def find_value_column(df: pd.DataFrame, structure_col: str, name: str = "table") -> str:
    """The measured-value column of ``df`` besides ``structure_col``.

    Parameters
    ----------
    df : pandas.DataFrame
    structure_col : str
        The structure column (never the value column).
    name : str, optional
        Used in the error message.

    Returns
    -------
    str
        The only other column whose non-empty cells are mostly numbers (an unnamed 0..n-1
        index column, and ID columns when another numeric column exists, are ignored);
        else the only non-ID column holding exactly two text labels.

    Raises
    ------
    UserTableError
        When several numeric columns qualify, or none and no two-label column; the
        message lists the available columns.
    """
    others = [c for c in df.columns if c not in (structure_col, RECORD_ERROR_COLUMN) and not _looks_like_index(c, df[c])]
    numeric = [c for c in others if numeric_fraction(df[c].tolist()) >= 0.5]
    if len(numeric) > 1:
        numeric = [c for c in numeric if not _is_id_column(c)] or numeric
    col = _the_only(numeric, f"{name}: more than one numeric column could hold the values",
                    "Choose one with value_col / --value-col.")
    if col is not None:
        return col
    two_labels = [c for c in others if not _is_id_column(c) and len(text_labels(df[c].tolist())) == 2]
    if len(two_labels) == 1:
        return two_labels[0]
    raise UserTableError(
        f"{name}: found no value column besides {structure_col!r} (numbers, 0/1, or two text labels such as "
        f"active/inactive)" + (f"; columns with two labels: {', '.join(map(repr, two_labels))}" if two_labels else "")
        + f". Available columns: {', '.join(map(repr, df.columns))}. Name it with value_col / --value-col."
    )
