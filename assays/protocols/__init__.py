"""Evaluation protocols built on the task collections: which tasks and which molecules each phase may see."""

from assays.protocols.new_assay import (DEFAULT_GRID, NewAssaySplit, SplitMismatchError, apply_split, build_split,
                                        load_split_record, rebuild_split, verify)

__all__ = ["DEFAULT_GRID", "NewAssaySplit", "SplitMismatchError", "apply_split", "build_split", "load_split_record",
           "rebuild_split", "verify"]
