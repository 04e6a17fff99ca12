"""Leave-tasks-out cross-validation for meta-training: selection on collections with few train tasks.

With 9 (Tox21) or 12 (MUV) train tasks, a validation split of two tasks ranks candidates by
chance. :func:`cross_validate` meta-trains one run per fold of :func:`assays.splits.task_folds`
(each fold's tasks in turn the validation set, the others the train set; test tasks never read)
and scores a configuration by the mean of the folds' best validation scores.
:func:`select_by_cv` ranks candidate configurations that way, and :func:`train_after_cv` makes
the final model on every train and validation task: the chosen configuration, for the median of
the folds' best steps (no early stopping: no task is left to stop on), with the post-hoc
calibration averaged over the folds' calibrations (each fitted on its own validation fold).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from assays.splits import task_folds
from assays.task import TaskCollection
from pipelines.train import TrainConfig, meta_train

__all__ = ["CVResult", "cross_validate", "select_by_cv", "average_calibration", "train_after_cv"]

logger = logging.getLogger(__name__)


@dataclass
class CVResult:
    """One configuration's cross-validation.

    Attributes
    ----------
    scores, best_steps : list
        Per fold: best validation score (``val_metric``) and the step it was reached at.
    calibrations : list of dict
        Per fold: the post-hoc calibration fitted on that fold's validation tasks.
    folds : list of list of str
        Per fold: its validation tasks.
    """

    config: TrainConfig
    k: int
    seed: int
    val_metric: str
    scores: list[float] = field(default_factory=list)
    best_steps: list[int] = field(default_factory=list)
    calibrations: list[dict] = field(default_factory=list)
    folds: list[list[str]] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores)) if self.scores else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else 0.0

    @property
    def steps(self) -> int:
        """Steps of the final run: the median of the folds' best steps (at least 1)."""
        return max(1, int(round(float(np.median(self.best_steps))))) if self.best_steps else self.config.steps

    def to_dict(self) -> dict:
        return {"k": self.k, "seed": self.seed, "val_metric": self.val_metric, "mean": self.mean, "std": self.std,
                "scores": list(self.scores), "best_steps": list(self.best_steps), "folds": self.folds,
                "final_steps": self.steps}


def cross_validate(collection: TaskCollection, cfg: TrainConfig, k: int, *, seed: int = 0,
                   device: str | None = None, progress: bool = False) -> CVResult:
    """Meta-train ``cfg`` once per leave-tasks-out fold of ``collection``; the folds' validation scores."""
    res = None
    for i, fold in enumerate(task_folds(collection, k, seed)):
        tr = meta_train(fold, cfg, device=device, progress=progress)
        if res is None:
            res = CVResult(config=cfg, k=k, seed=seed, val_metric=tr.val_metric)
        res.scores.append(float(tr.best_val_score))
        res.best_steps.append(int(tr.best_step))
        res.calibrations.append(dict(tr.calibration or {}))
        res.folds.append(list(fold.val))
        logger.info("%s fold %d/%d: best validation %s %.4f at step %d", cfg.learner, i + 1, k, tr.val_metric,
                    tr.best_val_score, tr.best_step)
    return res


def select_by_cv(collection: TaskCollection, candidates: Sequence[TrainConfig], k: int, *, seed: int = 0,
                 device: str | None = None) -> tuple[CVResult, list[CVResult]]:
    """The candidate with the best mean cross-validated score (ties: the earlier one), and all results."""
    if not candidates:
        raise ValueError("no candidate configuration given")
    results = [cross_validate(collection, c, k, seed=seed, device=device) for c in candidates]
    best = max(range(len(results)), key=lambda i: (results[i].mean, -i))
    return results[best], results


def average_calibration(calibrations: Sequence[dict]) -> dict:
    """The folds' calibrations averaged parameter by parameter (Platt: slope, bias and base rate;
    interval scaling: scale); ``{}`` when any fold has none or the folds disagree on the method."""
    methods = {c.get("method") for c in calibrations}
    if not calibrations or len(methods) != 1 or None in methods:
        return {}
    out = {"method": methods.pop(), "n_folds": len(calibrations)}
    for key in ("slope", "bias", "base_rate", "scale"):
        vals = [c[key] for c in calibrations if key in c]
        if len(vals) == len(calibrations):
            out[key] = float(np.mean(vals))
    if "n_points" in calibrations[0]:
        out["n_points"] = int(sum(c.get("n_points", 0) for c in calibrations))
    return out


def train_after_cv(collection: TaskCollection, cv: CVResult, out: Path, *, dataset: str, device: str | None = None,
                   command: str = "", progress: bool = False):
    """The final model: ``cv.config`` on every train and validation task for ``cv.steps`` steps, saved at ``out``
    with the averaged fold calibration and the cross-validation in ``training.cv``."""
    from pipelines.run import save_trained

    full = TaskCollection(name=collection.name, tasks=collection.tasks,
                          train=list(collection.train) + list(collection.val), val=[], test=list(collection.test),
                          invalid=list(collection.invalid), source=collection.source)
    cfg = replace(cv.config, steps=cv.steps, eval_every=cv.steps + 1, domain=collection.domain)
    res = meta_train(full, cfg, device=device, progress=progress)
    res.calibration = average_calibration(cv.calibrations)
    res.best_val_score = cv.mean
    res.val_metric = cv.val_metric
    save_trained(full, cfg, res, out, dataset=dataset, val_fraction=None, command=command,
                 extra={"cv": cv.to_dict(), "selection": f"leave-tasks-out CV, {cv.k} folds"})
    return res
