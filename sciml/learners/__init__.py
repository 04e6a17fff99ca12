"""Few-shot learners behind one interface (:class:`~sciml.learners.base.FewShotLearner`).

:data:`LEARNERS` is the string-keyed registry that feeds the CLI's ``--learners``
choices and the benchmark's ``learner`` field. Entries are imported lazily so that the
CLI starts fast. Meta-learners are built from a checkpoint
(``cls.from_checkpoint(path, device=...)``, see :class:`~sciml.learners.meta.MetaLearnerMixin`);
baselines from their defaults and a task (``cls(task=...)``).
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
    tasks: tuple[str, ...] = ("classification", "regression")

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.cls)


_BOTH = ("classification", "regression")

LEARNERS: dict[str, LearnerEntry] = {
    "protonet": LearnerEntry("sciml.learners.protonet", "ProtoNetLearner", True,
                             "prototypical network on a meta-trained GINE encoder", ("classification",)),
    "maml": LearnerEntry("sciml.learners.maml", "MAMLLearner", True,
                         "MAML (second order; ANIL head adaptation by default) on a GINE encoder", _BOTH),
    "fomaml": LearnerEntry("sciml.learners.maml", "FOMAMLLearner", True,
                           "first-order MAML on a GINE encoder", _BOTH),
    "bmaml": LearnerEntry("sciml.learners.bmaml", "BMAMLLearner", True,
                          "Bayesian MAML: SVGD particle heads, chaser loss, particle-mixture predictions", _BOTH),
    "dkgp": LearnerEntry("sciml.learners.dkgp", "DeepKernelGPLearner", True,
                         "GP with a deep kernel on the meta-learned embedding (DKT/ADKF-style)", _BOTH),
    "rf": LearnerEntry("sciml.learners.baselines", "RandomForestBaseline", False,
                       "random forest on Morgan fingerprints, fitted on the support set alone", _BOTH),
    "knn": LearnerEntry("sciml.learners.baselines", "KNNTanimotoBaseline", False,
                        "Tanimoto k-nearest neighbours on Morgan fingerprints, support set alone", _BOTH),
    "gp_tanimoto": LearnerEntry("sciml.learners.gp_baseline", "TanimotoGPBaseline", False,
                                "exact GP with a Tanimoto kernel on Morgan fingerprints, support set alone", _BOTH),
}


def make_learner(name: str, checkpoint=None, device: str | None = None, task: str = "classification", **kwargs):
    """Instantiate learner ``name``.

    Meta-learners are loaded from ``checkpoint`` (a folder; their task is the one they
    were meta-trained for, except the deep-kernel GP which takes ``task``); baselines are
    built for ``task``. ``kwargs`` go to the learner's constructor.
    """
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; available: {', '.join(LEARNERS)}")
    entry = LEARNERS[name]
    if task not in entry.tasks:
        raise ValueError(f"learner {name!r} does not do {task}; it does {', '.join(entry.tasks)}")
    cls = entry.load()
    if entry.needs_checkpoint:
        if checkpoint is None:
            raise ValueError(f"learner {name!r} needs a checkpoint folder")
        if cls.accepts("task"):  # a learner that serves either task (the deep-kernel GP)
            kwargs.setdefault("task", task)
        learner = cls.from_checkpoint(checkpoint, device=device, **kwargs)
        if learner.task != task:
            from sciml.checkpoint import CheckpointError

            raise CheckpointError(f"{checkpoint}: its {name} model was meta-trained for {learner.task}, not {task}.")
        return learner
    return cls(task=task, **kwargs)


__all__ = ["LEARNERS", "LearnerEntry", "make_learner"]
