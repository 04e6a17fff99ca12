"""The prior-mean column of the GPs (``mean_column``): a score in the last feature column, scaled per training set."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sciml.learners.gp.kernels import bounded_exp

__all__ = ["MEAN_SCALE_BOUNDS", "column_mean", "project_mean_scale_"]

#: Bounds of the fitted scale of a prior-mean column (``mean_column``): from "ignore the score" to ten times it.
MEAN_SCALE_BOUNDS = (1e-3, 10.0)


def column_mean(X: Tensor, log_scale: Tensor) -> Tensor:
    """``scale * X[:, -1]`` ``[n]``, the scale ``exp(log_scale)`` clamped to :data:`MEAN_SCALE_BOUNDS`."""
    return bounded_exp(log_scale, MEAN_SCALE_BOUNDS) * X[:, -1]


@torch.no_grad()
def project_mean_scale_(log_scale: Tensor | None) -> None:
    """Clamp a stored log mean scale into :data:`MEAN_SCALE_BOUNDS` after an optimiser step (``None``: nothing)."""
    if log_scale is not None:
        log_scale.clamp_(math.log(MEAN_SCALE_BOUNDS[0]), math.log(MEAN_SCALE_BOUNDS[1]))
