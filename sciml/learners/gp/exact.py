"""Exact GP regression: Cholesky with jitter, the Gaussian functional core, hyperparameter fitting, :class:`ExactGP`.

* :func:`cholesky_jitter`: Cholesky factor with jitter escalation.
* :func:`exact_gp_fit` / :func:`exact_gp_predict`: condition a GP with Gaussian noise on
  training targets and predict; differentiable w.r.t. the kernel matrices (and hence
  w.r.t. an encoder that produced the inputs).
* :func:`maximise`: Adam or L-BFGS on a hyperparameter objective, keeping the best
  parameters seen (shared with :mod:`sciml.learners.gp.laplace`).
* :func:`check_training_set`, :func:`check_query`, :func:`training_state`,
  :func:`load_training_state` and :func:`load_params`: the input checks and the
  fitted-state export / import that :class:`ExactGP` and
  :class:`~sciml.learners.gp.laplace.LaplaceGPClassifier` share.
* :class:`ExactGP`: regression model. Hyperparameters (noise, outputscale, kernel
  parameters, constant mean) are fitted by maximising the exact log marginal likelihood
  of the training (support) set; targets are standardised internally with
  :class:`~sciml.learners.base.TargetScaler`.

Everything is computed in float64 on the device of the model's parameters.
"""

from __future__ import annotations

import math
from typing import Callable, Literal, Mapping

import torch
from torch import Tensor, nn

from sciml.errors import NotFittedError
from sciml.learners.base import TargetScaler, state_entry
from sciml.learners.gp.kernels import DTYPE, bounded_exp, check_bounds, gp_kernel, log_param, to_tensor
from sciml.learners.gp.mean import column_mean, project_mean_scale_
from sciml.losses import LOG_2PI

__all__ = ["cholesky_jitter", "exact_gp_fit", "exact_gp_predict", "maximise", "ExactGP"]


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
    lml = -0.5 * (r * alpha).sum() - L.diagonal().log().sum() - 0.5 * n * LOG_2PI
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


