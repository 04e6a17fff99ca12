"""sciml.metrics.classification: ROC-AUC, average precision, delta-AUPRC, the report and the Brier score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sciml.metrics.classification import (
    METRICS,
    average_precision,
    brier,
    classification_report,
    delta_auprc,
    roc_auc,
)


def test_metrics_registry():
    assert METRICS == {"roc_auc": roc_auc, "delta_auprc": delta_auprc}


def test_roc_auc_hand_computed():
    # positive/negative pairs: (0.35>0.1) yes, (0.35>0.4) no, (0.8>0.1) yes, (0.8>0.4) yes -> 3/4
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts one half
    assert roc_auc([1, 0], [0.9, 0.1]) == 1.0
    assert roc_auc([1, 0], [0.1, 0.9]) == 0.0


@pytest.mark.parametrize("y", [[1, 1, 1], [0, 0], []])
def test_one_class_or_empty_gives_nan(y):
    s = np.linspace(0, 1, len(y))
    assert math.isnan(roc_auc(y, s))
    assert math.isnan(average_precision(y, s))
    assert math.isnan(delta_auprc(y, s))
    assert all(math.isnan(v) for v in classification_report(y, s).values())


def test_average_precision_and_delta_hand_computed():
    # ranking 1,0,1,0: precision 1 at the first hit, 2/3 at the second -> AP = (1 + 2/3) / 2
    y, s = [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]
    assert average_precision(y, s) == pytest.approx(5 / 6)
    assert delta_auprc(y, s) == pytest.approx(5 / 6 - 1 / 2)


def test_delta_auprc_perfect_ranking_is_one_minus_prevalence():
    y = np.array([0, 0, 0, 1, 0, 1, 0, 0])
    assert delta_auprc(y, y * 0.9 + 0.05) == pytest.approx(1 - 2 / 8)


def test_delta_auprc_constant_score_is_about_zero():
    y = np.array([1, 0, 0, 1, 0, 0, 0, 1, 0, 0])
    assert delta_auprc(y, np.full(y.size, 0.3)) == pytest.approx(0.0, abs=1e-12)


def test_classification_report_keys_and_values():
    y, p = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    report = classification_report(y, p)
    assert list(report) == list(METRICS) == ["roc_auc", "delta_auprc"]
    assert all(isinstance(v, float) for v in report.values())
    assert report["roc_auc"] == pytest.approx(0.75)
    assert report["delta_auprc"] == pytest.approx(delta_auprc(y, p))


def test_input_validation():
    with pytest.raises(ValueError, match="same length"):
        roc_auc([0, 1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="0 and 1"):
        roc_auc([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        delta_auprc([0, 1], [0.2, float("nan")])


def test_brier_hand_value():
    # (0.9-1)^2 + (0.2-0)^2 + (0.6-1)^2 + (0.5-0)^2 = 0.01 + 0.04 + 0.16 + 0.25 = 0.46 -> / 4
    assert brier([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5]) == pytest.approx(0.115)
    assert brier([1, 0], [1.0, 0.0]) == 0.0
    assert brier([1, 1, 1], [0.5, 0.5, 0.5]) == pytest.approx(0.25)  # defined for one class
    assert math.isnan(brier([], []))


def test_brier_input_validation():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        brier([0, 1], [-0.1, 0.5])  # not a probability
    with pytest.raises(ValueError, match="same length"):
        brier([0, 1, 1], [0.1, 0.5])
