"""Few-shot learners behind one interface (:class:`~sciml.learners.base.FewShotLearner`).

:data:`LEARNERS` is the string-keyed registry that feeds the CLI's ``--learners``
choices and the benchmark's ``learner`` field. Entries are imported lazily so that the
CLI starts fast. Meta-learners are built from a checkpoint
(``cls.from_checkpoint(path, device=...)``); baselines from their defaults (``cls()``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class LearnerEntry:
    module: str
    cls: str
    needs_checkpoint: bool
    description: str

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.cls)


LEARNERS: dict[str, LearnerEntry] = {
    "protonet": LearnerEntry("sciml.learners.protonet", "ProtoNetLearner", True,
                             "prototypical network on a meta-trained GINE encoder"),
    "rf": LearnerEntry("sciml.learners.baselines", "RandomForestBaseline", False,
                       "random forest on Morgan fingerprints, fitted on the support set alone"),
    "knn": LearnerEntry("sciml.learners.baselines", "KNNTanimotoBaseline", False,
                        "Tanimoto k-nearest neighbours on Morgan fingerprints, support set alone"),
}


def make_learner(name: str, checkpoint=None, device: str | None = None):
    """Instantiate learner ``name``; meta-learners need ``checkpoint`` (a folder)."""
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; available: {', '.join(LEARNERS)}")
    entry = LEARNERS[name]
    cls = entry.load()
    if entry.needs_checkpoint:
        if checkpoint is None:
            raise ValueError(f"learner {name!r} needs a checkpoint folder")
        return cls.from_checkpoint(checkpoint, device=device)
    return cls()


__all__ = ["LEARNERS", "LearnerEntry", "make_learner"]
