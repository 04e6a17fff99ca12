"""sciml.metrics.regression: point metrics, Gaussian NLL, central intervals and coverage, against hand values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sciml.metrics.regression import (
    GAUSSIAN_METRICS,
    REGRESSION_METRICS,
    central_interval,
    coverage90,
    gaussian_nll,
    interval_coverage,
    interval_width,
    r2,
    regression_calibration_curve,
    rmse,
    spearman,
    width90,
)

Z90 = 1.6448536269514722  # scipy.stats.norm.ppf(0.95)


def test_regression_registries():
    assert REGRESSION_METRICS == {"r2": r2, "rmse": rmse, "spearman": spearman}
    assert GAUSSIAN_METRICS == {"nll": gaussian_nll, "coverage90": coverage90}


# ----------------------------------------------------------------- point metrics


def test_r2_perfect_and_mean_prediction():
    y = np.array([1.0, 3.0, -2.0, 7.5, 0.25])
    assert r2(y, y) == 1.0
    assert r2(y, np.full_like(y, y.mean())) == pytest.approx(0.0, abs=1e-12)
    # hand value: y = [0, 2], pred = [1, 1] -> SS_res 2, SS_tot 2 -> 0; pred = [0, 1] -> 1 - 1/2
    assert r2([0, 2], [0, 1]) == pytest.approx(0.5)
    assert r2([0, 2], [2, 0]) == pytest.approx(1 - 8 / 2)  # worse than the mean: negative
    assert math.isnan(r2([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))  # constant target
    assert math.isnan(r2([1.0], [1.0]))


def test_rmse_hand_value():
    assert rmse([0, 0, 0, 0], [1, -1, 3, -3]) == pytest.approx(math.sqrt((1 + 1 + 9 + 9) / 4))
    assert rmse([2.0], [2.0]) == 0.0
    assert math.isnan(rmse([], []))


def test_spearman_monotone_transform():
    x = np.array([0.3, -1.0, 2.0, 5.0, 0.0, 1.1])
    assert spearman(x, np.exp(x)) == pytest.approx(1.0)
    assert spearman(x, x ** 3 + 10) == pytest.approx(1.0)
    assert spearman(x, -np.exp(x)) == pytest.approx(-1.0)
    assert math.isnan(spearman(x, np.ones_like(x)))  # constant prediction
    assert math.isnan(spearman([1.0], [2.0]))


@pytest.mark.parametrize("fn", [r2, rmse, spearman])
def test_regression_invalid_inputs(fn):
    with pytest.raises(ValueError):
        fn([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        fn([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError):
        fn([1.0, 2.0], [1.0, np.inf])


# ----------------------------------------------------------------- Gaussian predictive metrics


def test_gaussian_nll_hand_values():
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    assert gaussian_nll([0.0], [0.0], [1.0]) == pytest.approx(half_log_2pi)
    # y=1, mean 0, std 1: + 0.5 ; y=0, mean 0, std 2: + log 2
    assert gaussian_nll([1.0], [0.0], [1.0]) == pytest.approx(half_log_2pi + 0.5)
    assert gaussian_nll([0.0], [0.0], [2.0]) == pytest.approx(half_log_2pi + math.log(2))
    # the mean over points
    assert gaussian_nll([1.0, 0.0], [0.0, 0.0], [1.0, 2.0]) == pytest.approx(
        half_log_2pi + (0.5 + math.log(2)) / 2)
    assert math.isnan(gaussian_nll([], [], []))


def test_gaussian_nll_matches_scipy():
    from scipy.stats import norm

    rng = np.random.default_rng(1)
    y, m, s = rng.normal(size=50), rng.normal(size=50), rng.uniform(0.1, 3.0, size=50)
    assert gaussian_nll(y, m, s) == pytest.approx(-norm.logpdf(y, m, s).mean())


@pytest.mark.parametrize("seed", range(5))
def test_gaussian_nll_equals_the_standardised_residual_formula(seed):
    """The metric (computed through ``sciml.losses.gaussian_log_prob``) equals, to rounding,
    ``mean(0.5 log 2 pi + log std + 0.5 z^2)`` with ``z = (y - mean) / std``."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    y, m = rng.normal(scale=3.0, size=n), rng.normal(size=n)
    s = np.exp(rng.uniform(-6.0, 3.0, size=n))  # std from 0.0025 to 20
    z = (y - m) / s
    direct = float(np.mean(0.5 * math.log(2.0 * math.pi) + np.log(s) + 0.5 * z * z))
    assert gaussian_nll(y, m, s) == pytest.approx(direct, rel=1e-12, abs=1e-12)


def test_gaussian_nll_equals_the_shared_loss():
    import torch

    from sciml.losses import gaussian_nll as loss_nll

    rng = np.random.default_rng(7)
    y, m, s = rng.normal(size=30), rng.normal(size=30), rng.uniform(0.2, 2.0, size=30)
    assert gaussian_nll(y, m, s) == pytest.approx(float(loss_nll(y, m, var=s ** 2)), rel=1e-12)
    t = loss_nll(torch.tensor(y), torch.tensor(m), log_var=torch.tensor(2 * np.log(s)))
    assert gaussian_nll(y, m, s) == pytest.approx(float(t), rel=1e-10)


