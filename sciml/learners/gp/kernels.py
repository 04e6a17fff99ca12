"""Covariance functions and their positive hyperparameters (float64 torch).

* Kernels ``k(A [n, d], B [m, d], **params) -> [n, m]``: :func:`rbf_kernel` (on
  embeddings; scalar or per-dimension ``lengthscale``), :func:`linear_kernel` (dot
  product; the cosine-similarity kernel on L2-normalised embeddings) and
  :func:`tanimoto_kernel` (binary fingerprints). Any callable with that signature works;
  its positive hyperparameters are given by name in ``kernel_params``.
* :class:`ScaledKernel`: ``outputscale * k(A, B; params)`` with every positive
  hyperparameter stored as a learnable log, clamped to bounds (:func:`log_param`,
  :func:`bounded_exp`, :func:`check_bounds`).
* :class:`SplitSumKernel`: the sum of two scaled kernels on disjoint column blocks;
  :class:`BlockSumKernel`: the sum of any number of them, on leading column blocks
  (trailing columns, such as a prior-mean column, are not read).
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["DTYPE", "to_tensor", "rbf_kernel", "linear_kernel", "tanimoto_kernel", "KERNELS", "kernel_diag",
           "log_param", "bounded_exp", "check_bounds", "ScaledKernel", "SplitSumKernel", "BlockSumKernel",
           "gp_kernel"]

DTYPE = torch.float64


def to_tensor(x, device=None) -> Tensor:
    """``x`` (array-like or Tensor) as a float64 tensor on ``device`` (no copy when already one).

    A read-only numpy array is copied (torch cannot share memory it may not write).
    """
    if isinstance(x, Tensor):
        return x.to(device=device if device is not None else x.device, dtype=DTYPE)
    a = np.asarray(x, dtype=np.float64)
    if not a.flags.writeable:
        a = a.copy()
    return torch.as_tensor(a, dtype=DTYPE, device=device)

# --------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------


def rbf_kernel(A: Tensor, B: Tensor, lengthscale: Tensor | float = 1.0) -> Tensor:
    """Squared-exponential kernel ``exp(-||a - b||^2 / (2 * lengthscale^2))``.

    Shapes: A ``[n, d]``, B ``[m, d]``, lengthscale scalar or ``[d]`` (ARD) -> ``[n, m]``.
    Squared distances use the expanded form (clamped at 0), so gradients are finite
    at coincident points.
    """
    ls = torch.as_tensor(lengthscale, dtype=A.dtype, device=A.device)
    a, b = A / ls, B / ls
    sq = (a * a).sum(-1)[:, None] + (b * b).sum(-1)[None, :] - 2.0 * (a @ b.T)
    return torch.exp(-0.5 * sq.clamp_min(0.0))


def linear_kernel(A: Tensor, B: Tensor) -> Tensor:
    """Dot-product kernel ``a . b``; on L2-normalised rows this is cosine similarity. ``[n, d], [m, d] -> [n, m]``."""
    return A @ B.T


def tanimoto_kernel(A: Tensor, B: Tensor) -> Tensor:
    """Tanimoto (Jaccard) kernel on binary fingerprints, ``|a & b| / |a | b|``.

    Any non-zero entry counts as an on-bit, as in
    :func:`sciml.domains.molecules.fingerprints.tanimoto_matrix`; for 0/1 vectors this is also the
    min-max kernel ``sum(min(a, b)) / sum(max(a, b))``. It is positive semi-definite
    (Ralaivola et al. 2005). A pair of all-zero rows gets 0 (not NaN), so an all-zero
    fingerprint has zero prior variance (the matrix stays PSD: such rows and columns are
    zero). Shapes: A ``[n, d]``, B ``[m, d]`` -> ``[n, m]`` (float64 unless the inputs are
    another floating dtype). Not differentiable w.r.t. the inputs (they are binarised).
    """
    dtype = A.dtype if A.is_floating_point() else DTYPE
    a = (A != 0).to(dtype)
    b = (B != 0).to(dtype)
    inter = a @ b.T
    union = a.sum(-1)[:, None] + b.sum(-1)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(1.0), torch.zeros_like(inter))


#: name -> (kernel function, default initial hyperparameters)
KERNELS: dict[str, tuple[Callable[..., Tensor], dict[str, float]]] = {
    "rbf": (rbf_kernel, {"lengthscale": 1.0}),
    "linear": (linear_kernel, {}),
    "tanimoto": (tanimoto_kernel, {}),
}

_DIAGS: dict[Callable[..., Tensor], Callable[..., Tensor]] = {
    rbf_kernel: lambda A, **p: torch.ones(A.shape[0], dtype=A.dtype, device=A.device),
    linear_kernel: lambda A, **p: (A * A).sum(-1),
    tanimoto_kernel: lambda A, **p: (A != 0).any(-1).to(A.dtype if A.is_floating_point() else DTYPE),
}


def kernel_diag(kernel: Callable[..., Tensor], A: Tensor, chunk: int = 512, **params) -> Tensor:
    """``k(a_i, a_i)`` for every row of ``A`` ``[n, d]`` -> ``[n]``.

    Closed form for the kernels of this module; other callables are evaluated on
    diagonal blocks of ``chunk`` rows.
    """
    if kernel in _DIAGS:
        return _DIAGS[kernel](A, **params)
    parts = [torch.diagonal(kernel(A[i : i + chunk], A[i : i + chunk], **params)) for i in range(0, A.shape[0], chunk)]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=A.dtype, device=A.device)


def resolve_kernel(kernel) -> tuple[Callable[..., Tensor], dict[str, float], str]:
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; available: {', '.join(KERNELS)} (or pass a callable)")
        fn, defaults = KERNELS[kernel]
        return fn, dict(defaults), kernel
    if callable(kernel):
        return kernel, {}, getattr(kernel, "__name__", type(kernel).__name__)
    raise TypeError(f"kernel must be a name ({', '.join(KERNELS)}) or a callable, got {type(kernel).__name__}")


# --------------------------------------------------------------------------------------
# Positive hyperparameters and the scaled kernel
# --------------------------------------------------------------------------------------


def log_param(value, name: str, requires_grad: bool) -> nn.Parameter:
    """``log(value)`` as a float64 parameter (scalar or the shape of ``value``); ``value`` must be finite and > 0."""
    t = torch.as_tensor(value, dtype=DTYPE).detach().clone()
    if not bool((t > 0).all()) or not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return nn.Parameter(t.log(), requires_grad=requires_grad)


def bounded_exp(log_value: Tensor, bounds: tuple[float, float]) -> Tensor:
    """``exp(log_value)`` with the log clamped to ``[log low, log high]`` (same shape as ``log_value``)."""
    return log_value.clamp(math.log(bounds[0]), math.log(bounds[1])).exp()


def check_bounds(bounds, name: str) -> tuple[float, float]:
    """``(low, high)`` as floats, checked: ``0 < low <= high < inf`` (``name`` is used in the error)."""
    lo, hi = float(bounds[0]), float(bounds[1])
    if not 0 < lo <= hi < math.inf:
        raise ValueError(f"{name} must satisfy 0 < low <= high < inf, got {bounds}")
    return lo, hi


class ScaledKernel(nn.Module):
    """``outputscale * k(A, B; **params)`` with learnable positive hyperparameters.

    Parameters
    ----------
    kernel : {"rbf", "linear", "tanimoto"} or callable
        A name from :data:`KERNELS` or a function ``k(A [n, d], B [m, d], **params) -> [n, m]``
        (must be PSD; give its ``params`` in ``kernel_params``).
    kernel_params : mapping, optional
        Initial positive hyperparameters of ``k`` by name (floats, or tensors such as a
        ``[d]`` ARD lengthscale); defaults of the named kernel fill missing entries
        (``lengthscale=1.0`` for ``"rbf"``).
    outputscale : float, default 1.0
        Initial signal variance.
    learn_outputscale, learn_kernel_params : bool, default True
        Whether these hyperparameters are trainable (``requires_grad``).
    outputscale_bounds, kernel_param_bounds : (float, float)
        Bounds applied (by clamping the logs) whenever the values are used.

    Attributes
    ----------
    log_outputscale : nn.Parameter (scalar)
    log_params : nn.ParameterDict
        ``log`` of each kernel hyperparameter.
    """

    def __init__(self, kernel="rbf", kernel_params: Mapping | None = None, outputscale: float = 1.0, *,
                 learn_outputscale: bool = True, learn_kernel_params: bool = True,
                 outputscale_bounds: tuple[float, float] = (1e-3, 1e3),
                 kernel_param_bounds: tuple[float, float] = (1e-3, 1e3)):
        super().__init__()
        fn, defaults, name = resolve_kernel(kernel)
        self.fn = fn
        self.kernel_name = name
        self.outputscale_bounds = check_bounds(outputscale_bounds, "outputscale_bounds")
        self.kernel_param_bounds = check_bounds(kernel_param_bounds, "kernel_param_bounds")
        self.log_outputscale = log_param(outputscale, "outputscale", learn_outputscale)
        params = {**defaults, **dict(kernel_params or {})}
        self.log_params = nn.ParameterDict(
            {k: log_param(v, k, learn_kernel_params) for k, v in params.items()}
        )

    def extra_repr(self) -> str:
        vals = ", ".join(f"{k}={v.detach().cpu().numpy().round(4).tolist()}" for k, v in self.params().items())
        return f"kernel={self.kernel_name}, outputscale={float(self.outputscale.detach()):.4g}" + (f", {vals}" if vals else "")

    @property
    def outputscale(self) -> Tensor:
        return bounded_exp(self.log_outputscale, self.outputscale_bounds)

    def params(self) -> dict[str, Tensor]:
        """Current kernel hyperparameters (bounded), by name."""
        return {k: bounded_exp(v, self.kernel_param_bounds) for k, v in self.log_params.items()}

    def set_trainable(self, outputscale: bool, kernel_params: bool) -> "ScaledKernel":
        self.log_outputscale.requires_grad_(outputscale)
        for p in self.log_params.values():
            p.requires_grad_(kernel_params)
        return self

    def forward(self, A: Tensor, B: Tensor | None = None) -> Tensor:
        """``outputscale * k(A, B)``: ``[n, d], [m, d] -> [n, m]`` (``B = A`` when omitted)."""
        return self.outputscale * self.fn(A, A if B is None else B, **self.params())

    def diag(self, A: Tensor) -> Tensor:
        """Prior variances ``outputscale * k(a_i, a_i)``: ``[n, d] -> [n]``."""
        return self.outputscale * kernel_diag(self.fn, A, **self.params())

    @torch.no_grad()
    def project_(self) -> None:
        """Clamp the stored logs into their bounds (after an optimiser step)."""
        self.log_outputscale.clamp_(math.log(self.outputscale_bounds[0]), math.log(self.outputscale_bounds[1]))
        lo, hi = math.log(self.kernel_param_bounds[0]), math.log(self.kernel_param_bounds[1])
        for p in self.log_params.values():
            p.clamp_(lo, hi)


class SplitSumKernel(nn.Module):
    """Sum of two kernels on disjoint column blocks: ``k(a, b) = k1(a[:, :d], b[:, :d]) + k2(a[:, d:], b[:, d:])``.

    Used by the deep-kernel GP to add a Tanimoto kernel on fingerprints (columns ``d:``)
    to the kernel on the meta-learned embedding (columns ``:d``); a sum of PSD kernels
    is PSD, and fitting the two outputscales on a support set lets each assay weigh
    learned and structural similarity. Same interface as :class:`ScaledKernel`.

    Parameters
    ----------
    first, second : ScaledKernel
    split : int
        ``d``, the number of leading columns that ``first`` sees.
    """

    def __init__(self, first: ScaledKernel, second: ScaledKernel, split: int):
        super().__init__()
        self.first, self.second, self.split = first, second, int(split)
        self.kernel_name = f"{first.kernel_name}+{second.kernel_name}"

    @property
    def log_outputscale(self) -> Tensor:
        return self.first.log_outputscale

    def set_trainable(self, outputscale: bool, kernel_params: bool) -> "SplitSumKernel":
        self.first.set_trainable(outputscale, kernel_params)
        self.second.set_trainable(outputscale, kernel_params)
        return self

    def forward(self, A: Tensor, B: Tensor | None = None) -> Tensor:
        """``[n, d + f], [m, d + f] -> [n, m]``."""
        B = A if B is None else B
        d = self.split
        return self.first(A[:, :d], B[:, :d]) + self.second(A[:, d:], B[:, d:])

    def diag(self, A: Tensor) -> Tensor:
        d = self.split
        return self.first.diag(A[:, :d]) + self.second.diag(A[:, d:])

    @torch.no_grad()
    def project_(self) -> None:
        self.first.project_()
        self.second.project_()


class BlockSumKernel(nn.Module):
    """Sum of scaled kernels on consecutive leading column blocks.

    ``k(a, b) = sum_i k_i(a[:, o_i:o_i + w_i], b[:, o_i:o_i + w_i])`` with offsets
    ``o_i = w_0 + ... + w_{i-1}``; columns after the last block are not read (the deep-kernel
    GP keeps its prior-mean column there). A sum of PSD kernels is PSD; each part keeps its
    own outputscale, so fitting them on a support set weighs the parts per assay. Same
    interface as :class:`ScaledKernel`.

    Parameters
    ----------
    parts : sequence of ScaledKernel
    widths : sequence of int
        Columns of each part, ``len(widths) == len(parts)``, each ``> 0``.
    """

    def __init__(self, parts, widths):
        super().__init__()
        parts, widths = list(parts), [int(w) for w in widths]
        if not parts or len(parts) != len(widths) or min(widths) <= 0:
            raise ValueError(f"BlockSumKernel needs one positive width per part, got {len(parts)} parts and "
                             f"widths {widths}")
        self.parts = nn.ModuleList(parts)
        self.widths = widths
        self.kernel_name = "+".join(p.kernel_name for p in parts)

    @property
    def n_columns(self) -> int:
        """Columns the kernel reads (``sum(widths)``)."""
        return sum(self.widths)

    def _blocks(self, A: Tensor):
        if A.shape[-1] < self.n_columns:
            raise ValueError(f"BlockSumKernel reads {self.n_columns} columns, got features with {A.shape[-1]}")
        start = 0
        for part, w in zip(self.parts, self.widths):
            yield part, slice(start, start + w)
            start += w

    @property
    def log_outputscale(self) -> Tensor:
        return self.parts[0].log_outputscale

    def set_trainable(self, outputscale: bool, kernel_params: bool) -> "BlockSumKernel":
        for p in self.parts:
            p.set_trainable(outputscale, kernel_params)
        return self

    def forward(self, A: Tensor, B: Tensor | None = None) -> Tensor:
        """``[n, >= sum(widths)], [m, >= sum(widths)] -> [n, m]``."""
        B = A if B is None else B
        return sum(part(A[:, s], B[:, s]) for part, s in self._blocks(A))

    def diag(self, A: Tensor) -> Tensor:
        return sum(part.diag(A[:, s]) for part, s in self._blocks(A))

    @torch.no_grad()
    def project_(self) -> None:
        for p in self.parts:
            p.project_()


def gp_kernel(kernel, kernel_params, outputscale, learn_outputscale, learn_kernel_params, outputscale_bounds,
              kernel_param_bounds) -> nn.Module:
    """The float64 kernel of a GP: a given :class:`ScaledKernel` / :class:`SplitSumKernel` /
    :class:`BlockSumKernel` as is (with the
    trainability set), else a new :class:`ScaledKernel` from a name or function."""
    if isinstance(kernel, (ScaledKernel, SplitSumKernel, BlockSumKernel)):
        return kernel.to(DTYPE).set_trainable(learn_outputscale, learn_kernel_params)
    return ScaledKernel(kernel, kernel_params, outputscale, learn_outputscale=learn_outputscale,
                        learn_kernel_params=learn_kernel_params, outputscale_bounds=outputscale_bounds,
                        kernel_param_bounds=kernel_param_bounds)
