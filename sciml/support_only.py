"""Support-only baselines behind the :class:`~sciml.api.FewShotModel` interface.

A :class:`SupportOnlyModel` wraps a learner that is fitted on the support set alone and
has no meta-trained part (``"rf"``: random forest on Morgan fingerprints, ``"gp_tanimoto"``:
exact Tanimoto-kernel GP, ``"knn"``), so that it can stand beside a meta-learned model
with the same ``fit`` / ``predict`` / ``domain`` / ``cross_validate`` calls, the same
support-row checks (invalid structures, missing labels, conflicting repeats) and the
same one-row-per-input outputs. The app's check shows it next to the model:

>>> base = SupportOnlyModel("rf", task="classification")             # doctest: +SKIP
>>> base.fit(support_smiles, labels).cross_validate()                 # doctest: +SKIP

Nothing is calibrated (no validation tasks exist for a support-only model) and
``hit_rate`` is not offered: its probabilities follow the support's own class balance.
"""

from __future__ import annotations

import numpy as np

from sciml.api import TASKS, FewShotModel, LoadedCheckpoint
from sciml.domains import get_domain

__all__ = ["SupportOnlyModel", "SUPPORT_ONLY_LEARNERS", "default_support_only_learner"]

#: Registry keys of the learners a :class:`SupportOnlyModel` can wrap.
SUPPORT_ONLY_LEARNERS = ("rf", "gp_tanimoto", "knn")


def default_support_only_learner(task: str) -> str:
    """The baseline shown beside a model: a random forest for classification, a Tanimoto GP for regression
    (the GP's intervals are calibrated on the support by its marginal likelihood; a forest's tree spread is not)."""
    return "rf" if task == "classification" else "gp_tanimoto"


class SupportOnlyModel(FewShotModel):
    """A baseline fitted on the support set alone, with the :class:`~sciml.api.FewShotModel` interface.

    Parameters
    ----------
    learner : {"rf", "gp_tanimoto", "knn"}, default "rf"
        Registry key of the support-only learner (:data:`SUPPORT_ONLY_LEARNERS`).
    task : {"classification", "regression"}, default "classification"
    level : float, default 0.9
        Coverage of the ``lower`` / ``upper`` interval columns.
    smiles_col : str, optional
        Column to read when ``fit`` / ``predict`` receive a DataFrame.
    domain : str, default "molecules"
        Input domain; the learner must serve it.
    **learner_kwargs
        Passed to the learner (e.g. ``seed``, ``n_estimators``).

    Attributes
    ----------
    learner_ : FewShotLearner
        The wrapped learner (state set by :meth:`fit`); the other fitted attributes are those of
        :class:`~sciml.api.FewShotModel`.
    """

    def __init__(self, learner: str = "rf", task: str = "classification", level: float = 0.9,
                 smiles_col: str | None = None, domain: str = "molecules", **learner_kwargs):
        from sciml.learners import LEARNERS

        if learner not in SUPPORT_ONLY_LEARNERS:
            raise ValueError(f"learner must be one of {SUPPORT_ONLY_LEARNERS}, got {learner!r}")
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        cls = LEARNERS[learner]
        dom = get_domain(domain)
        if dom.name not in cls.domains:
            raise ValueError(f"the {learner} baseline serves {', '.join(cls.domains)} inputs, not {dom.name}")
        self.checkpoint = None
        self.device = "cpu"
        self.calibrate = False
        self.level = float(level)
        self.smiles_col = smiles_col
        self.hit_rate = None
        self.task_given_ = True
        self.task = task
        self.learner_name = learner
        self.loaded_ = LoadedCheckpoint(f"support-only:{learner}", None, None,
                                        {"learner": learner, "domain": dom.name}, "cpu")
        self.config_ = self.loaded_.config
        kwargs = dict(learner_kwargs, task=task)
        if "level" in _parameters(cls):
            kwargs["level"] = self.level
        self.learner_ = cls(**kwargs)
        self._cache: dict[str, object] = {}

    @property
    def calibration(self) -> dict:
        return {}

    def _featurize_new(self, todo: list) -> None:
        """Cache features of ``todo`` (distinct inputs not cached yet); an invalid input caches the domain's
        reason (the same message a meta-learned model gives)."""
        dom = self.loaded_.domain
        problems = {s: dom.problem(s) for s in todo}
        good = [s for s in todo if problems[s] is None]
        for s in todo:
            if problems[s] is not None:
                self._cache[s] = ValueError(problems[s])
        if good:
            for s, x in zip(good, self.learner_.featurize(good)):
                self._cache[s] = x

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learner={self.learner_name!r}, task={self.task!r})"


def _parameters(cls) -> set[str]:
    import inspect

    return set(inspect.signature(cls.__init__).parameters)
