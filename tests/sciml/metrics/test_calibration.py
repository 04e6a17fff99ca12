"""sciml.metrics.calibration: ECE and the reliability curve, uniform and quantile bins, against hand values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sciml.metrics.calibration import CLASSIFICATION_CALIBRATION, ece, reliability_curve
from sciml.metrics.classification import brier


def test_calibration_registry():
    assert CLASSIFICATION_CALIBRATION == {"ece": ece, "brier": brier}


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
        ece([0, 2], [0.1, 0.5])  # label not in {0, 1}
