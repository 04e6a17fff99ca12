"""Small exact Gaussian processes in torch (float64): regression and Laplace classification.

Building blocks, reused by :mod:`sciml.learners.dkgp` (deep-kernel GP) and
:mod:`sciml.learners.gp_baseline` (Tanimoto GP on fingerprints):

* Kernels ``k(A [n, d], B [m, d], **params) -> [n, m]``: :func:`rbf_kernel` (on
  embeddings; scalar or per-dimension ``lengthscale``), :func:`linear_kernel` (dot
  product; the cosine-similarity kernel on L2-normalised embeddings) and
  :func:`tanimoto_kernel` (binary fingerprints). Any callable with that signature works;
  its positive hyperparameters are given by name in ``kernel_params``.
* :class:`ScaledKernel`: ``outputscale * k(A, B; params)`` with every positive
  hyperparameter stored as a learnable log (clamped to bounds).
* :func:`cholesky_jitter`: Cholesky factor with jitter escalation.
* Functional cores, differentiable w.r.t. the kernel matrices (and hence w.r.t. an
  encoder that produced the inputs): :func:`exact_gp_fit` / :func:`exact_gp_predict`
  (Gaussian likelihood) and :func:`laplace_fit` / :func:`laplace_predict` (Laplace
  approximation for binary classification, Rasmussen & Williams 2006, Alg. 3.1 / 3.2).
* :class:`ExactGP`: regression model. Hyperparameters (noise, outputscale, kernel
  parameters, constant mean) are fitted by maximising the exact log marginal likelihood
  of the training (support) set with Adam or L-BFGS; targets are standardised internally.
* :class:`LaplaceGPClassifier`: binary classifier with a probit (default) or logistic
  likelihood and a zero prior mean; outputscale and kernel hyperparameters are fitted by
  maximising the Laplace approximation of the log marginal likelihood
  (``steps=0`` keeps the initial, fixed values).

Everything is computed in float64 on the device of the model's parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal, Mapping

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "DTYPE",
    "rbf_kernel",
    "linear_kernel",
    "tanimoto_kernel",
    "KERNELS",
    "kernel_diag",
    "cholesky_jitter",
    "ScaledKernel",
    "exact_gp_fit",
    "exact_gp_predict",
    "LaplaceState",
    "laplace_fit",
    "laplace_predict",
    "predictive_log_prob",
    "probability_summary",
    "ExactGP",
    "LaplaceGPClassifier",
]

DTYPE = torch.float64
_LOG_2PI = math.log(2.0 * math.pi)
Likelihood = Literal["probit", "logistic"]


def _to_tensor(x, device=None) -> Tensor:
    """``x`` (array-like or Tensor) as a float64 tensor on ``device`` (no copy when already one)."""
    if isinstance(x, Tensor):
        return x.to(device=device if device is not None else x.device, dtype=DTYPE)
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=DTYPE, device=device)


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


def _resolve_kernel(kernel) -> tuple[Callable[..., Tensor], dict[str, float], str]:
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; available: {', '.join(KERNELS)} (or pass a callable)")
        fn, defaults = KERNELS[kernel]
        return fn, dict(defaults), kernel
    if callable(kernel):
        return kernel, {}, getattr(kernel, "__name__", type(kernel).__name__)
    raise TypeError(f"kernel must be a name ({', '.join(KERNELS)}) or a callable, got {type(kernel).__name__}")


# --------------------------------------------------------------------------------------
# Linear algebra
# --------------------------------------------------------------------------------------


def cholesky_jitter(K: Tensor, max_tries: int = 8, initial: float = 1e-9) -> tuple[Tensor, float]:
    """Lower Cholesky factor of a symmetric matrix, adding jitter when it is not numerically PD.

    Tries ``K`` itself first; on failure adds ``eps * I`` with
    ``eps = initial * mean(|diag K|)``, multiplied by 10 on each further failure
    (``max_tries`` attempts). Differentiable (``torch.linalg.cholesky_ex``).

    Returns
    -------
    (L, jitter) : (Tensor ``[n, n]``, float)
        ``L @ L.T == K + jitter * I``; ``jitter`` is 0.0 when none was needed.

    Raises
    ------
    ValueError
        If ``K`` contains NaN/inf.
    torch.linalg.LinAlgError
        If ``K`` is still not PD after the largest jitter.
    """
    if not torch.isfinite(K).all():
        raise ValueError("the covariance matrix contains NaN/inf (check the inputs and hyperparameters).")
    L, info = torch.linalg.cholesky_ex(K)
    if not bool(info.any()):
        return L, 0.0
    scale = float(K.detach().diagonal().abs().mean()) if K.shape[0] else 1.0
    eps = initial * (scale if scale > 0 else 1.0)
    eye = torch.eye(K.shape[-1], dtype=K.dtype, device=K.device)
    for _ in range(max_tries):
        L, info = torch.linalg.cholesky_ex(K + eps * eye)
        if not bool(info.any()):
            return L, eps
        eps *= 10.0
    raise torch.linalg.LinAlgError(
        f"covariance matrix of size {K.shape[0]} is not positive definite even with jitter {eps / 10:.3g}."
    )


# --------------------------------------------------------------------------------------
# Positive hyperparameters and the scaled kernel
# --------------------------------------------------------------------------------------


def _log_param(value, name: str, requires_grad: bool) -> nn.Parameter:
    t = torch.as_tensor(value, dtype=DTYPE).detach().clone()
    if not bool((t > 0).all()) or not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return nn.Parameter(t.log(), requires_grad=requires_grad)


def _bounded_exp(log_value: Tensor, bounds: tuple[float, float]) -> Tensor:
    return log_value.clamp(math.log(bounds[0]), math.log(bounds[1])).exp()


def _check_bounds(bounds, name: str) -> tuple[float, float]:
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
        fn, defaults, name = _resolve_kernel(kernel)
        self.fn = fn
        self.kernel_name = name
        self.outputscale_bounds = _check_bounds(outputscale_bounds, "outputscale_bounds")
        self.kernel_param_bounds = _check_bounds(kernel_param_bounds, "kernel_param_bounds")
        self.log_outputscale = _log_param(outputscale, "outputscale", learn_outputscale)
        params = {**defaults, **dict(kernel_params or {})}
        self.log_params = nn.ParameterDict(
            {k: _log_param(v, k, learn_kernel_params) for k, v in params.items()}
        )

    def extra_repr(self) -> str:
        vals = ", ".join(f"{k}={v.detach().cpu().numpy().round(4).tolist()}" for k, v in self.params().items())
        return f"kernel={self.kernel_name}, outputscale={float(self.outputscale.detach()):.4g}" + (f", {vals}" if vals else "")

    @property
    def outputscale(self) -> Tensor:
        return _bounded_exp(self.log_outputscale, self.outputscale_bounds)

    def params(self) -> dict[str, Tensor]:
        """Current kernel hyperparameters (bounded), by name."""
        return {k: _bounded_exp(v, self.kernel_param_bounds) for k, v in self.log_params.items()}

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


def _gp_kernel(kernel, kernel_params, outputscale, learn_outputscale, learn_kernel_params, outputscale_bounds,
               kernel_param_bounds) -> nn.Module:
    """The float64 kernel of a GP: a given :class:`ScaledKernel` / :class:`SplitSumKernel` as is (with the
    trainability set), else a new :class:`ScaledKernel` from a name or function."""
    if isinstance(kernel, (ScaledKernel, SplitSumKernel)):
        return kernel.to(DTYPE).set_trainable(learn_outputscale, learn_kernel_params)
    return ScaledKernel(kernel, kernel_params, outputscale, learn_outputscale=learn_outputscale,
                        learn_kernel_params=learn_kernel_params, outputscale_bounds=outputscale_bounds,
                        kernel_param_bounds=kernel_param_bounds)


# --------------------------------------------------------------------------------------
# Gaussian likelihood (regression)
# --------------------------------------------------------------------------------------


def exact_gp_fit(K: Tensor, y: Tensor, noise: Tensor | float, mean: Tensor | float = 0.0
                 ) -> tuple[Tensor, Tensor, Tensor]:
    """Condition a GP with Gaussian noise on training targets.

    Parameters
    ----------
    K : Tensor ``[n, n]``
        Prior covariance of the latent function at the training inputs (no noise).
    y : Tensor ``[n]``
        Targets.
    noise : scalar
        Observation noise variance, added to the diagonal.
    mean : scalar
        Constant prior mean.

    Returns
    -------
    (L, alpha, lml)
        ``L`` ``[n, n]`` lower Cholesky factor of ``K + noise * I`` (plus jitter if needed),
        ``alpha = (K + noise I)^{-1} (y - mean)`` ``[n]`` and the log marginal likelihood
        ``log N(y; mean, K + noise I)`` (scalar). Differentiable in all inputs.
    """
    n = y.shape[0]
    eye = torch.eye(n, dtype=K.dtype, device=K.device)
    L, _ = cholesky_jitter(K + noise * eye)
    r = (y - mean).unsqueeze(-1)
    alpha = torch.cholesky_solve(r, L)
    lml = -0.5 * (r * alpha).sum() - L.diagonal().log().sum() - 0.5 * n * _LOG_2PI
    return L, alpha.squeeze(-1), lml


def exact_gp_predict(L: Tensor, alpha: Tensor, K_qs: Tensor, k_qq: Tensor, mean: Tensor | float = 0.0
                     ) -> tuple[Tensor, Tensor]:
    """Posterior of the latent function at query points (noise-free).

    Shapes: L ``[n, n]``, alpha ``[n]`` (from :func:`exact_gp_fit`), K_qs ``[m, n]``
    (query-by-train prior covariance), k_qq ``[m]`` (query prior variances) ->
    (mean ``[m]``, latent variance ``[m]``, clamped at 0). Add the noise variance to get
    the predictive variance of a new observation.
    """
    mu = mean + K_qs @ alpha
    v = torch.linalg.solve_triangular(L, K_qs.T, upper=False)
    var = (k_qq - (v * v).sum(0)).clamp_min(0.0)
    return mu, var


# --------------------------------------------------------------------------------------
# Laplace approximation (binary classification), Rasmussen & Williams Alg. 3.1 / 3.2
# --------------------------------------------------------------------------------------


def _likelihood_terms(f: Tensor, y: Tensor, likelihood: str) -> tuple[Tensor, Tensor, Tensor]:
    """``log p(y_i | f_i)``, its derivative and ``W = -d^2 log p / df^2`` (all ``[n]``); ``y`` in {-1, +1}."""
    yf = y * f
    if likelihood == "logistic":
        logp = nn.functional.logsigmoid(yf)
        pi = torch.sigmoid(f)
        grad = 0.5 * (y + 1.0) - pi
        W = pi * (1.0 - pi)
    elif likelihood == "probit":
        logp = torch.special.log_ndtr(yf)
        ratio = torch.exp(-0.5 * f * f - 0.5 * _LOG_2PI - logp)  # N(f) / Phi(y f)
        grad = y * ratio
        W = ratio * ratio + yf * ratio
    else:
        raise ValueError(f"likelihood must be 'probit' or 'logistic', got {likelihood!r}")
    return logp, grad, W.clamp_min(1e-12)


def _newton_step(K: Tensor, f: Tensor, y: Tensor, likelihood: str) -> tuple[Tensor, Tensor]:
    """One Newton step of R&W Alg. 3.1 from ``f``; returns (f_new ``[n]``, a ``[n]``) with ``f_new = K a``."""
    _, grad, W = _likelihood_terms(f, y, likelihood)
    sW = W.sqrt()
    eye = torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
    L, _ = cholesky_jitter(eye + sW[:, None] * K * sW[None, :])
    b = W * f + grad
    c = torch.cholesky_solve((sW * (K @ b)).unsqueeze(-1), L).squeeze(-1)
    a = b - sW * c
    return K @ a, a


def _psi(a: Tensor, f: Tensor, y: Tensor, likelihood: str) -> Tensor:
    return -0.5 * (a * f).sum() + _likelihood_terms(f, y, likelihood)[0].sum()


@torch.no_grad()
def _laplace_mode(K: Tensor, y: Tensor, likelihood: str, f0: Tensor | None, max_iter: int, tol: float) -> Tensor:
    """Posterior mode of the latent values (Newton with step halving); ``[n]``."""
    n = K.shape[0]
    f = torch.zeros(n, dtype=K.dtype, device=K.device)
    a = torch.zeros_like(f)
    psi = _psi(a, f, y, likelihood)
    if f0 is not None:  # warm start: the first Newton step from f0 is always accepted
        f = f0.detach().to(K).clone()
        psi = torch.tensor(-math.inf, dtype=K.dtype, device=K.device)
    for _ in range(max_iter):
        f_new, a_new = _newton_step(K, f, y, likelihood)
        psi_new = _psi(a_new, f_new, y, likelihood)
        halvings = 0
        while bool(torch.isfinite(psi)) and psi_new < psi - 1e-10 * (1.0 + psi.abs()) and halvings < 10:  # rarely needed (log-concave)
            a_new = 0.5 * (a + a_new)
            f_new = K @ a_new
            psi_new = _psi(a_new, f_new, y, likelihood)
            halvings += 1
        done = bool(torch.isfinite(psi)) and float((psi_new - psi).abs()) < tol
        f, a, psi = f_new, a_new, psi_new
        if done:
            break
    return f


@dataclass
class LaplaceState:
    """Laplace approximation of a GP classifier at its latent posterior mode (R&W Alg. 3.1 output).

    Attributes (``n`` training points)
    ----------
    f : Tensor ``[n]``
        Posterior mode of the latent function.
    grad : Tensor ``[n]``
        ``d log p(y | f) / df`` at the mode (``= K^{-1} f``).
    sqrt_w : Tensor ``[n]``
        ``W^{1/2}``, ``W = -d^2 log p(y | f) / df^2``.
    L : Tensor ``[n, n]``
        Cholesky factor of ``B = I + W^{1/2} K W^{1/2}``.
    log_marginal : Tensor (scalar)
        Laplace approximation of ``log p(y | X)``:
        ``-a.f / 2 + sum log p(y | f) - sum log diag L``.
    likelihood : str
        ``"probit"`` or ``"logistic"``.
    """

    f: Tensor
    grad: Tensor
    sqrt_w: Tensor
    L: Tensor
    log_marginal: Tensor
    likelihood: str


def laplace_fit(K: Tensor, y01: Tensor, likelihood: Likelihood = "probit", *, f0: Tensor | None = None,
                max_iter: int = 50, tol: float = 1e-9) -> LaplaceState:
    """Laplace approximation of a zero-mean GP classifier on training labels.

    Parameters
    ----------
    K : Tensor ``[n, n]``
        Prior covariance of the latent function at the training inputs.
    y01 : Tensor ``[n]``
        Labels in {0, 1} (mapped internally to {-1, +1}).
    likelihood : {"probit", "logistic"}
        ``p(y=1 | f) = Phi(f)`` or ``sigmoid(f)``.
    f0 : Tensor ``[n]``, optional
        Warm start of the Newton iterations.
    max_iter, tol
        Newton iterations (R&W Alg. 3.1) stop when the objective changes by less than ``tol``.

    Returns
    -------
    LaplaceState

    Notes
    -----
    Gradients: the mode is found without autograd; one more Newton step is then taken
    from the (detached) mode with autograd on. Because the Newton map's Jacobian w.r.t. ``f``
    vanishes at the mode, that step's derivative w.r.t. ``K`` equals the implicit
    derivative of the mode (implicit function theorem), so ``log_marginal`` and
    :func:`laplace_predict` outputs have exact first-order gradients w.r.t. ``K``
    (including R&W's implicit term, Alg. 5.1) at the cost of one differentiable step.
    """
    if likelihood not in ("probit", "logistic"):
        raise ValueError(f"likelihood must be 'probit' or 'logistic', got {likelihood!r}")
    y = 2.0 * y01.to(K) - 1.0
    f_hat = _laplace_mode(K.detach(), y, likelihood, f0, max_iter, tol)
    f, a = _newton_step(K, f_hat, y, likelihood)
    logp, grad, W = _likelihood_terms(f, y, likelihood)
    sW = W.sqrt()
    eye = torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
    L, _ = cholesky_jitter(eye + sW[:, None] * K * sW[None, :])
    lml = -0.5 * (a * f).sum() + logp.sum() - L.diagonal().log().sum()
    return LaplaceState(f=f, grad=grad, sqrt_w=sW, L=L, log_marginal=lml, likelihood=likelihood)


def laplace_predict(state: LaplaceState, K_qs: Tensor, k_qq: Tensor) -> tuple[Tensor, Tensor]:
    """Latent predictive mean and variance at query points (R&W Alg. 3.2, lines 4-6).

    Shapes: K_qs ``[m, n]`` (query-by-train prior covariance), k_qq ``[m]`` -> (mean ``[m]``,
    variance ``[m]``, clamped at 0). Turn them into probabilities with
    :func:`probability_summary` or :func:`predictive_log_prob`.
    """
    mu = K_qs @ state.grad
    v = torch.linalg.solve_triangular(state.L, state.sqrt_w[:, None] * K_qs.T, upper=False)
    var = (k_qq - (v * v).sum(0)).clamp_min(0.0)
    return mu, var


_GH_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _gauss_hermite(n: int, like: Tensor) -> tuple[Tensor, Tensor]:
    if n not in _GH_CACHE:
        _GH_CACHE[n] = np.polynomial.hermite.hermgauss(n)
    x, w = _GH_CACHE[n]
    return (torch.as_tensor(x, dtype=like.dtype, device=like.device),
            torch.as_tensor(w / math.sqrt(math.pi), dtype=like.dtype, device=like.device))


def _log_link(f: Tensor, likelihood: str) -> Tensor:
    return torch.special.log_ndtr(f) if likelihood == "probit" else nn.functional.logsigmoid(f)


def predictive_log_prob(mean: Tensor, var: Tensor, y01: Tensor, likelihood: Likelihood = "probit",
                        n_quad: int = 32) -> Tensor:
    """``log p(y | x) = log E_{f ~ N(mean, var)} p(y | f)`` per point, ``[m]``; differentiable.

    Probit: exact, ``log Phi(y mean / sqrt(1 + var))``. Logistic: ``n_quad``-point
    Gauss-Hermite quadrature, in log space. ``y01`` in {0, 1}.
    """
    y = 2.0 * y01.to(mean) - 1.0
    if likelihood == "probit":
        return torch.special.log_ndtr(y * mean / torch.sqrt(1.0 + var))
    x, w = _gauss_hermite(n_quad, mean)
    f = mean[:, None] + math.sqrt(2.0) * torch.sqrt(var)[:, None] * x[None, :]
    return torch.logsumexp(w.log()[None, :] + nn.functional.logsigmoid(y[:, None] * f), dim=1)


@torch.no_grad()
def probability_summary(mean: Tensor, var: Tensor, likelihood: Likelihood = "probit", level: float = 0.9,
                        n_quad: int = 32) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Summaries of ``pi(f) = p(y=1 | f)`` under the latent posterior ``f ~ N(mean, var)``.

    Returns (all ``[m]``)
    -------
    p : predictive probability ``E[pi(f)]`` (exact for probit, quadrature for logistic).
    std : standard deviation of ``pi(f)`` (epistemic spread of the probability; quadrature).
    lower, upper : central ``level`` interval of ``pi(f)``, i.e. ``pi(mean -/+ z sqrt(var))``
        (``pi`` is monotone), widened where needed to contain ``p`` (in the saturated
        tails the mean of ``pi(f)`` can fall just outside that interval).
    """
    from scipy.stats import norm

    sd = torch.sqrt(var)
    x, w = _gauss_hermite(n_quad, mean)
    f = mean[:, None] + math.sqrt(2.0) * sd[:, None] * x[None, :]
    link = _log_link(f, likelihood).exp()
    m1 = (w[None, :] * link).sum(1)
    m2 = (w[None, :] * link * link).sum(1)
    std = (m2 - m1 * m1).clamp_min(0.0).sqrt()
    if likelihood == "probit":
        p = torch.special.ndtr(mean / torch.sqrt(1.0 + var))
    else:
        p = m1
    p = p.clamp(0.0, 1.0)
    z = float(norm.ppf(0.5 + level / 2.0))
    lower = torch.minimum(_log_link(mean - z * sd, likelihood).exp(), p)
    upper = torch.maximum(_log_link(mean + z * sd, likelihood).exp(), p)
    return p, std, lower, upper


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


def _optimise(module: nn.Module, objective: Callable[[], Tensor], params: list[nn.Parameter], steps: int, lr: float,
              optimizer: str, project: Callable[[], None]) -> list[float]:
    """Maximise ``objective()`` over ``params``; keeps the best parameters seen. Returns the objective history."""
    history: list[float] = []
    if steps <= 0 or not params:
        with torch.no_grad():
            history.append(float(objective()))
        return history
    best_val, best_state = -math.inf, None

    def record(val: Tensor) -> None:
        nonlocal best_val, best_state
        v = float(val.detach())
        history.append(v)
        if math.isfinite(v) and v > best_val:
            best_val, best_state = v, [p.detach().clone() for p in params]

    try:
        if optimizer == "adam":
            opt = torch.optim.Adam(params, lr=lr)
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                val = objective()
                record(val)
                (-val).backward()
                opt.step()
                project()
        elif optimizer == "lbfgs":
            opt = torch.optim.LBFGS(params, lr=lr, max_iter=steps, line_search_fn="strong_wolfe")

            def closure():
                opt.zero_grad(set_to_none=True)
                val = objective()
                record(val)
                loss = -val
                loss.backward()
                return loss

            opt.step(closure)
            project()
        else:
            raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {optimizer!r}")
        with torch.no_grad():
            record(objective())
    except torch.linalg.LinAlgError:
        pass  # hyperparameters left the numerically safe region: fall back to the best ones seen
    if best_state is not None:
        with torch.no_grad():
            for p, b in zip(params, best_state):
                p.copy_(b)
    return history


class ExactGP(nn.Module):
    """Exact GP regression with a constant mean, fitted on a small training (support) set.

    Model (on standardised targets ``t = (y - y_mean) / y_scale``, ``y_scale`` the
    population standard deviation of the training targets, 1 if they are constant):
    ``t = g(x) + eps``, ``g ~ GP(mean, outputscale * k(x, x'))``, ``eps ~ N(0, noise)``.

    Parameters
    ----------
    kernel : {"rbf", "linear", "tanimoto"}, callable, or ScaledKernel
        The covariance function (see :class:`ScaledKernel`). A :class:`ScaledKernel`
        instance is used as is (its current values are the initial values;
        ``kernel_params`` / ``outputscale`` / bounds arguments are then ignored and
        ``learn_*`` set its ``requires_grad``).
    kernel_params : mapping, optional
        Initial kernel hyperparameters (e.g. ``{"lengthscale": 1.0}``).
    noise : float, default 0.1
        Initial noise variance (standardised units).
    outputscale : float, default 1.0
        Initial signal variance (standardised units).
    mean : float, default 0.0
        Initial constant prior mean (standardised units).
    learn_noise, learn_outputscale, learn_kernel_params, learn_mean : bool, default True
        Which hyperparameters :meth:`fit` optimises.
    standardize : bool, default True
        Standardise the targets internally (predictions are returned in original units).
    noise_bounds, outputscale_bounds, kernel_param_bounds : (float, float)
        Bounds (standardised units) applied to the hyperparameters.

    Attributes (after :meth:`fit`)
    ----------
    X_ : Tensor ``[n, d]``; t_ : Tensor ``[n]`` standardised targets;
    y_mean_, y_scale_ : float; history_ : list of float
        Log marginal likelihood (standardised units) before each optimiser step and after
        the last one; the hyperparameters with the best value seen are kept.
    """

    def __init__(self, kernel="rbf", kernel_params: Mapping | None = None, *, noise: float = 0.1,
                 outputscale: float = 1.0, mean: float = 0.0, learn_noise: bool = True,
                 learn_outputscale: bool = True, learn_kernel_params: bool = True, learn_mean: bool = True,
                 standardize: bool = True, noise_bounds: tuple[float, float] = (1e-4, 10.0),
                 outputscale_bounds: tuple[float, float] = (1e-3, 1e3),
                 kernel_param_bounds: tuple[float, float] = (1e-3, 1e3)):
        super().__init__()
        self.kernel = _gp_kernel(kernel, kernel_params, outputscale, learn_outputscale, learn_kernel_params,
                                 outputscale_bounds, kernel_param_bounds)
        self.noise_bounds = _check_bounds(noise_bounds, "noise_bounds")
        self.log_noise = _log_param(noise, "noise", learn_noise)
        self.mean = nn.Parameter(torch.tensor(float(mean), dtype=DTYPE), requires_grad=learn_mean)
        self.standardize = bool(standardize)

    @property
    def noise(self) -> Tensor:
        """Observation noise variance (standardised units)."""
        return _bounded_exp(self.log_noise, self.noise_bounds)

    def _device(self) -> torch.device:
        return self.log_noise.device

    def _project(self) -> None:
        self.kernel.project_()
        with torch.no_grad():
            self.log_noise.clamp_(math.log(self.noise_bounds[0]), math.log(self.noise_bounds[1]))

    def _check_fitted(self) -> None:
        if not hasattr(self, "X_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(X, y) first.")

    def log_marginal_likelihood(self) -> Tensor:
        """``log p(t | X)`` of the standardised training targets under the current hyperparameters.

        Differentiable w.r.t. the hyperparameters. In original units it is
        ``this - n * log(y_scale_)``.
        """
        self._check_fitted()
        return exact_gp_fit(self.kernel(self.X_), self.t_, self.noise, self.mean)[2]

    def fit(self, X, y, steps: int = 100, lr: float = 0.05, optimizer: Literal["adam", "lbfgs"] = "adam"
            ) -> "ExactGP":
        """Fit the hyperparameters by maximising the log marginal likelihood of ``(X, y)``.

        Parameters
        ----------
        X : array-like or Tensor ``[n, d]``
        y : array-like or Tensor ``[n]``
        steps : int, default 100
            Adam steps (or L-BFGS iterations); 0 keeps the current hyperparameters, as
            does a training set whose standardised targets are all 0 (one point or
            constant targets), where maximising the likelihood would drive the noise and
            outputscale to their lower bounds.
        lr : float, default 0.05
            Learning rate (L-BFGS: initial step length, 1.0 is its usual value).
        optimizer : {"adam", "lbfgs"}
        """
        dev = self._device()
        X = _to_tensor(X, dev)
        y = _to_tensor(y, dev).reshape(-1)
        if X.ndim != 2 or X.shape[0] != y.shape[0] or y.shape[0] == 0:
            raise ValueError(f"X must be [n, d] and y [n] with n >= 1, got {tuple(X.shape)} and {tuple(y.shape)}")
        if not bool(torch.isfinite(y).all()):
            raise ValueError("y contains NaN/inf")
        if self.standardize:
            self.y_mean_ = float(y.mean())
            sd = float(y.std(unbiased=False))
            self.y_scale_ = sd if sd > 0 else 1.0
        else:
            self.y_mean_, self.y_scale_ = 0.0, 1.0
        self.X_ = X
        self.t_ = (y - self.y_mean_) / self.y_scale_
        params = [p for p in self.parameters() if p.requires_grad]
        n = y.shape[0]
        if self.standardize and not bool((self.t_ != 0).any()):
            steps = 0  # constant targets (or n = 1): the likelihood would shrink every variance to its bound
        history = _optimise(self, lambda: self.log_marginal_likelihood() / n, params, int(steps), lr, optimizer,
                            self._project)
        self.history_ = [h * n for h in history]
        return self

    @torch.no_grad()
    def predict(self, Xq, include_noise: bool = True) -> tuple[Tensor, Tensor]:
        """Predictive mean and variance at ``Xq`` ``[m, d]`` in the units of ``y``.

        Returns (mean ``[m]``, var ``[m]``), float64 tensors. With ``include_noise`` (the
        default) ``var`` is the variance of a new *observation* ``y*``
        (``latent variance + noise``, as sklearn's ``GaussianProcessRegressor`` with a
        ``WhiteKernel``), which is what prediction intervals for measured values need;
        ``include_noise=False`` gives the latent function's variance only.
        """
        self._check_fitted()
        Xq = _to_tensor(Xq, self._device())
        if Xq.ndim != 2 or Xq.shape[1] != self.X_.shape[1]:
            raise ValueError(f"Xq must be [m, {self.X_.shape[1]}], got {tuple(Xq.shape)}")
        L, alpha, _ = exact_gp_fit(self.kernel(self.X_), self.t_, self.noise, self.mean)  # O(n^3), n is small
        mu, var = exact_gp_predict(L, alpha, self.kernel(Xq, self.X_), self.kernel.diag(Xq), self.mean)
        if include_noise:
            var = var + self.noise
        return self.y_mean_ + self.y_scale_ * mu, var * self.y_scale_ ** 2


class LaplaceGPClassifier(nn.Module):
    """Binary GP classifier with the Laplace approximation (R&W 2006, Alg. 3.1 / 3.2).

    Latent ``f ~ GP(0, outputscale * k(x, x'))``, ``p(y=1 | f) = Phi(f)`` (probit) or
    ``sigmoid(f)`` (logistic). The prior mean is zero, so far from the training data
    the predicted probability returns to 0.5.

    Hyperparameters: :meth:`fit` maximises the Laplace approximation of the log
    marginal likelihood (:attr:`LaplaceState.log_marginal`, exact first-order gradients
    through the mode, see :func:`laplace_fit`) over the outputscale and kernel
    hyperparameters, for ``steps`` Adam steps starting from the given values; with
    ``steps=0`` (or all ``learn_*`` False) the initial values are used as fixed
    hyperparameters.

    Parameters
    ----------
    kernel, kernel_params, outputscale, learn_outputscale, learn_kernel_params
        As in :class:`ExactGP`.
    likelihood : {"probit", "logistic"}, default "probit"
    outputscale_bounds : (float, float), default (1e-2, 1e2)
        Bounds of the latent signal variance (on separable data the approximate marginal
        likelihood may keep growing with the outputscale; the bound caps it).
    max_newton, tol
        Newton iterations for the mode.

    Attributes (after :meth:`fit`)
    ----------
    X_ : Tensor ``[n, d]``; y_ : Tensor ``[n]`` labels in {0, 1};
    state_ : LaplaceState; history_ : list of float (approximate log marginal likelihood).
    """

    def __init__(self, kernel="rbf", kernel_params: Mapping | None = None, *, outputscale: float = 1.0,
                 likelihood: Likelihood = "probit", learn_outputscale: bool = True,
                 learn_kernel_params: bool = True, outputscale_bounds: tuple[float, float] = (1e-2, 1e2),
                 kernel_param_bounds: tuple[float, float] = (1e-3, 1e3), max_newton: int = 50,
                 tol: float = 1e-9):
        super().__init__()
        if likelihood not in ("probit", "logistic"):
            raise ValueError(f"likelihood must be 'probit' or 'logistic', got {likelihood!r}")
        self.kernel = _gp_kernel(kernel, kernel_params, outputscale, learn_outputscale, learn_kernel_params,
                                 outputscale_bounds, kernel_param_bounds)
        self.likelihood = likelihood
        self.max_newton = int(max_newton)
        self.tol = float(tol)

    def _device(self) -> torch.device:
        return self.kernel.log_outputscale.device

    def _check_fitted(self) -> None:
        if not hasattr(self, "X_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(X, y) first.")

    def _laplace(self) -> LaplaceState:
        f0 = getattr(self, "_f_warm", None)
        state = laplace_fit(self.kernel(self.X_), self.y_, self.likelihood, f0=f0, max_iter=self.max_newton,
                            tol=self.tol)
        self._f_warm = state.f.detach()
        return state

    def log_marginal_likelihood(self) -> Tensor:
        """Laplace approximation of ``log p(y | X)`` under the current hyperparameters (differentiable)."""
        self._check_fitted()
        return self._laplace().log_marginal

    def fit(self, X, y, steps: int = 50, lr: float = 0.05, optimizer: Literal["adam", "lbfgs"] = "adam"
            ) -> "LaplaceGPClassifier":
        """Fit on ``X`` ``[n, d]`` and labels ``y`` ``[n]`` in {0, 1} (see the class notes on hyperparameters)."""
        dev = self._device()
        X = _to_tensor(X, dev)
        y = _to_tensor(y, dev).reshape(-1)
        if X.ndim != 2 or X.shape[0] != y.shape[0] or y.shape[0] == 0:
            raise ValueError(f"X must be [n, d] and y [n] with n >= 1, got {tuple(X.shape)} and {tuple(y.shape)}")
        if not bool(((y == 0) | (y == 1)).all()):
            raise ValueError("classification labels must be 0 or 1")
        self.X_, self.y_ = X, y
        self._f_warm = None
        params = [p for p in self.parameters() if p.requires_grad]
        n = y.shape[0]
        history = _optimise(self, lambda: self.log_marginal_likelihood() / n, params, int(steps), lr, optimizer,
                            self.kernel.project_)
        self.history_ = [h * n for h in history]
        with torch.no_grad():
            self.state_ = self._laplace()
        return self

    @torch.no_grad()
    def predict_latent(self, Xq) -> tuple[Tensor, Tensor]:
        """Latent posterior at ``Xq`` ``[m, d]``: (mean ``[m]``, variance ``[m]``), float64."""
        self._check_fitted()
        Xq = _to_tensor(Xq, self._device())
        if Xq.ndim != 2 or Xq.shape[1] != self.X_.shape[1]:
            raise ValueError(f"Xq must be [m, {self.X_.shape[1]}], got {tuple(Xq.shape)}")
        self.state_ = self._laplace()  # current hyperparameters (warm-started, a few Newton steps)
        return laplace_predict(self.state_, self.kernel(Xq, self.X_), self.kernel.diag(Xq))

    @torch.no_grad()
    def predict_proba(self, Xq) -> Tensor:
        """``P(y=1 | x, data) = E_f[p(y=1 | f)]`` at ``Xq`` ``[m, d]`` -> ``[m]`` in (0, 1)."""
        mu, var = self.predict_latent(Xq)
        return probability_summary(mu, var, self.likelihood)[0]

    @torch.no_grad()
    def predict(self, Xq) -> tuple[Tensor, Tensor]:
        """(``P(y=1)`` ``[m]``, latent standard deviation ``[m]``) at ``Xq`` ``[m, d]``."""
        mu, var = self.predict_latent(Xq)
        return probability_summary(mu, var, self.likelihood)[0], var.sqrt()
