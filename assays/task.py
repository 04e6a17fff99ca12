"""Tasks (one assay / property) and task collections with their train / validation / test split."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from typing import Iterable, Literal

import numpy as np

logger = logging.getLogger(__name__)

TaskKind = Literal["classification", "regression"]


@dataclass(frozen=True)
class InvalidRow:
    """One input row that could not be used, with the reason.

    ``row`` is the 0-based data row in ``file`` (header excluded).
    """

    file: str
    row: int
    input: str
    reason: str


@dataclass
class Task:
    """One few-shot task: inputs of one domain (SMILES for molecules) with one label each.

    Attributes
    ----------
    name : str
        Unique task name, e.g. ``"tox21/NR-AR"``.
    inputs : list[str]
        Inputs, all valid in ``domain`` (loaders drop invalid ones and report them).
    labels : np.ndarray
        Shape ``[n]``, float. 0/1 for classification.
    kind : {"classification", "regression"}
    source : str
        Where the task came from (file name or dataset id).
    domain : str
        Name of the input domain (:data:`sciml.domains.DOMAINS`).
    """

    name: str
    inputs: list[str]
    labels: np.ndarray
    kind: TaskKind
    source: str = ""
    meta: dict = field(default_factory=dict)
    domain: str = "molecules"

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.float64)
        if self.labels.ndim != 1 or len(self.labels) != len(self.inputs):
            raise ValueError(
                f"Task {self.name!r}: {len(self.inputs)} inputs but labels of shape {self.labels.shape}"
            )
        if np.isnan(self.labels).any():
            raise ValueError(f"Task {self.name!r}: labels contain NaN (drop unmeasured rows first)")
        if self.kind not in ("classification", "regression"):
            raise ValueError(f"Task {self.name!r}: unknown kind {self.kind!r}")

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def n_positive(self) -> int:
        return int((self.labels == 1).sum()) if self.kind == "classification" else 0

    @property
    def n_negative(self) -> int:
        return int((self.labels == 0).sum()) if self.kind == "classification" else 0

    def subset(self, idx: Iterable[int]) -> "Task":
        """A new task holding only rows ``idx`` (same name, kind and source)."""
        idx = np.asarray(list(idx), dtype=np.int64)
        return Task(
            name=self.name,
            inputs=[self.inputs[i] for i in idx],
            labels=self.labels[idx],
            kind=self.kind,
            source=self.source,
            meta=dict(self.meta),
            domain=self.domain,
        )


def carve_validation(train: list[str], fraction: float = 0.2, min_tasks: int = 2, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split train task names into (train, validation), deterministically.

    Tasks are ordered by a stable hash of ``f"{seed}:{name}"`` (CRC32) and the first
    ``max(min_tasks, round(fraction * n))`` become validation tasks, so the choice does
    not depend on the order of the input list or on Python's hash seed. At least one task
    always stays in train.
    """
    if len(train) < 2:
        return list(train), []
    n_val = max(min_tasks, int(round(fraction * len(train))))
    n_val = min(n_val, len(train) - 1)
    order = sorted(train, key=lambda n: (zlib.crc32(f"{seed}:{n}".encode()), n))
    val = set(order[:n_val])
    return [t for t in train if t not in val], [t for t in train if t in val]


@dataclass
class TaskCollection:
    """Many tasks plus their split.

    ``train`` / ``val`` / ``test`` hold task names; ``val`` is carved out of the
    published train tasks (see :func:`carve_validation`) and test tasks are never
    used for training or model selection.
    """

    name: str
    tasks: dict[str, Task]
    train: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        for part in ("train", "val", "test"):
            missing = [n for n in getattr(self, part) if n not in self.tasks]
            if missing:
                raise KeyError(f"{self.name}: {part} names unknown tasks {missing[:5]}")
        overlap = (set(self.train) & set(self.test)) | (set(self.val) & set(self.test)) | (
            set(self.train) & set(self.val)
        )
        if overlap:
            raise ValueError(f"{self.name}: tasks in more than one split part: {sorted(overlap)[:5]}")

    def split(self, part: Literal["train", "val", "test"]) -> list[Task]:
        return [self.tasks[n] for n in getattr(self, part)]

    @property
    def domain(self) -> str:
        """The input domain of the tasks (``ValueError`` when they mix domains; molecules when empty)."""
        domains = {t.domain for t in self.tasks.values()} or {"molecules"}
        if len(domains) > 1:
            raise ValueError(f"{self.name}: tasks of several domains {sorted(domains)}")
        return domains.pop()

    @property
    def all_inputs(self) -> list[str]:
        """Unique inputs over all tasks, in first-seen order."""
        seen: dict[str, None] = {}
        for t in self.tasks.values():
            for s in t.inputs:
                seen.setdefault(s, None)
        return list(seen)

    def summary(self) -> str:
        return (
            f"{self.name}: {len(self.tasks)} tasks ({len(self.train)} train / {len(self.val)} val / "
            f"{len(self.test)} test), {len(self.all_inputs)} inputs, {len(self.invalid)} invalid rows"
        )
