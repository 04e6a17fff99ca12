"""Loaders of the shared task collections and of users' own tables."""

from assays.sources.moleculenet import FEWSHOT_DATASETS

#: Few-shot MoleculeNet collections (classification).
FEWSHOT_COLLECTIONS: tuple[str, ...] = tuple(FEWSHOT_DATASETS)
#: Every shared collection a command can name with ``--dataset`` (MoleculeACE: regression).
SHARED_COLLECTIONS: tuple[str, ...] = FEWSHOT_COLLECTIONS + ("moleculeace",)

__all__ = ["FEWSHOT_COLLECTIONS", "SHARED_COLLECTIONS"]
