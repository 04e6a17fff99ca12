"""Leave-tasks-out cross-validation: folds over train + validation tasks, selection, the final run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assays.splits import task_folds
from assays.task import TaskCollection
from pipelines.cv import average_calibration, cross_validate, select_by_cv, train_after_cv
from pipelines.train import TrainConfig
from tests.pipelines.test_integration import TINY, _collection


def _wide():
    """The synthetic collection with its 4 train + 1 validation tasks pooled as 5 train-side tasks."""
    coll, _ = _collection()
    return coll


def test_folds_cover_every_train_side_task_once_and_never_the_test_tasks():
    coll = _wide()
    folds = task_folds(coll, 3, seed=0)
    pool = set(coll.train) | set(coll.val)
    assert len(folds) == 3
    vals = [set(f.val) for f in folds]
    assert set().union(*vals) == pool and sum(len(v) for v in vals) == len(pool)
    for f in folds:
        assert set(f.train) == pool - set(f.val) and f.test == coll.test and f.train
    # the same folds whatever the order of the input lists; another seed deals them differently
    shuffled = TaskCollection(coll.name, coll.tasks, train=coll.train[::-1], val=coll.val, test=coll.test)
    assert [set(f.val) for f in task_folds(shuffled, 3, seed=0)] == vals
    assert any([set(f.val) for f in task_folds(coll, 3, seed=s)] != vals for s in range(1, 6))
    with pytest.raises(ValueError, match="k must be"):
        task_folds(coll, 1)
    with pytest.raises(ValueError, match="cannot make 5 folds"):
        task_folds(coll, 5)


def test_average_calibration_is_per_parameter_and_needs_one_method():
    a = {"method": "platt", "slope": 1.0, "bias": -1.0, "base_rate": 0.1, "n_points": 10}
    b = {"method": "platt", "slope": 2.0, "bias": 0.0, "base_rate": 0.3, "n_points": 30}
    avg = average_calibration([a, b])
    assert avg == {"method": "platt", "n_folds": 2, "slope": 1.5, "bias": -0.5, "base_rate": pytest.approx(0.2),
                   "n_points": 40}
    assert average_calibration([a, {}]) == {} and average_calibration([a, {"method": "scale", "scale": 1.0}]) == {}


def test_cross_validation_selects_and_the_final_model_trains_on_every_train_side_task(tmp_path):
    coll = _wide()
    cfg = TrainConfig(**TINY)
    cv = cross_validate(coll, cfg, 2, seed=0, device="cpu")
    assert len(cv.scores) == len(cv.best_steps) == len(cv.calibrations) == 2
    assert all(0 <= s <= 1 for s in cv.scores) and cv.mean == pytest.approx(np.mean(cv.scores))
    assert cv.steps == int(round(float(np.median(cv.best_steps))))
    best, allres = select_by_cv(coll, [cfg, TrainConfig(**{**TINY, "lr": 0.0})], 2, seed=0, device="cpu")
    assert len(allres) == 2 and best is allres[int(np.argmax([r.mean for r in allres]))]
    res = train_after_cv(coll, cv, tmp_path / "ckpt", dataset="syn", device="cpu", command="test")
    assert res.steps_run == cv.steps
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    tr = config["training"]
    assert set(tr["train_tasks"]) == set(coll.train) | set(coll.val) and tr["val_tasks"] == []
    assert tr["test_tasks_never_used"] == coll.test
    assert tr["cv"]["scores"] == cv.scores and tr["cv"]["final_steps"] == cv.steps
    assert config["calibration"] == average_calibration(cv.calibrations)
