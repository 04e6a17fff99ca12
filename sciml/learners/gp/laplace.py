"""Binary GP classification with the Laplace approximation (Rasmussen & Williams 2006, Alg. 3.1 / 3.2).

* :func:`laplace_fit` / :func:`laplace_predict`: functional core (zero prior mean, probit
  or logistic likelihood), differentiable w.r.t. the kernel matrices.
* :func:`predictive_log_prob` and :func:`probability_summary`: the predictive
  probability of a label and summaries of ``p(y=1 | f)`` under the latent posterior.
* :class:`LaplaceGPClassifier`: the model; outputscale and kernel hyperparameters are
  fitted by maximising the Laplace approximation of the log marginal likelihood
  (``steps=0`` keeps the initial, fixed values).

Everything is computed in float64 on the device of the model's parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from sciml.errors import NotFittedError
from sciml.learners.base import state_entry
from sciml.learners.gp.exact import (check_query, check_training_set, cholesky_jitter, load_training_state, maximise,
                                     training_state)
from sciml.learners.gp.kernels import gp_kernel, log_param, to_tensor
from sciml.learners.gp.mean import column_mean, project_mean_scale_
from sciml.losses import LOG_2PI

__all__ = ["Likelihood", "LaplaceState", "laplace_fit", "laplace_predict", "predictive_log_prob",
           "probability_summary", "LaplaceGPClassifier"]

Likelihood = Literal["probit", "logistic"]


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
        ratio = torch.exp(-0.5 * f * f - 0.5 * LOG_2PI - logp)  # N(f) / Phi(y f)
        grad = y * ratio
        W = ratio * ratio + yf * ratio
    else:
        raise ValueError(f"likelihood must be 'probit' or 'logistic', got {likelihood!r}")
    return logp, grad, W.clamp_min(1e-12)


def _newton_step(K: Tensor, f: Tensor, y: Tensor, likelihood: str, m: Tensor | float = 0.0
                 ) -> tuple[Tensor, Tensor]:
    """One Newton step of R&W Alg. 3.1 from ``f`` (the deviation from the prior mean ``m``, the likelihood
    read at ``m + f``); returns (f_new ``[n]``, a ``[n]``) with ``f_new = K a``."""
    _, grad, W = _likelihood_terms(m + f, y, likelihood)
    sW = W.sqrt()
    eye = torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
    L, _ = cholesky_jitter(eye + sW[:, None] * K * sW[None, :])
    b = W * f + grad
    c = torch.cholesky_solve((sW * (K @ b)).unsqueeze(-1), L).squeeze(-1)
    a = b - sW * c
    return K @ a, a


def _psi(a: Tensor, f: Tensor, y: Tensor, likelihood: str, m: Tensor | float = 0.0) -> Tensor:
    return -0.5 * (a * f).sum() + _likelihood_terms(m + f, y, likelihood)[0].sum()


@torch.no_grad()
def _laplace_mode(K: Tensor, y: Tensor, likelihood: str, f0: Tensor | None, max_iter: int, tol: float,
                  m: Tensor | float = 0.0) -> Tensor:
    """Posterior mode of the latent deviations from the prior mean ``m`` (Newton with step halving); ``[n]``."""
    n = K.shape[0]
    f = torch.zeros(n, dtype=K.dtype, device=K.device)
    a = torch.zeros_like(f)
    psi = _psi(a, f, y, likelihood, m)
    if f0 is not None:  # warm start: the first Newton step from f0 is always accepted
        f = f0.detach().to(K).clone()
        psi = torch.tensor(-math.inf, dtype=K.dtype, device=K.device)
    for _ in range(max_iter):
        f_new, a_new = _newton_step(K, f, y, likelihood, m)
        psi_new = _psi(a_new, f_new, y, likelihood, m)
        halvings = 0
        while bool(torch.isfinite(psi)) and psi_new < psi - 1e-10 * (1.0 + psi.abs()) and halvings < 10:  # rarely needed (log-concave)
            a_new = 0.5 * (a + a_new)
            f_new = K @ a_new
            psi_new = _psi(a_new, f_new, y, likelihood, m)
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
        Posterior mode of the latent function's deviation from its prior mean (the latent
        function itself for a zero mean).
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
                max_iter: int = 50, tol: float = 1e-9, mean: Tensor | float = 0.0) -> LaplaceState:
    """Laplace approximation of a GP classifier on training labels (prior mean ``mean``, zero by default).

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
    mean : Tensor ``[n]`` or float, default 0
        Prior mean of the latent function at the training inputs: ``f = mean + g`` with
        ``g ~ N(0, K)``; the state's ``f`` is the mode of ``g`` (differentiable in ``mean``).

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
    m = mean.to(K) if isinstance(mean, Tensor) else float(mean)
    f_hat = _laplace_mode(K.detach(), y, likelihood, f0, max_iter, tol, m.detach() if isinstance(m, Tensor) else m)
    f, a = _newton_step(K, f_hat, y, likelihood, m)
    logp, grad, W = _likelihood_terms(m + f, y, likelihood)
    sW = W.sqrt()
    eye = torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
    L, _ = cholesky_jitter(eye + sW[:, None] * K * sW[None, :])
    lml = -0.5 * (a * f).sum() + logp.sum() - L.diagonal().log().sum()
    return LaplaceState(f=f, grad=grad, sqrt_w=sW, L=L, log_marginal=lml, likelihood=likelihood)


