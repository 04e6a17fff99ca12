"""Value cells and task kinds: how a value column becomes task labels.

:func:`decide_task_kind` looks at a whole column and returns a :class:`KindDecision`
(classification or regression, and for classification what 1 means); its
:meth:`KindDecision.parse` then reads each cell, returning the row status
:data:`STATUS_MISSING_VALUE` or :data:`STATUS_NON_NUMERIC` for cells it cannot use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from assays.sources.tables.read import UserTableError
from assays.task import TaskKind

__all__ = [
    "KindDecision",
    "NEGATIVE_LABELS",
    "POSITIVE_LABELS",
    "STATUS_MISSING_VALUE",
    "STATUS_NON_NUMERIC",
    "decide_task_kind",
]

#: Row status of an empty value cell (or an SDF record without the chosen property).
STATUS_MISSING_VALUE = "missing value"
#: Row status of a value that is not a finite number (text, ``inf``...) or not one of the two labels.
STATUS_NON_NUMERIC = "non-numeric value"

_MISSING_TOKENS = frozenset({"", "nan", "na", "n/a", "#n/a", "none", "null", "-"})

#: Text labels read as the active (1) / inactive (0) class, compared case-insensitively.
POSITIVE_LABELS = frozenset(
    {"1", "active", "actives", "positive", "pos", "yes", "y", "true", "t", "hit", "binder", "inhibitor", "toxic", "+"}
)
NEGATIVE_LABELS = frozenset(
    {"0", "inactive", "inactives", "negative", "neg", "no", "n", "false", "f", "non-hit", "nonhit", "non-binder",
     "nonbinder", "non-toxic", "nontoxic", "decoy", "not active", "non-active", "nonactive", "inert"}
)


# ----------------------------------------------------------------------------- cells


def to_float(value: object) -> tuple[float, str | None, str]:
    """One value cell as ``(number, status or None when ok, error text)``; non-finite numbers are non-numeric."""
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


def is_missing(value: object) -> bool:
    """Whether a value cell is empty or a missing-value token (``NA``, ``n/a``, ``-``...)."""
    return to_float(value)[1] == STATUS_MISSING_VALUE


def parses_as_float(value: object) -> bool:
    """Whether ``value`` reads as a float at all (``inf`` and ``nan`` included)."""
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return True
    try:
        float(str(value).strip())
    except ValueError:
        return False
    return True


def numeric_fraction(values: Sequence[object]) -> float:
    """Fraction of the non-missing cells that are numbers, ``inf`` included (0 when all are missing)."""
    present = [v for v in values if not is_missing(v)]
    if not present:
        return 0.0
    return sum(parses_as_float(v) for v in present) / len(present)


def text_labels(values: Sequence[object]) -> list[str]:
    """Distinct non-missing cells (stripped, first spelling kept, compared case-insensitively)."""
    seen: dict[str, str] = {}
    for v in values:
        if is_missing(v):
            continue
        text = str(v).strip()
        seen.setdefault(text.casefold(), text)
    return list(seen.values())


# ----------------------------------------------------------------------------- kind


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
    rule : str
        ``reason`` without counts over the whole column (``""`` when they are the same): what
        :meth:`with_counts` words the usable rows' counts after.
    """

    kind: TaskKind
    reason: str
    label_map: dict[str, int] | None = None
    threshold: float | None = None
    positive: str | None = None
    rule: str = ""
    _folded: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def with_counts(self, labels) -> str:
        """The reason with the class counts of ``labels`` (the usable rows' 0/1 labels), for classification.

        The counts in :attr:`reason` are over every numeric cell of the column; rows later dropped
        (invalid structure, duplicate) are not in ``labels``, so the two add up to the usable rows.
        """
        if self.kind != "classification":
            return self.reason
        y = np.asarray(labels, dtype=np.float64)
        n_pos = int((y == 1).sum())
        return f"{self.rule or self.reason} ({n_pos} active, {len(y) - n_pos} inactive)"

    def parse(self, value: object) -> tuple[float, str | None, str]:
        """One value cell as ``(number, status or None when ok, error text)``."""
        if self.label_map is not None:
            if is_missing(value):
                return math.nan, STATUS_MISSING_VALUE, "no value"
            text = str(value).strip()
            if text.casefold() in self._folded:
                return float(self._folded[text.casefold()]), None, ""
            return math.nan, STATUS_NON_NUMERIC, f"{text!r} is neither of the labels {', '.join(map(repr, self.label_map))}"
        number, status, error = to_float(value)
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
    values: pd.Series | Sequence[object],
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
    values : pandas.Series or sequence
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
    cells = list(values)
    parsed = [to_float(v) for v in cells]
    numbers = np.array([p[0] for p in parsed if p[1] is None], dtype=np.float64)
    n_text = sum(p[1] == STATUS_NON_NUMERIC and not parses_as_float(v) for p, v in zip(parsed, cells))
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
        rule = f"classification: {column} >= {t:g} is active (1), below is inactive (0)"
        return KindDecision(
            "classification",
            f"{rule} ({n_pos} active, {len(numbers) - n_pos} inactive)",
            threshold=t,
            positive=f">= {t:g}",
            rule=rule,
        )
    if n_text > n_numeric:
        labels = text_labels(cells)
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
        from sciml.learners.base import class_code_problem

        problem = None if is_binary else class_code_problem(numbers)
        if problem is not None:
            raise UserTableError(f"column {column!r}: {problem} (--task regression, or kind='regression').")
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
