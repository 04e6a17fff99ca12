"""Likelihood terms shared by learners and metrics (one definition each).

Functions accept torch tensors or numpy arrays and return the same kind.
"""

from __future__ import annotations

import math

__all__ = ["LOG_2PI", "gaussian_log_prob", "gaussian_nll"]

#: ``log(2 pi)``.
LOG_2PI = math.log(2.0 * math.pi)


def _lib(x):
    if type(x).__module__.startswith("torch"):
        import torch

        return torch
    import numpy as np

    return np


def gaussian_log_prob(y, mean, *, var=None, log_var=None):
    """Elementwise ``log N(y | mean, var)``; give ``var`` or ``log_var`` (same shape or broadcastable).

    ``-0.5 * (log var + (y - mean)^2 / var + log 2 pi)``.
    """
    if (var is None) == (log_var is None):
        raise ValueError("give exactly one of var and log_var")
    lib = _lib(mean)
    if log_var is None:
        return -0.5 * (lib.log(var) + (y - mean) ** 2 / var + LOG_2PI)
    return -0.5 * (log_var + (y - mean) ** 2 * lib.exp(-log_var) + LOG_2PI)


def gaussian_nll(y, mean, *, var=None, log_var=None):
    """Mean Gaussian negative log-likelihood over all elements (nats, with the ``log 2 pi / 2`` constant)."""
    return -gaussian_log_prob(y, mean, var=var, log_var=log_var).mean()
