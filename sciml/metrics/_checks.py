"""Input validation shared by the metrics: every check returns float64 1-D arrays or raises ``ValueError``.

Error messages name up to ten offending rows so that a caller can find them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_binary", "check_prob", "has_both_classes", "check_finite", "check_std", "check_level",
           "check_interval"]


def _rows(mask: np.ndarray) -> list[int]:
    """The first ten indices where ``mask [n]`` is true."""
    return np.flatnonzero(mask)[:10].tolist()


def check_binary(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(y_true, score)`` as float64 1-D arrays of equal length ``[n]``.

    Raises
    ------
    ValueError
        On a length mismatch, labels outside {0, 1} or non-finite scores.
    """
    y = np.asarray(y_true, dtype=np.float64).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true and score must have the same length, got {y.size} and {s.size}.")
    not_binary = ~np.isin(y, (0.0, 1.0))
    if not_binary.any():
        raise ValueError(f"y_true must contain only 0 and 1; rows {_rows(not_binary)} do not.")
    if not np.isfinite(s).all():
        raise ValueError(f"score contains NaN/inf at rows {_rows(~np.isfinite(s))}.")
    return y, s


def check_prob(y_true, prob) -> tuple[np.ndarray, np.ndarray]:
    """:func:`check_binary` plus ``prob`` in ``[0, 1]``; returns ``(y [n], prob [n])``."""
    y, p = check_binary(y_true, prob)
    outside = (p < 0.0) | (p > 1.0)
    if outside.any():
        raise ValueError(f"prob must lie in [0, 1]; rows {_rows(outside)} do not.")
    return y, p


def has_both_classes(y: np.ndarray) -> bool:
    """Whether the 0/1 labels ``y [n]`` hold at least one 0 and one 1."""
    return y.size > 0 and 0.0 < y.sum() < y.size


def check_finite(**arrays) -> list[np.ndarray]:
    """The keyword arrays as float64 1-D arrays ``[n]``, in the order given.

    Raises
    ------
    ValueError
        Unless all are finite and of one length (the message names the arrays).
    """
    out = [np.asarray(a, dtype=np.float64).ravel() for a in arrays.values()]
    names = list(arrays)
    sizes = [a.size for a in out]
    if len(set(sizes)) > 1:
        desc = ", ".join(f"{n}={s}" for n, s in zip(names, sizes))
        raise ValueError(f"inputs must have the same length, got {desc}.")
    for name, a in zip(names, out):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN/inf at rows {_rows(~np.isfinite(a))}.")
    return out


def check_std(std: np.ndarray, *, strict: bool) -> None:
    """Raise ``ValueError`` unless ``std [n]`` is ``> 0`` (``strict``) or ``>= 0``."""
    bad = std <= 0.0 if strict else std < 0.0
    if bad.any():
        need = "> 0" if strict else ">= 0"
        raise ValueError(f"std must be {need}; rows {_rows(bad)} are not.")


def check_level(level: float) -> float:
    """``level`` as a float; raise ``ValueError`` unless it lies strictly between 0 and 1."""
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}.")
    return level


def check_interval(lower, upper, **extra) -> list[np.ndarray]:
    """:func:`check_finite` of ``extra`` then ``lower`` and ``upper`` (returned last), plus ``lower <= upper``."""
    arrays = check_finite(**extra, lower=lower, upper=upper)
    lo, hi = arrays[-2], arrays[-1]
    if (lo > hi).any():
        raise ValueError(f"lower must be <= upper; rows {_rows(lo > hi)} are not.")
    return arrays