def maximise(objective: Callable[[], Tensor], params: list[nn.Parameter], steps: int, lr: float, optimizer: str,
             project: Callable[[], None]) -> list[float]:
    """Maximise the scalar ``objective()`` over ``params`` with Adam (``steps`` steps) or L-BFGS (``steps`` iterations).

    ``project()`` runs after each optimiser step (clamping to bounds). The parameters
    with the best finite value seen are kept, also when a step leaves the numerically
    safe region (``torch.linalg.LinAlgError``). Returns the objective before each step
    and after the last one (one value when ``steps <= 0`` or ``params`` is empty).
    """
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

    Model (on standardised targets ``t = (y - y_mean) / y_scale``,
    :class:`~sciml.learners.base.TargetScaler`: ``y_scale`` is the population standard
    deviation of the training targets, 1 if they are constant):
    ``t = g(x) + eps``, ``g ~ GP(mean, outputscale * k(x, x'))``, ``eps ~ N(0, noise)``.

    Parameters
    ----------
    kernel : {"rbf", "linear", "tanimoto"}, callable, or ScaledKernel
        The covariance function (see :class:`~sciml.learners.gp.kernels.ScaledKernel`).
        A :class:`ScaledKernel` or :class:`SplitSumKernel` instance is used as is (its
        current values are the initial values; ``kernel_params`` / ``outputscale`` /
        bounds arguments are then ignored and ``learn_*`` set its ``requires_grad``).
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
    mean_column : bool, default False
        The last column of ``X`` is a prior-mean score ``h(x)`` (standardised units), not an
        input of the kernel (give a :class:`~sciml.learners.gp.kernels.BlockSumKernel`, which
        reads only its leading blocks): the prior mean becomes ``mean + mean_scale * h(x)``
        with a positive ``mean_scale`` (initially 1) fitted with the other hyperparameters,
        so each training set decides how far to trust the score.

    Attributes (after :meth:`fit`)
    ----------
    X_ : Tensor ``[n, d]``; t_ : Tensor ``[n]`` standardised targets
    scaler_ : TargetScaler
        The target standardisation (``TargetScaler(0, 1)`` with ``standardize=False``);
        ``y_mean_`` and ``y_scale_`` are its ``mean`` and ``std``.
    history_ : list of float
        Log marginal likelihood (standardised units) before each optimiser step and after
        the last one; the hyperparameters with the best value seen are kept.
    """

    def __init__(self, kernel="rbf", kernel_params: Mapping | None = None, *, noise: float = 0.1,
                 outputscale: float = 1.0, mean: float = 0.0, learn_noise: bool = True,
                 learn_outputscale: bool = True, learn_kernel_params: bool = True, learn_mean: bool = True,
                 standardize: bool = True, noise_bounds: tuple[float, float] = (1e-4, 10.0),
                 outputscale_bounds: tuple[float, float] = (1e-3, 1e3),
                 kernel_param_bounds: tuple[float, float] = (1e-3, 1e3), mean_column: bool = False):
        super().__init__()
        self.kernel = gp_kernel(kernel, kernel_params, outputscale, learn_outputscale, learn_kernel_params,
                                outputscale_bounds, kernel_param_bounds)
        self.noise_bounds = check_bounds(noise_bounds, "noise_bounds")
        self.log_noise = log_param(noise, "noise", learn_noise)
        self.mean = nn.Parameter(torch.tensor(float(mean), dtype=DTYPE), requires_grad=learn_mean)
        self.standardize = bool(standardize)
        self.mean_column = bool(mean_column)
        self.log_mean_scale = log_param(1.0, "mean_scale", True) if self.mean_column else None

    def prior_mean(self, X: Tensor) -> Tensor:
        """Prior mean at ``X`` ``[n, d]`` (standardised units): ``mean`` (scalar), plus
        ``mean_scale * X[:, -1]`` ``[n]`` with ``mean_column``."""
        if not self.mean_column:
            return self.mean
        return self.mean + column_mean(X, self.log_mean_scale)

    @property
    def noise(self) -> Tensor:
        """Observation noise variance (standardised units)."""
        return bounded_exp(self.log_noise, self.noise_bounds)

    @property
    def y_mean_(self) -> float:
        return self.scaler_.mean

    @property
    def y_scale_(self) -> float:
        return self.scaler_.std

    def _device(self) -> torch.device:
        return self.log_noise.device

    def _project(self) -> None:
        self.kernel.project_()
        with torch.no_grad():
            self.log_noise.clamp_(math.log(self.noise_bounds[0]), math.log(self.noise_bounds[1]))
        project_mean_scale_(self.log_mean_scale)

    def _check_fitted(self) -> None:
        if not hasattr(self, "X_"):
            raise NotFittedError.for_object(self, "fit(X, y)")

    def log_marginal_likelihood(self) -> Tensor:
        """``log p(t | X)`` of the standardised training targets under the current hyperparameters.

        Differentiable w.r.t. the hyperparameters. In original units it is
        ``this - n * log(y_scale_)``.
        """
        self._check_fitted()
        return exact_gp_fit(self.kernel(self.X_), self.t_, self.noise, self.prior_mean(self.X_))[2]

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
        X, y = check_training_set(X, y, self._device())
        if not bool(torch.isfinite(y).all()):
            raise ValueError("y contains NaN/inf")
        self.scaler_ = TargetScaler.fit(y) if self.standardize else TargetScaler(0.0, 1.0)
        self.X_ = X
        self.t_ = self.scaler_.transform(y)
        params = [p for p in self.parameters() if p.requires_grad]
        n = y.shape[0]
        if self.standardize and not bool((self.t_ != 0).any()):
            steps = 0  # constant targets (or n = 1): the likelihood would shrink every variance to its bound
        history = maximise(lambda: self.log_marginal_likelihood() / n, params, int(steps), lr, optimizer,
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
        Xq = check_query(Xq, self.X_, self._device())
        L, alpha, _ = exact_gp_fit(self.kernel(self.X_), self.t_, self.noise, self.prior_mean(self.X_))  # n is small
        mu, var = exact_gp_predict(L, alpha, self.kernel(Xq, self.X_), self.kernel.diag(Xq), self.prior_mean(Xq))
        if include_noise:
            var = var + self.noise
        return self.scaler_.inverse_mean(mu), var * self.scaler_.std ** 2

    # ------------------------------------------------------------------ fitted state
    def fitted_state(self) -> dict[str, Tensor]:
        """What :meth:`predict` reads, as detached tensors (see :func:`load_fitted_state`).

        ``param.<name>`` for every entry of ``state_dict()`` (fitted hyperparameters),
        ``X`` ``[n, d]``, ``t`` ``[n]`` (standardised targets), ``y_mean`` and ``y_scale``
        (scalars).
        """
        self._check_fitted()
        state = training_state(self, self.X_, t=self.t_)
        state.update(y_mean=torch.tensor(self.scaler_.mean, dtype=DTYPE),
                     y_scale=torch.tensor(self.scaler_.std, dtype=DTYPE))
        return state

    def load_fitted_state(self, state: Mapping[str, Tensor]) -> "ExactGP":
        """Restore a state from :meth:`fitted_state` into this (identically built) GP; returns ``self``.

        Raises
        ------
        ValueError
            If a key is missing, a hyperparameter's shape differs from this GP's, or ``X`` and
            the targets are not ``[n, d]`` and ``[n]`` (:func:`load_training_state`).
        """
        self.X_, self.t_ = load_training_state(self, state, "t", self._device())
        self.scaler_ = TargetScaler(float(state_entry(state, "y_mean")), float(state_entry(state, "y_scale")))
        return self


def check_training_set(X, y, device: torch.device) -> tuple[Tensor, Tensor]:
    """``X`` ``[n, d]`` and ``y`` ``[n]`` (``y`` flattened) as float64 tensors on ``device``.

    Raises
    ------
    ValueError
        Unless ``X`` is 2-D with as many rows as ``y`` has entries, and ``n >= 1``.
    """
    X = to_tensor(X, device)
    y = to_tensor(y, device).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0] or y.shape[0] == 0:
        raise ValueError(f"X must be [n, d] and y [n] with n >= 1, got {tuple(X.shape)} and {tuple(y.shape)}")
    return X, y


def check_query(Xq, X_train: Tensor, device: torch.device) -> Tensor:
    """Query inputs ``Xq`` as a float64 tensor ``[m, d]`` on ``device``, ``d`` the width of ``X_train`` ``[n, d]``.

    Raises
    ------
    ValueError
        If ``Xq`` is not 2-D with ``d`` columns.
    """
    Xq = to_tensor(Xq, device)
    if Xq.ndim != 2 or Xq.shape[1] != X_train.shape[1]:
        raise ValueError(f"Xq must be [m, {X_train.shape[1]}], got {tuple(Xq.shape)}")
    return Xq


def training_state(module: nn.Module, X: Tensor, **targets: Tensor) -> dict[str, Tensor]:
    """The detached ``param.<name>`` entries of ``module.state_dict()``, then ``X`` and the ``targets`` by name."""
    state = {f"param.{k}": v.detach() for k, v in module.state_dict().items()}
    state.update(X=X.detach(), **{k: v.detach() for k, v in targets.items()})
    return state


def load_training_state(module: nn.Module, state: Mapping[str, Tensor], target: str, device: torch.device
                        ) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`training_state`: :func:`load_params` into ``module``, then ``(X [n, d], state[target] [n])``
    as float64 tensors on ``device``.

    Raises
    ------
    ValueError
        If an entry is missing, a hyperparameter's shape differs from ``module``'s, or ``X``
        and the target do not have the shapes ``[n, d]`` and ``[n]``.
    """
    load_params(module, state)
    X = to_tensor(state_entry(state, "X"), device)
    t = to_tensor(state_entry(state, target), device).reshape(-1)
    if X.ndim != 2 or X.shape[0] != t.shape[0]:
        raise ValueError(f"state 'X' must be [n, d] and {target!r} [n], got {tuple(X.shape)} and {tuple(t.shape)}")
    return X, t


def load_params(module: nn.Module, state: Mapping[str, Tensor], prefix: str = "param.") -> None:
    """Copy the ``<prefix><name>`` entries of ``state`` into ``module.state_dict()`` (all of them, same shapes).

    Raises
    ------
    ValueError
        Naming the missing, unexpected or mis-shaped entries.
    """
    own = module.state_dict()
    given = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    missing, extra = sorted(set(own) - set(given)), sorted(set(given) - set(own))
    if missing or extra:
        raise ValueError(f"the fitted state does not match {type(module).__name__}: missing "
                         f"{[prefix + k for k in missing]}, unexpected {[prefix + k for k in extra]}")
    for k, v in given.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(f"the fitted state's {prefix + k!r} has shape {tuple(v.shape)}, "
                             f"{type(module).__name__} expects {tuple(own[k].shape)}")
    module.load_state_dict({k: torch.as_tensor(v) for k, v in given.items()}, strict=True)
