"""Calibration, regression and Gaussian-uncertainty metrics, checked against hand values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sciml import metrics as M
from sciml.metrics import (
    CLASSIFICATION_CALIBRATION,
    GAUSSIAN_METRICS,
    METRICS,
    REGRESSION_METRICS,
    brier,
    central_interval,
    coverage90,
    ece,
    gaussian_nll,
    interval_coverage,
    interval_width,
    r2,
    regression_calibration_curve,
    reliability_curve,
    rmse,
    spearman,
    width90,
)

Z90 = 1.6448536269514722  # scipy.stats.norm.ppf(0.95)


# ----------------------------------------------------------------- registries


def test_registries_and_names():
    assert list(METRICS) == ["roc_auc", "delta_auprc"]  # classification registry unchanged
    assert CLASSIFICATION_CALIBRATION == {"ece": ece, "brier": brier}
    assert REGRESSION_METRICS == {"r2": r2, "rmse": rmse, "spearman": spearman}
    assert GAUSSIAN_METRICS == {"nll": gaussian_nll, "coverage90": coverage90}
    names = set(METRICS) | set(CLASSIFICATION_CALIBRATION) | set(REGRESSION_METRICS) | set(GAUSSIAN_METRICS)
    assert names | {"width90"} == {"roc_auc", "delta_auprc", "r2", "rmse", "spearman", "nll", "ece", "brier",
                                   "coverage90", "width90"}
    for name in M.__all__:
        assert hasattr(M, name), name


# ----------------------------------------------------------------- classification calibration


def test_brier_hand_value():
    # (0.9-1)^2 + (0.2-0)^2 + (0.6-1)^2 + (0.5-0)^2 = 0.01 + 0.04 + 0.16 + 0.25 = 0.46 -> / 4
    assert brier([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5]) == pytest.approx(0.115)
    assert brier([1, 0], [1.0, 0.0]) == 0.0
    assert brier([1, 1, 1], [0.5, 0.5, 0.5]) == pytest.approx(0.25)  # defined for one class
    assert math.isnan(brier([], []))


def test_ece_perfectly_calibrated_bins_is_zero():
    # bin around 0.2: 1 of 5 positive; bin around 0.8: 4 of 5 positive; bin around 0.5: 1 of 2
    p = [0.2] * 5 + [0.8] * 5 + [0.5] * 2
    y = [1, 0, 0, 0, 0] + [1, 1, 1, 1, 0] + [0, 1]
    for strategy in ("uniform", "quantile"):
        assert ece(y, p, strategy=strategy) == pytest.approx(0.0, abs=1e-12)
        assert ece(y, p, n_bins=3, strategy=strategy) == pytest.approx(0.0, abs=1e-12)


def test_ece_constant_overconfident_hand_value():
    # all probabilities 0.8, half positive -> |0.8 - 0.5| = 0.3 whatever the binning
    y = [1, 0] * 10
    p = [0.8] * 20
    assert ece(y, p) == pytest.approx(0.3)
    assert ece(y, p, strategy="quantile") == pytest.approx(0.3)
    assert ece(y, p, n_bins=1) == pytest.approx(0.3)


def test_ece_two_bin_hand_value():
    # uniform 10 bins: bin [0.1, 0.2) holds p=0.1 x2 (y 0,1) -> |0.1-0.5|=0.4, weight 1/2;
    #                   bin [0.9, 1.0] holds p=0.9, 1.0 (y 1,1) -> |0.95-1|=0.05, weight 1/2
    assert ece([0, 1, 1, 1], [0.1, 0.1, 0.9, 1.0], n_bins=10) == pytest.approx(0.5 * 0.4 + 0.5 * 0.05)


def test_uniform_and_quantile_binning_differ_where_they_should():
    y = [0, 0, 1, 1]
    p = [0.01, 0.02, 0.03, 0.04]
    # uniform (10 bins): everything in [0, 0.1): |0.025 - 0.5| = 0.475
    assert ece(y, p, n_bins=10, strategy="uniform") == pytest.approx(0.475)
    # quantile (2 bins): {0.01, 0.02} with y=0,0 -> 0.015 ; {0.03, 0.04} with y=1,1 -> 0.965
    assert ece(y, p, n_bins=2, strategy="quantile") == pytest.approx(0.5 * 0.015 + 0.5 * 0.965)


def test_uniform_and_quantile_agree_on_evenly_spread_probs():
    p = np.arange(10) / 10 + 0.05  # one probability in each uniform decile
    y = np.array([0, 0, 1, 0, 1, 0, 1, 1, 0, 1])
    # both binnings put one point per bin: ECE = mean |p - y|
    expected = np.mean(np.abs(p - y))
    assert ece(y, p, n_bins=10, strategy="uniform") == pytest.approx(expected)
    assert ece(y, p, n_bins=10, strategy="quantile") == pytest.approx(expected)


def test_reliability_curve_uniform_shape_and_values():
    y = [0, 1, 1, 1]
    p = [0.1, 0.1, 0.9, 1.0]
    df = reliability_curve(y, p, n_bins=10)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["bin_lower", "bin_upper", "mean_prob", "frac_positive", "count"]
    assert len(df) == 10
    np.testing.assert_allclose(df["bin_lower"], np.arange(10) / 10)
    np.testing.assert_allclose(df["bin_upper"], np.arange(1, 11) / 10)
    assert df["count"].tolist() == [0, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert df["count"].sum() == 4
    assert df.loc[1, "mean_prob"] == pytest.approx(0.1) and df.loc[1, "frac_positive"] == pytest.approx(0.5)
    assert df.loc[9, "mean_prob"] == pytest.approx(0.95) and df.loc[9, "frac_positive"] == pytest.approx(1.0)
    assert df.loc[df["count"] == 0, ["mean_prob", "frac_positive"]].isna().all().all()
    # ECE is the count-weighted gap of the curve
    nz = df[df["count"] > 0]
    gap = (nz["count"] / nz["count"].sum() * (nz["mean_prob"] - nz["frac_positive"]).abs()).sum()
    assert gap == pytest.approx(ece(y, p, n_bins=10))


def test_reliability_curve_quantile_has_equal_mass_bins():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=100)
    y = (rng.uniform(size=100) < p).astype(int)
    df = reliability_curve(y, p, n_bins=4, strategy="quantile")
    assert df["count"].tolist() == [25, 25, 25, 25]
    assert df["bin_lower"].iloc[0] == pytest.approx(p.min())
    assert df["bin_upper"].iloc[-1] == pytest.approx(p.max())
    # uniform bins on the same data are not equal-mass in general
    u = reliability_curve(y, p ** 3, n_bins=4, strategy="uniform")
    assert u["count"].iloc[0] > 25


def test_calibration_edge_cases():
    assert math.isnan(ece([], []))
    assert math.isnan(ece([], [], strategy="quantile"))
    assert len(reliability_curve([], [], n_bins=5)) == 5
    assert len(reliability_curve([], [], strategy="quantile")) == 0
    assert ece([1, 1], [1.0, 1.0]) == 0.0  # prob 1.0 falls in the closed last bin
    assert ece([0, 0], [0.0, 0.0], strategy="quantile") == 0.0
    with pytest.raises(ValueError):
        ece([0, 1], [0.2, 0.3], strategy="kmeans")
    with pytest.raises(ValueError):
        ece([0, 1], [0.2, 0.3], n_bins=0)
    with pytest.raises(ValueError):
        ece([0, 1], [0.2, 1.3])  # not a probability
    with pytest.raises(ValueError):
        brier([0, 1], [-0.1, 0.5])
    with pytest.raises(ValueError):
        brier([0, 1, 1], [0.1, 0.5])  # length mismatch
    with pytest.raises(ValueError):
        ece([0, 2], [0.1, 0.5])  # label not in {0, 1}


# ----------------------------------------------------------------- regression point metrics


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
