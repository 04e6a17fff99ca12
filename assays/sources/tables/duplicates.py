"""Repeated structures in user tables: the rule lives in :mod:`sciml.duplicates` (shared with the Python API)."""

from sciml.duplicates import STATUS_DUPLICATE_CONFLICT, STATUS_DUPLICATE_MERGED, Conflicts, mark_duplicates

__all__ = ["STATUS_DUPLICATE_CONFLICT", "STATUS_DUPLICATE_MERGED", "Conflicts", "mark_duplicates"]
