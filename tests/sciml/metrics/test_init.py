"""sciml.metrics: the package re-exports every public name of its modules, and the registries' names."""

from __future__ import annotations

import sciml.metrics as M
from sciml.metrics import bootstrap, calibration, classification, regression


def test_every_public_name_of_the_modules_is_importable_from_the_package():
    modules = (bootstrap, classification, calibration, regression)
    public = [name for mod in modules for name in mod.__all__]
    assert sorted(M.__all__) == sorted(public) and len(set(public)) == len(public)
    for mod in modules:
        for name in mod.__all__:
            assert getattr(M, name) is getattr(mod, name), name


def test_registry_names_are_the_reported_metric_names():
    assert list(M.METRICS) == ["roc_auc", "delta_auprc"]
    names = set(M.METRICS) | set(M.CLASSIFICATION_CALIBRATION) | set(M.REGRESSION_METRICS) | set(M.GAUSSIAN_METRICS)
    assert names | {"width90"} == {"roc_auc", "delta_auprc", "r2", "rmse", "spearman", "nll", "ece", "brier",
                                   "coverage90", "width90"}
