"""Repeated structures among the usable rows of a table: merged when they agree, left out (or averaged) when not.

Two rows are the same structure when their domain keys are equal
(:meth:`~sciml.domains.base.Domain.key`: canonical SMILES for molecules). One rule for
every way in: the table loader (CLI, app) and ``FewShotModel.fit`` (the Python API).
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import numpy as np

TaskKind = Literal["classification", "regression"]

__all__ = ["STATUS_DUPLICATE_CONFLICT", "STATUS_DUPLICATE_MERGED", "Conflicts", "mark_duplicates"]

#: Row status of rows repeating a structure with different values (all of them are left out).
STATUS_DUPLICATE_CONFLICT = "duplicate (conflicting values)"
#: Row status of a later row repeating an earlier structure with the same value (merged into the first).
STATUS_DUPLICATE_MERGED = "duplicate (merged)"

Conflicts = Literal["drop", "mean"]


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def mark_duplicates(
    rows: Sequence[int],
    keys: Sequence[str],
    values: Sequence[float],
    *,
    kind: TaskKind,
    conflicts: Conflicts = "drop",
    label: str = "structure",
) -> dict[int, tuple[str | None, float, str]]:
    """What happens to the usable rows that repeat a structure.

    Parameters
    ----------
    rows : sequence of int
        Row numbers of the usable rows, for messages.
    keys : sequence of str
        Their structure keys (:meth:`Domain.key`), aligned with ``rows``.
    values : sequence of float
        Their labels, aligned with ``rows``.
    kind : {"classification", "regression"}
    conflicts : {"drop", "mean"}, optional
        Rows of one structure with different values: all left out (``"drop"``) or, for
        regression, averaged into the first such row (``"mean"``).
    label : str, optional
        What a key is called in messages ("SMILES" gives "canonical SMILES").

    Returns
    -------
    dict
        Position ``i`` (into ``rows``) -> ``(status, value, error)`` for each row that
        changes: ``status`` :data:`STATUS_DUPLICATE_MERGED` or
        :data:`STATUS_DUPLICATE_CONFLICT` with value NaN, or ``None`` for a first row
        that stays usable with the averaged ``value``. Rows not in the dict are unchanged.
    """
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    out: dict[int, tuple[str | None, float, str]] = {}
    for key, members in groups.items():
        if len(members) < 2:
            continue
        first = members[0]
        vals = [float(values[i]) for i in members]
        nums = [rows[i] for i in members]
        if all(_same(v, vals[0]) for v in vals):
            for i in members[1:]:
                out[i] = (STATUS_DUPLICATE_MERGED, math.nan,
                          f"same structure and value as row {nums[0]}; merged into row {nums[0]}")
            continue
        shown = ", ".join(f"row {r}: {v:g}" for r, v in zip(nums, vals))
        if conflicts == "mean" and kind == "regression":
            mean = float(np.mean(vals))
            out[first] = (None, mean, "")
            for i in members[1:]:
                out[i] = (STATUS_DUPLICATE_MERGED, math.nan,
                          f"same structure as row {nums[0]} with another value ({shown}); averaged into row {nums[0]} ({mean:g})")
            continue
        for i in members:
            others = ", ".join(str(r) for r in nums if r != rows[i])
            out[i] = (STATUS_DUPLICATE_CONFLICT, math.nan,
                      f"same structure as row{'s' if len(nums) > 2 else ''} {others} (canonical {label} {key}) with different "
                      f"values ({shown}); left out: correct or remove the conflicting rows, or average them")
    return out
