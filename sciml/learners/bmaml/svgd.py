"""Stein variational gradient descent (SVGD, Liu & Wang 2016) on particle tensors ``[M, P]``.

``k(a, b) = exp(-||a - b||^2 / h)`` (RBF on the flattened particles) with the median
heuristic ``h = med^2 / log(M + 1)`` or a fixed bandwidth; one step moves every particle
along ``phi_i = 1/M sum_j [k(theta_j, theta_i) grad log p(theta_j) + grad_{theta_j} k(theta_j, theta_i)]``.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

__all__ = ["rbf_kernel", "svgd_direction", "svgd_step"]


def rbf_kernel(theta: Tensor, bandwidth: str | float = "median") -> tuple[Tensor, Tensor]:
    """RBF kernel matrix of particles.

    Shapes: theta ``[M, P]`` -> (K ``[M, M]`` with ``K[j, i] = exp(-||theta_j - theta_i||^2 / h)``,
    h scalar tensor). With ``"median"``, ``h = median_{j<i} ||theta_j - theta_i||^2 / log(M + 1)``,
    detached; ``h = 1`` when ``M = 1`` or the median is 0. ``K`` is differentiable w.r.t. ``theta``.
    """
    m = theta.shape[0]
    diff = theta.unsqueeze(1) - theta.unsqueeze(0)  # [M, M, P]; exact (no |a|^2 + |b|^2 - 2ab cancellation)
    sq = diff.pow(2).sum(-1)
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise ValueError(f"bandwidth must be 'median' or a float, got {bandwidth!r}")
        if m > 1:
            iu = torch.triu_indices(m, m, offset=1, device=theta.device)
            med = sq.detach()[iu[0], iu[1]].median()
            h = torch.where(med > 0, med / math.log(m + 1), torch.ones_like(med))
        else:
            h = torch.ones((), dtype=theta.dtype, device=theta.device)
    else:
        h = torch.as_tensor(float(bandwidth), dtype=theta.dtype, device=theta.device)
    return torch.exp(-sq / h), h


def svgd_direction(theta: Tensor, grad_log_prob: Tensor, bandwidth: str | float = "median",
                   *, return_parts: bool = False):
    """SVGD direction ``phi`` for every particle.

    Shapes: theta, grad_log_prob ``[M, P]`` -> phi ``[M, P]``::

        phi_i = 1/M sum_j [K_ji grad_j + grad_{theta_j} K_ji],
        grad_{theta_j} K_ji = -(2 / h) (theta_j - theta_i) K_ji

    ``return_parts=True`` returns ``(phi, driving, repulsive)`` with ``phi = driving + repulsive``.
    """
    m = theta.shape[0]
    k, h = rbf_kernel(theta, bandwidth)
    driving = k.transpose(0, 1) @ grad_log_prob / m
    repulsive = (2.0 / h) * (theta * k.sum(0).unsqueeze(1) - k.transpose(0, 1) @ theta) / m
    phi = driving + repulsive
    return (phi, driving, repulsive) if return_parts else phi


def svgd_step(theta: Tensor, log_prob_fn: Callable[[Tensor], Tensor], lr: float,
              bandwidth: str | float = "median", create_graph: bool = False) -> Tensor:
    """One SVGD step ``theta + lr * phi(theta)`` for the target ``log_prob_fn: [M, P] -> [M]``.

    ``create_graph=True`` keeps the whole step differentiable w.r.t. ``theta`` (and
    whatever ``log_prob_fn`` closes over); ``create_graph=False`` returns
    ``theta + lr * phi.detach()``, i.e. the direction is a constant (first order).
    """
    with torch.enable_grad():
        th = theta if (create_graph and theta.requires_grad) else theta.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(log_prob_fn(th).sum(), th, create_graph=create_graph)
    if create_graph:
        phi = svgd_direction(th, grad, bandwidth)
    else:
        phi = svgd_direction(theta.detach(), grad.detach(), bandwidth)
    return theta + lr * phi
