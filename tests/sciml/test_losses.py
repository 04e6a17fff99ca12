"""The one Gaussian log-likelihood, for numpy and torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sciml.losses import LOG_2PI, gaussian_log_prob, gaussian_nll


def test_matches_scipy_for_var_and_log_var():
    from scipy.stats import norm

    rng = np.random.default_rng(0)
    y, m, s = rng.normal(size=50), rng.normal(size=50), rng.uniform(0.1, 3, size=50)
    ref = norm.logpdf(y, m, s)
    np.testing.assert_allclose(gaussian_log_prob(y, m, var=s**2), ref, rtol=1e-12)
    np.testing.assert_allclose(gaussian_log_prob(y, m, log_var=np.log(s**2)), ref, rtol=1e-12)
    assert gaussian_nll(y, m, var=s**2) == pytest.approx(-ref.mean(), rel=1e-12)
    assert LOG_2PI == pytest.approx(math.log(2 * math.pi))


def test_torch_in_torch_out_with_gradients():
    y = torch.tensor([0.0, 1.0])
    m = torch.tensor([0.5, 0.5], requires_grad=True)
    lv = torch.zeros(2, requires_grad=True)
    nll = gaussian_nll(y, m, log_var=lv)
    assert isinstance(nll, torch.Tensor) and nll.item() == pytest.approx(0.5 * LOG_2PI + 0.125)
    nll.backward()
    torch.testing.assert_close(m.grad, torch.tensor([0.25, -0.25]))


def test_exactly_one_variance_argument():
    with pytest.raises(ValueError, match="exactly one"):
        gaussian_log_prob(np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="exactly one"):
        gaussian_log_prob(np.zeros(1), np.zeros(1), var=np.ones(1), log_var=np.zeros(1))
