"""The :class:`Domain` interface: everything the library needs to know about one kind of input.

A domain (molecules today; crystals and compositions next) turns what a user supplies
(a SMILES string, later a CIF text or a formula) into model inputs, and answers the
questions that the rest of the library asks about inputs: how to name them in a
table, whether one is valid, which two inputs are the same, how similar two inputs
are (applicability domain), how to group them for grouped cross-validation, how to
show one, and which encoder suits them. Learners, pipelines, the API, the CLI and the
app go through this interface and never branch on the domain's name.

Featurizers, returned by :meth:`Domain.featurizer`, share one small protocol:

* ``spec.to_dict()`` — a JSON-serialisable, versioned description, stored in
  checkpoints; :meth:`Domain.featurizer` rebuilds the featurizer from it (and refuses a
  spec this installation cannot reproduce);
* ``featurize(inputs) -> FeaturizeResult`` — ``items[i]`` for input ``i`` or ``None``
  with ``errors[i]`` the reason (never an exception for the whole batch);
* ``collate(items) -> batch`` — what the domain's encoders take in ``forward``;
* ``encoder_dims() -> dict`` — input sizes the default encoder needs (e.g. atom and
  bond feature widths).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from sciml.registry import ClassRegistry

__all__ = ["DOMAINS", "DEFAULT_DOMAIN", "Domain", "FeaturizeResult", "get_domain", "group_folds"]

logger = logging.getLogger(__name__)

#: name -> Domain subclass; feeds the CLI's ``--domain`` choices and the checkpoint ``domain`` field.
DOMAINS: ClassRegistry = ClassRegistry("domain")

#: The domain of checkpoints written before the ``domain`` field existed.
DEFAULT_DOMAIN = "molecules"


if TYPE_CHECKING:
    import pandas as pd


@dataclass
class FeaturizeResult:
    """Output of a featurizer's ``featurize``, aligned with its input.

    ``items[i]`` is the featurized input ``i`` or ``None`` when ``i`` is in ``errors``
    (input position -> reason). Nothing is dropped or reordered.
    """

    items: list[Any | None]
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def graphs(self) -> list[Any | None]:
        """``items`` under the name graph featurizers use."""
        return self.items

    @property
    def valid_index(self) -> np.ndarray:
        return np.array([i for i, g in enumerate(self.items) if g is not None], dtype=np.int64)


class Domain(ABC):
    """One kind of input. Subclasses are registered in :data:`DOMAINS` by ``@DOMAINS.register()``.

    Class attributes
    ----------------
    name : str
        Registry key, stored in checkpoints (``config["domain"]``).
    label : str
        How one input is called in messages and column headers ("SMILES", "structure").
    input_columns : tuple of str
        Normalised column names (lower case, spaces and hyphens as ``_``) that hold this
        domain's inputs in a user table, in order of preference.
    column_hint : str
        A substring that marks a column as this domain's when no name matches exactly.
    file_suffixes : tuple of str
        Structure-file suffixes this domain reads besides tables (e.g. ``.sdf``, ``.cif``).
    """

    name: ClassVar[str]
    label: ClassVar[str] = "structure"
    input_columns: ClassVar[tuple[str, ...]] = ()
    column_hint: ClassVar[str] = ""
    file_suffixes: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ inputs
    @abstractmethod
    def parse(self, raw: object) -> tuple[Any | None, str | None]:
        """``(record, None)`` for a usable input, ``(None, reason)`` otherwise."""

    def problem(self, raw: object) -> str | None:
        """Why ``raw`` is not a usable input, or ``None``."""
        return self.parse(raw)[1]

    @abstractmethod
    def key(self, raw: object) -> str:
        """Canonical text of a valid input: equal for inputs that are the same structure."""

    def looks_like(self, values: Sequence[object], min_fraction: float = 0.8) -> bool:
        """Whether at least ``min_fraction`` of the non-empty text cells in ``values`` parse."""
        cells = [v.strip() for v in values if isinstance(v, str) and v.strip()][:100]
        if not cells:
            return False
        return sum(self.problem(c) is None for c in cells) >= min_fraction * len(cells)

    # ------------------------------------------------------------------ features
    @abstractmethod
    def featurizer(self, spec: dict | None = None, **options):
        """The featurizer for ``spec`` (a checkpoint's ``featurizer`` entry) or, without it, for ``options``.

        Raises ``ValueError`` when ``spec`` cannot be reproduced by this installation.
        """

    @abstractmethod
    def default_encoder(self, featurizer, **overrides) -> tuple[str, dict]:
        """``(encoder name, encoder config)`` that suits this domain's featurizer output."""

    # ------------------------------------------------------------------ comparisons
    @abstractmethod
    def similarity(self, a: Sequence[object], b: Sequence[object]) -> np.ndarray:
        """Structural similarity in [0, 1] of valid inputs ``a`` ``[n_a]`` and ``b`` ``[n_b]`` -> ``[n_a, n_b]``."""

    def similarity_features(self, inputs: Sequence[object]):
        """What :meth:`similarity_between` compares, computed once per input (default: the inputs themselves).

        Domains with a fingerprint override this and :meth:`similarity_between` so that
        large comparisons (:func:`sciml.applicability.applicability_domain`) fingerprint
        the support once and the queries chunk by chunk.
        """
        return list(inputs)

    def similarity_between(self, fa, fb) -> np.ndarray:
        """:meth:`similarity` from :meth:`similarity_features` of both sides -> ``[n_a, n_b]``."""
        return self.similarity(fa, fb)

    #: What :meth:`similarity` measures, for documentation ("Tanimoto (Morgan radius 2, 2048 bits)").
    similarity_name: ClassVar[str] = "similarity"
    #: The same in one word, for messages ("nearest measured compound has Tanimoto 0.21").
    similarity_label: ClassVar[str] = "similarity"
    #: Column that holds the input in outputs with one row per input (``smiles`` for molecules).
    output_column: ClassVar[str] = "structure"
    #: Below this nearest-support similarity a query is flagged out of domain (a checkpoint's calibrated
    #: ``applicability.outside_similarity`` takes precedence).
    similarity_threshold: ClassVar[float] = 0.35
    #: Below this (and not below ``similarity_threshold``) a query is at the edge of the domain.
    edge_similarity: ClassVar[float] = 0.5

    #: What one group of :meth:`group_keys` is called in messages ("scaffold").
    group_name: ClassVar[str] = "group"

    def group_keys(self, inputs: Sequence[object]) -> list[str]:
        """A group label per valid input, for grouped splits (scaffolds for molecules); default: the key."""
        return [self.key(x) for x in inputs]

    def group_kfold(self, inputs: Sequence[object], n_folds: int, seed: int = 0) -> np.ndarray:
        """A fold id ``[n]`` per valid input such that no group of :meth:`group_keys` is in two folds.

        Default: inputs grouped by equal :meth:`group_keys`, groups dealt whole by
        :func:`group_folds`; domains with their own grouping (molecules: deepchem's scaffold
        sets) override it. Fewer groups than ``n_folds`` give one fold per group.
        """
        by_key: dict[str, list[int]] = {}
        for i, k in enumerate(self.group_keys(inputs)):
            by_key.setdefault(k, []).append(i)
        sets = [np.asarray(v, dtype=np.int64) for v in by_key.values()]
        return group_folds(sets, len(inputs), n_folds, seed, what=f"{self.group_name}s")

    # ------------------------------------------------------------------ display
    def describe(self, raw: object) -> dict[str, object]:
        """Short display fields of one input (e.g. formula and weight); default: its key."""
        return {self.label: self.key(raw)}

    def depict(self, raw: object, width: int = 180, height: int = 120) -> str | None:
        """A picture of one input as an image data URI, or ``None`` (the default: no picture)."""
        return None

    #: What :meth:`matches` patterns are called ("SMARTS"), or ``None`` when the domain has no pattern search.
    pattern_name: ClassVar[str | None] = None

    def matches(self, inputs: Sequence[object], pattern: str) -> np.ndarray:
        """Whether each input contains ``pattern`` ``[n]`` (bool; unreadable inputs: False); ``ValueError`` for a
        pattern that cannot be read. Default: not supported (:attr:`pattern_name` is ``None``)."""
        raise NotImplementedError(f"the {self.name} domain has no pattern search")

    def explain_picture(self, raw: object, reference: object, width: int = 420, height: int = 320) -> str | None:
        """A picture of ``raw`` showing what it shares with ``reference`` (e.g. its nearest measured input), as an
        image data URI, or ``None`` (the default: no such picture)."""
        return None

    #: Suffix of the domain's structure file that :meth:`write_structures` writes (``".sdf"``), or ``None``.
    structure_file_suffix: ClassVar[str | None] = None

    def write_structures(self, inputs: Sequence[object], properties: "pd.DataFrame") -> bytes:
        """A structure file (:attr:`structure_file_suffix`) with one record per input, in order, each carrying
        its row of ``properties`` (same length) as named properties; an input that cannot be read becomes an
        empty record that still carries its properties. Default: not supported."""
        raise NotImplementedError(f"the {self.name} domain has no structure file format")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def group_folds(sets: Sequence[np.ndarray], n: int, n_folds: int, seed: int = 0, what: str = "groups") -> np.ndarray:
    """Deal groups of positions whole to folds: a fold id per position, ``[n]`` int64.

    Groups go largest first, each to the fold that holds the fewest positions so far
    (lowest fold id on a tie); ``seed`` shuffles the order of groups of equal size, so a
    seed always gives the same folds. ``sets`` must partition ``range(n)``. With fewer
    groups than ``n_folds`` each group is its own fold (logged as a warning, ``what``
    naming the groups); every fold id in ``0 .. min(n_folds, len(sets)) - 1`` is used.
    """
    if int(n_folds) != n_folds or n_folds < 2:
        raise ValueError(f"n_folds must be an integer of at least 2, got {n_folds!r}")
    fold = np.full(n, -1, dtype=np.int64)
    if not len(sets):
        return fold
    k = min(int(n_folds), len(sets))
    if k < n_folds:
        logger.warning("only %d distinct %s among %d inputs: %d folds instead of %d", len(sets), what, n, k, n_folds)
    tie = np.random.default_rng(seed).permutation(len(sets))
    order = sorted(range(len(sets)), key=lambda j: (-len(sets[j]), tie[j]))
    counts = np.zeros(k, dtype=np.int64)
    for j in order:
        f = int(np.argmin(counts))
        fold[np.asarray(sets[j], dtype=np.int64)] = f
        counts[f] += len(sets[j])
    if (fold < 0).any() or counts.sum() != n:
        raise ValueError(f"the {what} do not partition the {n} inputs")
    return fold


def get_domain(name: str | None = None) -> Domain:
    """An instance of domain ``name`` (default :data:`DEFAULT_DOMAIN`); a ``KeyError`` lists the known ones."""
    import sciml.domains  # noqa: F401 - registers the shipped domains

    return DOMAINS[name or DEFAULT_DOMAIN]()
