"""Post-hoc calibration: Platt scaling and interval scaling on constructed inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from sciml.calibration import apply_calibration, fit_calibration, fit_interval_scale, fit_platt
from sciml.learners.base import Prediction
from sciml.metrics import ece, interval_coverage


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_platt_recovers_known_slope_and_bias():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20000)
    y = (rng.random(z.size) < _sigmoid(0.5 * z - 1.0)).astype(float)  # truth: a = 0.5, b = -1
    a, b = fit_platt(_sigmoid(z), y)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(-1.0, abs=0.08)


def test_platt_leaves_calibrated_probabilities_alone_and_fixes_overconfident_ones():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.02, 0.98, 20000)
    y = (rng.random(p.size) < p).astype(float)
    a, b = fit_platt(p, y)
    assert a == pytest.approx(1.0, abs=0.06) and b == pytest.approx(0.0, abs=0.06)
    # an overconfident model: logits doubled
    z = np.log(p / (1 - p))
    over = _sigmoid(2 * z)
    cal = fit_calibration("classification", [(Prediction(over, np.zeros_like(over)), y)])
    fixed = apply_calibration(Prediction(over, np.zeros_like(over)), cal).mean
    assert ece(y, fixed) < 0.02 < ece(y, over)


def test_platt_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        fit_platt([0.2, 0.7], [1, 1])


def test_interval_scale_hand_value_and_exact_coverage():
    # symmetric unit half-widths; the points need factors 0.5, 1, 2, 4 -> the 75 % quantile is 2
    y = np.array([0.5, -1.0, 2.0, -4.0])
    m = np.zeros(4)
    assert fit_interval_scale(y, m, m - 1, m + 1, level=0.75) == pytest.approx(2.0)
    # asymmetric interval: a point above the mean uses the upper half-width
    assert fit_interval_scale([3.0], [0.0], [-1.0], [1.5], level=0.9) == pytest.approx(2.0)


def test_interval_scaling_reaches_target_coverage_on_overconfident_gaussians():
    rng = np.random.default_rng(2)
    mean = rng.normal(size=5000)
    y = mean + rng.normal(scale=2.0, size=5000)  # true noise sd 2, model claims 1
    pred = Prediction(mean, np.ones_like(mean))
    lo, hi = pred.interval(0.9)
    assert interval_coverage(y, lo, hi) < 0.7
    cal = fit_calibration("regression", [(pred, y)])
    assert cal["method"] == "interval_scale" and cal["scale"] == pytest.approx(2.0, rel=0.08)
    fresh = mean + rng.normal(scale=2.0, size=5000)
    out = apply_calibration(pred, cal)
    assert interval_coverage(fresh, out.lower, out.upper) == pytest.approx(0.9, abs=0.02)
    np.testing.assert_allclose(out.std, cal["scale"] * pred.std)
    np.testing.assert_array_equal(out.mean, pred.mean)


def test_apply_without_calibration_is_a_copy_and_unknown_method_fails():
    pred = Prediction(np.array([0.2, 0.8]), np.array([0.1, 0.1]))
    out = apply_calibration(pred, {})
    np.testing.assert_array_equal(out.mean, pred.mean)
    assert out.mean is not pred.mean
    with pytest.raises(ValueError, match="unknown calibration"):
        apply_calibration(pred, {"method": "isotonic"})


# ----------------------------------------------------------------------------- known hit rate


def test_prior_shift_hand_values():
    from sciml.calibration import prior_shift

    assert prior_shift({}, None) == 0.0
    # no calibration: the reference prior is the balanced support's 0.5
    assert prior_shift({}, 0.2) == pytest.approx(np.log(0.25))
    cal = {"method": "platt", "slope": 1.0, "bias": 0.0, "base_rate": 0.2}
    assert prior_shift(cal, 0.2) == pytest.approx(0.0)
    assert prior_shift(cal, 0.5) == pytest.approx(np.log(4.0))
    # p = 0.5 under the balanced prior becomes exactly the hit rate
    out = apply_calibration(Prediction(np.array([0.5]), np.array([0.1])), {}, hit_rate=0.03)
    assert out.mean[0] == pytest.approx(0.03)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_hit_rate_must_be_a_fraction(bad):
    from sciml.calibration import prior_shift

    with pytest.raises(ValueError, match="between 0 and 1"):
        prior_shift({}, bad)


def test_hit_rate_refuses_platt_without_base_rate_and_regression_calibrations():
    from sciml.calibration import prior_shift

    with pytest.raises(ValueError, match="sciml calibrate"):
        prior_shift({"method": "platt", "slope": 1.0, "bias": 0.0}, 0.1)
    with pytest.raises(ValueError, match="classification only"):
        prior_shift({"method": "interval_scale", "scale": 1.0}, 0.1)


def test_fit_calibration_records_the_validation_base_rate():
    y = np.array([0, 0, 0, 1, 0, 1, 0, 0], dtype=float)
    p = np.linspace(0.1, 0.9, y.size)
    cal = fit_calibration("classification", [(Prediction(p, np.zeros_like(p)), y)])
    assert cal["base_rate"] == pytest.approx(0.25)


def test_hit_rate_fixes_the_base_rate_gap_and_keeps_the_ranking():
    """Scores calibrated for a balanced prior, on an assay with 5 % actives: ECE is at least the
    base-rate gap; shifted to the true hit rate it is small, and ROC-AUC is unchanged."""
    from sciml.metrics import roc_auc

    rng = np.random.default_rng(3)
    n, rate = 40000, 0.05
    y = (rng.random(n) < rate).astype(float)
    x = rng.normal(loc=1.5 * y, scale=1.0)  # class-conditional Gaussians, equal variance
    # the Bayes posterior under a 50/50 prior: logit = 1.5 x - 1.125
    p_balanced = _sigmoid(1.5 * x - 1.125)
    pred = Prediction(p_balanced, np.full(n, 0.05))
    raw_ece = ece(y, p_balanced)
    assert raw_ece >= abs(p_balanced.mean() - y.mean()) - 1e-9 and raw_ece > 0.2
    shifted = apply_calibration(pred, {}, hit_rate=rate)
    assert ece(y, shifted.mean) < 0.02
    assert roc_auc(y, shifted.mean) == pytest.approx(roc_auc(y, p_balanced))
    assert (shifted.lower <= shifted.mean + 1e-12).all() and (shifted.mean <= shifted.upper + 1e-12).all()