def test_central_interval_and_width90():
    lo, hi = central_interval([0.0, 1.0], [1.0, 2.0])
    np.testing.assert_allclose(lo, [-Z90, 1.0 - 2 * Z90])
    np.testing.assert_allclose(hi, [Z90, 1.0 + 2 * Z90])
    lo50, hi50 = central_interval([0.0], [1.0], level=0.5)
    assert hi50[0] == pytest.approx(0.6744897501960817)
    assert width90([0.0], [1.0]) == pytest.approx(2 * 1.6449, abs=1e-4)
    assert width90([5.0, -3.0], [0.5, 1.5]) == pytest.approx(2 * Z90 * 1.0)  # mean std = 1
    assert interval_width([0.0, 1.0], [2.0, 5.0]) == pytest.approx(3.0)
    assert math.isnan(width90([], []))
    with pytest.raises(ValueError):
        central_interval([0.0], [1.0], level=1.0)
    with pytest.raises(ValueError):
        central_interval([0.0], [1.0], level=0.0)


def test_coverage90_on_standard_normal_draws():
    rng = np.random.default_rng(12345)
    y = rng.normal(size=20_000)
    zeros, ones = np.zeros_like(y), np.ones_like(y)
    assert coverage90(y, zeros, ones) == pytest.approx(0.90, abs=0.02)
    # an over-confident model (std too small) under-covers, an under-confident one over-covers
    assert coverage90(y, zeros, 0.5 * ones) < 0.8
    assert coverage90(y, zeros, 2.0 * ones) > 0.99
    curve = regression_calibration_curve(y, zeros, ones)
    assert list(curve.columns) == ["level", "observed_coverage"]
    assert len(curve) == 19
    np.testing.assert_allclose(curve["level"], np.linspace(0.05, 0.95, 19))
    np.testing.assert_allclose(curve["observed_coverage"], curve["level"], atol=0.02)
    assert curve["observed_coverage"].is_monotonic_increasing


def test_interval_coverage_hand_value_and_closed_bounds():
    # y=1 on the lower bound (inside), y=5 outside, y=2 on the upper bound (inside), y=0 outside
    assert interval_coverage([1, 5, 2, 0], [1, 0, 0, 0.5], [2, 4, 2, 1]) == pytest.approx(0.5)
    assert math.isnan(interval_coverage([], [], []))
    assert coverage90([1.0], [1.0], [0.0]) == 1.0  # zero std: degenerate interval still covers


def test_gaussian_invalid_inputs():
    with pytest.raises(ValueError):
        gaussian_nll([0.0, 1.0], [0.0, 1.0], [1.0, -1.0])  # negative std
    with pytest.raises(ValueError):
        gaussian_nll([0.0], [0.0], [0.0])  # zero std: NLL undefined
    with pytest.raises(ValueError):
        coverage90([0.0, 1.0], [0.0, 1.0], [1.0, -0.5])
    with pytest.raises(ValueError):
        width90([0.0], [-1.0])
    with pytest.raises(ValueError):
        regression_calibration_curve([0.0], [0.0], [-1.0])
    with pytest.raises(ValueError):
        gaussian_nll([0.0, 1.0], [0.0], [1.0])  # length mismatch
    with pytest.raises(ValueError):
        coverage90([0.0], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError):
        width90([0.0, 1.0], [1.0])
    with pytest.raises(ValueError):
        interval_coverage([0.0, 1.0], [0.0], [1.0])
    with pytest.raises(ValueError):
        interval_coverage([0.0], [2.0], [1.0])  # lower > upper
    with pytest.raises(ValueError):
        interval_width([2.0], [1.0])
    with pytest.raises(ValueError):
        gaussian_nll([np.nan], [0.0], [1.0])
    with pytest.raises(ValueError):
        regression_calibration_curve([0.0], [0.0], [1.0], levels=[0.5, 1.2])


def test_std_error_spearman_rewards_spread_that_tracks_error():
    from sciml.metrics import UNCERTAINTY_METRICS, std_error_spearman

    y = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    mean = np.array([0.1, 1.5, 2.0, 0.0, 4.2])  # errors 0.1, 0.5, 0, 3, 0.2
    assert std_error_spearman(y, mean, np.array([0.2, 0.6, 0.1, 2.0, 0.3])) == pytest.approx(1.0)
    assert std_error_spearman(y, mean, np.array([2.0, 0.3, 3.0, 0.1, 0.5])) < 0
    assert np.isnan(std_error_spearman(y, mean, np.ones(5)))  # no per-molecule spread
    with pytest.raises(ValueError):
        std_error_spearman(y, mean, -np.ones(5))
    assert UNCERTAINTY_METRICS["std_error_rho"] is std_error_spearman