def laplace_predict(state: LaplaceState, K_qs: Tensor, k_qq: Tensor, mean_q: Tensor | float = 0.0
                    ) -> tuple[Tensor, Tensor]:
    """Latent predictive mean and variance at query points (R&W Alg. 3.2, lines 4-6).

    Shapes: K_qs ``[m, n]`` (query-by-train prior covariance), k_qq ``[m]``, ``mean_q`` the prior
    mean at the queries (``[m]`` or scalar, that of the fit's ``mean``) -> (mean ``[m]``,
    variance ``[m]``, clamped at 0). Turn them into probabilities with
    :func:`probability_summary` or :func:`predictive_log_prob`.
    """
    mu = mean_q + K_qs @ state.grad
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


class LaplaceGPClassifier(nn.Module):
    """Binary GP classifier with the Laplace approximation (R&W 2006, Alg. 3.1 / 3.2).

    Latent ``f ~ GP(0, outputscale * k(x, x'))``, ``p(y=1 | f) = Phi(f)`` (probit) or
    ``sigmoid(f)`` (logistic). The prior mean is zero (or a scaled score column, see
    ``mean_column``), so far from the training data the predicted probability returns to 0.5
    (to the score's probability).

    Hyperparameters: :meth:`fit` maximises the Laplace approximation of the log
    marginal likelihood (:attr:`LaplaceState.log_marginal`, exact first-order gradients
    through the mode, see :func:`laplace_fit`) over the outputscale and kernel
    hyperparameters, for ``steps`` Adam steps starting from the given values; with
    ``steps=0`` (or all ``learn_*`` False) the initial values are used as fixed
    hyperparameters.

    Parameters
    ----------
    kernel, kernel_params, outputscale, learn_outputscale, learn_kernel_params
        As in :class:`~sciml.learners.gp.exact.ExactGP`.
    likelihood : {"probit", "logistic"}, default "probit"
    outputscale_bounds : (float, float), default (1e-2, 1e2)
        Bounds of the latent signal variance (on separable data the approximate marginal
        likelihood may keep growing with the outputscale; the bound caps it).
    max_newton, tol
        Newton iterations for the mode.
    mean_column : bool, default False
        The last column of ``X`` is a prior-mean score ``h(x)`` (latent units), not an input
        of the kernel (give a :class:`~sciml.learners.gp.kernels.BlockSumKernel`): the latent
        prior mean becomes ``mean_scale * h(x)``, ``mean_scale`` (initially 1) fitted with
        the other hyperparameters, so each support set decides how far to trust the score.

    Attributes (after :meth:`fit`)
    ----------
    X_ : Tensor ``[n, d]``; y_ : Tensor ``[n]`` labels in {0, 1};
    state_ : LaplaceState; history_ : list of float (approximate log marginal likelihood).
    """

    def __init__(self, kernel="rbf", kernel_params: Mapping | None = None, *, outputscale: float = 1.0,
                 likelihood: Likelihood = "probit", learn_outputscale: bool = True,
                 learn_kernel_params: bool = True, outputscale_bounds: tuple[float, float] = (1e-2, 1e2),
                 kernel_param_bounds: tuple[float, float] = (1e-3, 1e3), max_newton: int = 50,
                 tol: float = 1e-9, mean_column: bool = False):
        super().__init__()
        if likelihood not in ("probit", "logistic"):
            raise ValueError(f"likelihood must be 'probit' or 'logistic', got {likelihood!r}")
        self.kernel = gp_kernel(kernel, kernel_params, outputscale, learn_outputscale, learn_kernel_params,
                                outputscale_bounds, kernel_param_bounds)
        self.likelihood = likelihood
        self.max_newton = int(max_newton)
        self.tol = float(tol)
        self.mean_column = bool(mean_column)
        self.log_mean_scale = log_param(1.0, "mean_scale", True) if self.mean_column else None

    def prior_mean(self, X: Tensor) -> Tensor | float:
        """Latent prior mean at ``X`` ``[n, d]``: ``mean_scale * X[:, -1]`` ``[n]`` with ``mean_column``, else 0."""
        return column_mean(X, self.log_mean_scale) if self.mean_column else 0.0

    def _project(self) -> None:
        self.kernel.project_()
        project_mean_scale_(self.log_mean_scale)

    def _device(self) -> torch.device:
        return self.kernel.log_outputscale.device

    def _check_fitted(self) -> None:
        if not hasattr(self, "X_"):
            raise NotFittedError.for_object(self, "fit(X, y)")

    def _laplace(self) -> LaplaceState:
        f0 = getattr(self, "_f_warm", None)
        state = laplace_fit(self.kernel(self.X_), self.y_, self.likelihood, f0=f0, max_iter=self.max_newton,
                            tol=self.tol, mean=self.prior_mean(self.X_))
        self._f_warm = state.f.detach()
        return state

    def log_marginal_likelihood(self) -> Tensor:
        """Laplace approximation of ``log p(y | X)`` under the current hyperparameters (differentiable)."""
        self._check_fitted()
        return self._laplace().log_marginal

    def fit(self, X, y, steps: int = 50, lr: float = 0.05, optimizer: Literal["adam", "lbfgs"] = "adam"
            ) -> "LaplaceGPClassifier":
        """Fit on ``X`` ``[n, d]`` and labels ``y`` ``[n]`` in {0, 1} (see the class notes on hyperparameters)."""
        X, y = check_training_set(X, y, self._device())
        if not bool(((y == 0) | (y == 1)).all()):
            raise ValueError("classification labels must be 0 or 1")
        self.X_, self.y_ = X, y
        self._f_warm = None
        params = [p for p in self.parameters() if p.requires_grad]
        n = y.shape[0]
        history = maximise(lambda: self.log_marginal_likelihood() / n, params, int(steps), lr, optimizer,
                           self._project)
        self.history_ = [h * n for h in history]
        with torch.no_grad():
            self.state_ = self._laplace()
        return self

    @torch.no_grad()
    def predict_latent(self, Xq) -> tuple[Tensor, Tensor]:
        """Latent posterior at ``Xq`` ``[m, d]``: (mean ``[m]``, variance ``[m]``), float64."""
        self._check_fitted()
        Xq = check_query(Xq, self.X_, self._device())
        self.state_ = self._laplace()  # current hyperparameters (warm-started, a few Newton steps)
        return laplace_predict(self.state_, self.kernel(Xq, self.X_), self.kernel.diag(Xq), self.prior_mean(Xq))

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

    # ------------------------------------------------------------------ fitted state
    _STATE_FIELDS = ("f", "grad", "sqrt_w", "L", "log_marginal")

    def fitted_state(self) -> dict[str, Tensor]:
        """What :meth:`predict_latent` reads, as detached tensors (see :meth:`load_fitted_state`).

        ``param.<name>`` for every entry of ``state_dict()`` (fitted hyperparameters),
        ``X`` ``[n, d]``, ``y`` ``[n]`` (labels in {0, 1}) and the Laplace state at the
        mode (``f``, ``grad``, ``sqrt_w`` ``[n]``, ``L`` ``[n, n]``, ``log_marginal``
        scalar); ``f`` is also where the next Newton iterations start.
        """
        self._check_fitted()
        state = training_state(self, self.X_, y=self.y_)
        state.update({k: getattr(self.state_, k).detach() for k in self._STATE_FIELDS})
        return state

    def load_fitted_state(self, state: Mapping[str, Tensor]) -> "LaplaceGPClassifier":
        """Restore a state from :meth:`fitted_state` into this (identically built) classifier; returns ``self``.

        Raises
        ------
        ValueError
            If a key is missing, a hyperparameter's shape differs from this classifier's, or ``X`` and
            the labels are not ``[n, d]`` and ``[n]`` (:func:`load_training_state`).
        """
        dev = self._device()
        self.X_, self.y_ = load_training_state(self, state, "y", dev)
        fields = {k: to_tensor(state_entry(state, k), dev) for k in self._STATE_FIELDS}
        self.state_ = LaplaceState(**fields, likelihood=self.likelihood)
        self._f_warm = self.state_.f
        return self
