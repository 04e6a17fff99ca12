"""Predictive summaries of equal-weight particle mixtures (BMAML's predictive distribution)."""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.learners.base import Prediction
from sciml.learners.maml.config import LOG_VAR_MAX, LOG_VAR_MIN

__all__ = ["mixture_quantile", "mixture_interval", "mixture_prediction"]


def _normal_cdf(x: Tensor) -> Tensor:
    return torch.special.ndtr(x)


def mixture_quantile(means: Tensor, stds: Tensor, q: float, iters: int = 80) -> Tensor:
    """Quantile ``q`` of equal-weight Gaussian mixtures, by vectorised bisection on the CDF.

    Shapes: means, stds ``[M, n]`` (component axis first) -> ``[n]`` (float64). The
    bracket ``[min_i(m_i + z_q s_i), max_i(m_i + z_q s_i)]`` always contains the
    quantile; ``iters`` halvings shrink it by ``2^-iters``.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    means, stds = means.detach().double(), stds.detach().double()
    z = float(torch.special.ndtri(torch.tensor(q, dtype=torch.float64)))
    comp_q = means + z * stds
    lo, hi = comp_q.min(0).values, comp_q.max(0).values
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = _normal_cdf((mid.unsqueeze(0) - means) / stds).mean(0) < q
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    return 0.5 * (lo + hi)


def mixture_interval(means: Tensor, stds: Tensor, level: float = 0.9) -> tuple[Tensor, Tensor]:
    """Central ``level`` interval of equal-weight Gaussian mixtures: ``[M, n]`` -> (lower ``[n]``, upper ``[n]``)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    a = 0.5 * (1.0 - level)
    return mixture_quantile(means, stds, a), mixture_quantile(means, stds, 1.0 - a)


def mixture_prediction(outputs: Tensor, task: str, level: float = 0.9) -> Prediction:
    """Particle head outputs ``[M, n, n_out]`` -> :class:`Prediction` of the mixture (float64 arrays ``[n]``).

    Classification: ``mean`` = average of the particles' ``sigmoid(logit)``, ``std`` = their
    (population) standard deviation, ``lower``/``upper`` = the particles' empirical
    ``(1 -+ level)/2`` quantiles of P(y=1), widened if needed to contain ``mean``.
    Regression: mixture mean and standard deviation, and the central interval of the
    mixture from :func:`mixture_interval` (exact, not a Gaussian approximation).
    """
    outputs = outputs.detach().double()
    a = 0.5 * (1.0 - level)
    if task == "classification":
        p = torch.sigmoid(outputs[..., 0])  # [M, n]
        mean, std = p.mean(0), p.std(0, correction=0)
        lower = torch.minimum(torch.quantile(p, a, dim=0), mean)
        upper = torch.maximum(torch.quantile(p, 1 - a, dim=0), mean)
    else:
        mu = outputs[..., 0]
        var = outputs[..., 1].clamp(LOG_VAR_MIN, LOG_VAR_MAX).exp()
        mean = mu.mean(0)
        std = ((var + mu.pow(2)).mean(0) - mean.pow(2)).clamp_min(0).sqrt()
        lower, upper = mixture_interval(mu, var.sqrt(), level)
    return Prediction(mean=mean.cpu().numpy(), std=std.cpu().numpy(), lower=lower.cpu().numpy(),
                      upper=upper.cpu().numpy(), level=level)
