"""The BMAML algorithm on tensors: :class:`BMAMLConfig` and :class:`BMAML` (encoder + SVGD head particles).

A :class:`BMAML` model is a shared encoder (never adapted, as in ANIL) followed by
``M`` *particles*: each particle is one full set of weights of a small MLP head, stored
flattened, so the particles form a tensor ``[M, P]``. The ``M`` initial particles are
meta-learned. For each episode the particles are moved by ``inner_steps`` steps of Stein
variational gradient descent (SVGD, Liu & Wang 2016) on the support set; the
predictive distribution is the *mixture* of the particles' predictive distributions.

SVGD step
---------
With ``log p(theta | D) = sum_{n in D} log p(y_n | x_n, theta) + log p(theta)`` (a true
log-posterior: the log-likelihood is *summed* over the ``|D|`` observations; the prior
is ``N(0, prior_std^2)`` on every head weight, or flat when ``prior_std = inf``)::

    phi(theta_i) = 1/M sum_j [ k(theta_j, theta_i) grad log p(theta_j | D)
                               + grad_{theta_j} k(theta_j, theta_i) ]
    theta_i <- theta_i + (inner_lr / |D|) phi(theta_i)

``k(a, b) = exp(-||a - b||^2 / h)`` (RBF on the flattened weights) with the median
heuristic ``h = med^2 / log(M + 1)``, ``med^2`` the median squared distance between
distinct particles (``h = 1`` when ``M = 1`` or all particles coincide); ``h`` is treated
as a constant (no gradient flows through it). ``inner_lr`` is a *per-example* rate:
dividing by ``|D|`` makes one particle with a flat prior take exactly MAML's step
``theta - inner_lr * grad(mean loss)``, while SVGD still targets the real posterior.

Meta-training objectives (``BMAMLConfig.objective``)
----------------------------------------------------
* ``"chaser"`` (the paper's): chaser = particles after ``inner_steps`` SVGD steps on the
  support; leader = chaser advanced ``chaser_steps`` more SVGD steps on support + query
  (from the detached chaser, no graph kept); loss
  ``sum_i ||chaser_i - stopgrad(leader_i)||^2 / P``.
* ``"nll"``: mean query negative log-likelihood of the particle mixture after adaptation.

Both are differentiable w.r.t. the initial particles and the encoder (through the
support embeddings; for ``"nll"`` also the query embeddings). ``first_order=True``
treats every SVGD direction as a constant (no second derivatives).

Everything is functional: the head template runs with ``torch.func.functional_call``
under ``torch.func.vmap`` over the particle axis; no parameter is edited in place. The
module takes encoder inputs and label tensors and knows nothing about featurization.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from sciml.learners.bmaml.svgd import svgd_step
from sciml.learners.maml.config import LOG_VAR_MAX, LOG_VAR_MIN, LearnerConfig
from sciml.losses import gaussian_log_prob

__all__ = ["BMAMLConfig", "BMAML"]


@dataclass
class BMAMLConfig(LearnerConfig):
    """Hyperparameters of :class:`BMAML` (stored in checkpoints).

    Parameters
    ----------
    n_particles : int, default 5
        Number ``M`` of head particles.
    inner_steps : int, default 5
        SVGD steps on the support per episode (0 = no adaptation).
    inner_lr : float, default 0.05
        Per-example SVGD step size: the step is ``inner_lr / n_observations * phi``.
    bandwidth : "median" or float, default "median"
        RBF bandwidth ``h`` in ``exp(-||a - b||^2 / h)``: the median heuristic or a fixed value.
    head_hidden : int, default 128
        Hidden width of the head MLP (``Linear - ReLU - Linear``); 0 = one linear layer.
    task : {"classification", "regression"}, default "classification"
        One logit (Bernoulli likelihood) or mean and log-variance (Gaussian likelihood).
    chaser_steps : int, default 1
        Extra SVGD steps on support + query that turn the chaser into the leader.
    first_order : bool, default False
        Treat the SVGD directions as constants in the meta-gradient.
    prior_std : float, default 1.0
        Standard deviation of the zero-mean Gaussian prior on every head weight, in
        weight units (embeddings are O(1), so 1.0 is a weak prior relative to the
        default ``1/sqrt(fan_in)`` initialisation scale); ``math.inf`` = flat prior.
    objective : {"chaser", "nll"}, default "chaser"
        What :meth:`BMAML.episode_loss` returns.
    normalize : bool, default True
        L2-normalise embeddings before the particle heads (keeps SVGD steps of a fixed
        size well scaled whatever the encoder's output norm).
    """

    n_particles: int = 5
    inner_steps: int = 5
    inner_lr: float = 0.05
    bandwidth: str | float = "median"
    head_hidden: int = 128
    task: Literal["classification", "regression"] = "classification"
    chaser_steps: int = 1
    first_order: bool = False
    prior_std: float = 1.0
    objective: Literal["chaser", "nll"] = "chaser"
    normalize: bool = True

    def __post_init__(self) -> None:
        if int(self.n_particles) < 1:
            raise ValueError(f"n_particles must be >= 1, got {self.n_particles}")
        if int(self.inner_steps) < 0:
            raise ValueError(f"inner_steps must be >= 0, got {self.inner_steps}")
        if int(self.chaser_steps) < 0:
            raise ValueError(f"chaser_steps must be >= 0, got {self.chaser_steps}")
        if not self.inner_lr > 0:
            raise ValueError(f"inner_lr must be > 0, got {self.inner_lr}")
        if int(self.head_hidden) < 0:
            raise ValueError(f"head_hidden must be >= 0, got {self.head_hidden}")
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if self.objective not in ("chaser", "nll"):
            raise ValueError(f"objective must be 'chaser' or 'nll', got {self.objective!r}")
        if not (isinstance(self.prior_std, (int, float)) and self.prior_std > 0):
            raise ValueError(f"prior_std must be > 0 (math.inf for a flat prior), got {self.prior_std!r}")
        if isinstance(self.bandwidth, str):
            if self.bandwidth != "median":
                raise ValueError(f"bandwidth must be 'median' or a positive float, got {self.bandwidth!r}")
        elif not (isinstance(self.bandwidth, (int, float)) and self.bandwidth > 0):
            raise ValueError(f"bandwidth must be 'median' or a positive float, got {self.bandwidth!r}")


class BMAML(nn.Module):
    """Shared encoder + ``M`` meta-learned head particles adapted by SVGD (see the module docstring).

    Parameters
    ----------
    encoder : nn.Module
        Maps inputs (PyG ``Batch`` of ``n`` graphs or a tensor ``[n, ...]``) to ``[n, d]``;
        ``d = encoder.out_dim`` unless ``embed_dim`` is given.
    config : BMAMLConfig, optional
    embed_dim : int, optional
        For encoders without ``out_dim``.

    Attributes
    ----------
    encoder : nn.Module
    init_particles : nn.Parameter ``[M, P]``
        Meta-learned initial particles; row ``i`` is head ``i``'s weights flattened in the
        order of :attr:`param_shapes` (each row initialised like a fresh PyTorch head).
    param_shapes : list of (name, shape)
        Layout of a flattened particle (names of the head template, e.g. ``"0.weight"``).
    """

    def __init__(self, encoder: nn.Module, config: BMAMLConfig | None = None, *, embed_dim: int | None = None):
        super().__init__()
        self.config = c = config if config is not None else BMAMLConfig()
        d = embed_dim if embed_dim is not None else getattr(encoder, "out_dim", None)
        if d is None:
            raise ValueError("the encoder has no out_dim attribute: pass embed_dim")
        self.embed_dim = int(d)
        self.encoder = encoder
        heads = [self._make_head() for _ in range(int(c.n_particles))]
        # The template only supplies the architecture to functional_call: kept out of
        # parameters() / state_dict() so that it is never trained or saved.
        self.__dict__["_head_template"] = heads[0]
        self.param_shapes: list[tuple[str, tuple[int, ...]]] = [(n, tuple(p.shape))
                                                                for n, p in heads[0].named_parameters()]
        self.init_particles = nn.Parameter(self._flatten_heads(heads))

    @staticmethod
    def _flatten_heads(heads: list[nn.Module]) -> Tensor:
        """Heads -> particles ``[M, P]`` (each head's weights flattened in parameter order)."""
        return torch.stack([torch.cat([p.detach().reshape(-1) for p in h.parameters()]) for h in heads])

    def reset_parameters(self) -> None:
        """Re-initialise the encoder (when it has ``reset_parameters``) and draw fresh initial particles."""
        if hasattr(self.encoder, "reset_parameters"):
            self.encoder.reset_parameters()
        heads = [self._make_head() for _ in range(self.n_particles)]
        with torch.no_grad():
            self.init_particles.copy_(self._flatten_heads(heads))

    def __repr__(self) -> str:
        c = self.config
        return (f"{type(self).__name__}({self.encoder!r}, embed_dim={self.embed_dim}, task={c.task!r}, "
                f"n_particles={c.n_particles}, inner_steps={c.inner_steps}, inner_lr={c.inner_lr}, "
                f"objective={c.objective!r}, head_hidden={c.head_hidden})")

    def _make_head(self) -> nn.Module:
        c = self.config
        if c.head_hidden > 0:
            return nn.Sequential(nn.Linear(self.embed_dim, c.head_hidden), nn.ReLU(),
                                 nn.Linear(c.head_hidden, self.n_out))
        return nn.Sequential(nn.Linear(self.embed_dim, self.n_out))

    # ------------------------------------------------------------------------- basics
    @property
    def n_out(self) -> int:
        return 1 if self.config.task == "classification" else 2

    @property
    def n_particles(self) -> int:
        return self.init_particles.shape[0]

    @property
    def n_params(self) -> int:
        """``P``, the number of weights of one head particle."""
        return self.init_particles.shape[1]

    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """Particles ``[M, P]`` -> dict of head weights, each ``[M, *shape]`` (views)."""
        out, i = {}, 0
        for name, shape in self.param_shapes:
            n = math.prod(shape)
            out[name] = theta[:, i : i + n].reshape(theta.shape[0], *shape)
            i += n
        return out

    def head_outputs(self, emb: Tensor, theta: Tensor) -> Tensor:
        """Every particle's head on the same embeddings: emb ``[n, d]``, theta ``[M, P]`` -> ``[M, n, n_out]``."""
        template = self._head_template
        emb = emb.to(theta.dtype)
        if self.config.normalize:
            emb = nn.functional.normalize(emb, dim=-1)
        return vmap(lambda p: functional_call(template, p, (emb,)))(self.unflatten(theta))

    def forward(self, inputs) -> Tensor:
        """Unadapted particles on ``inputs`` of ``n`` items -> ``[M, n, n_out]``."""
        return self.head_outputs(self.encoder(inputs), self.init_particles)

    # ------------------------------------------------------------------ log posterior
    def log_likelihood(self, outputs: Tensor, y: Tensor) -> Tensor:
        """Per-particle log-likelihood summed over the rows: outputs ``[M, n, n_out]``, y ``[n]`` -> ``[M]``."""
        y = y.to(device=outputs.device, dtype=outputs.dtype).reshape(1, -1)
        if self.config.task == "classification":
            return -nn.functional.binary_cross_entropy_with_logits(
                outputs[..., 0], y.expand_as(outputs[..., 0]), reduction="none").sum(-1)
        mu, log_var = outputs[..., 0], outputs[..., 1].clamp(LOG_VAR_MIN, LOG_VAR_MAX)
        return gaussian_log_prob(y, mu, log_var=log_var).sum(-1)

    def log_prior(self, theta: Tensor) -> Tensor:
        """``log N(theta; 0, prior_std^2 I)`` up to a constant, ``[M, P]`` -> ``[M]`` (0 for a flat prior)."""
        s = float(self.config.prior_std)
        if math.isinf(s):
            return theta.sum(-1) * 0.0
        return -0.5 * theta.pow(2).sum(-1) / (s * s)

    def log_posterior(self, theta: Tensor, emb: Tensor, y: Tensor) -> Tensor:
        """Unnormalised ``log p(theta_i | (emb, y))`` for each particle: ``[M, P]`` -> ``[M]``."""
        return self.log_likelihood(self.head_outputs(emb, theta), y) + self.log_prior(theta)

    # ------------------------------------------------------------------------- SVGD
    def svgd(self, theta: Tensor, emb: Tensor, y: Tensor, steps: int, create_graph: bool) -> Tensor:
        """``steps`` SVGD steps with step size ``inner_lr / len(y)`` on the posterior given ``(emb, y)``."""
        lr = self.config.inner_lr / max(int(y.numel()), 1)
        for _ in range(int(steps)):
            theta = svgd_step(theta, lambda th: self.log_posterior(th, emb, y), lr, self.config.bandwidth,
                              create_graph=create_graph)
        return theta

    def adapt(self, support_emb: Tensor, support_y: Tensor, *, steps: int | None = None,
              create_graph: bool | None = None, detach: bool = False, theta: Tensor | None = None) -> Tensor:
        """Particles after SVGD on support embeddings.

        Parameters
        ----------
        support_emb : Tensor ``[n_support, d]``
        support_y : Tensor ``[n_support]``
        steps : int, optional
            SVGD steps (default ``config.inner_steps``).
        create_graph : bool, optional
            Differentiate through the SVGD directions (default ``not config.first_order``).
        detach : bool, default False
            Start from detached particles and embeddings (test time; no meta-gradient).
        theta : Tensor ``[M, P]``, optional
            Starting particles (default :attr:`init_particles`).

        Returns
        -------
        Tensor ``[M, P]``
        """
        steps = self.config.inner_steps if steps is None else int(steps)
        create_graph = (not self.config.first_order) if create_graph is None else create_graph
        theta = self.init_particles if theta is None else theta
        if detach:
            theta, support_emb, create_graph = theta.detach(), support_emb.detach(), False
        support_y = support_y.to(device=theta.device, dtype=theta.dtype)
        return self.svgd(theta, support_emb, support_y, steps, create_graph)

    # --------------------------------------------------------------------- episodes
    def _split(self, batch, n_support: int) -> tuple[Tensor, Tensor]:
        emb = self.encoder(batch)
        return emb[:n_support], emb[n_support:]

    def chaser_leader(self, support_emb: Tensor, support_y: Tensor, query_emb: Tensor,
                      query_y: Tensor) -> tuple[Tensor, Tensor]:
        """(chaser ``[M, P]`` differentiable, leader ``[M, P]`` detached) for one episode."""
        chaser = self.adapt(support_emb, support_y)
        emb = torch.cat([support_emb, query_emb]).detach()
        y = torch.cat([support_y.reshape(-1), query_y.reshape(-1)]).to(device=chaser.device, dtype=chaser.dtype)
        leader = self.svgd(chaser.detach(), emb, y, self.config.chaser_steps, create_graph=False)
        return chaser, leader.detach()

    def episode_chaser_loss(self, batch, n_support: int, support_y: Tensor, query_y: Tensor) -> Tensor:
        """``sum_i ||chaser_i - stopgrad(leader_i)||^2 / P`` (scalar)."""
        s_emb, q_emb = self._split(batch, n_support)
        chaser, leader = self.chaser_leader(s_emb, support_y, q_emb, query_y)
        return (chaser - leader).pow(2).sum() / self.n_params

    def mixture_nll(self, outputs: Tensor, y: Tensor) -> Tensor:
        """Mean NLL of ``y`` ``[n]`` under the equal-weight particle mixture ``outputs`` ``[M, n, n_out]``."""
        m = outputs.shape[0]
        y = y.to(device=outputs.device, dtype=outputs.dtype).reshape(1, -1)
        if self.config.task == "classification":
            logit = outputs[..., 0]
            log_p1 = torch.logsumexp(nn.functional.logsigmoid(logit), 0) - math.log(m)
            log_p0 = torch.logsumexp(nn.functional.logsigmoid(-logit), 0) - math.log(m)
            y = y[0]
            return -(y * log_p1 + (1 - y) * log_p0).mean()
        mu, log_var = outputs[..., 0], outputs[..., 1].clamp(LOG_VAR_MIN, LOG_VAR_MAX)
        log_comp = gaussian_log_prob(y, mu, log_var=log_var)  # [M, n]
        return -(torch.logsumexp(log_comp, 0) - math.log(m)).mean()

    def episode_nll(self, batch, n_support: int, support_y: Tensor, query_y: Tensor) -> Tensor:
        """Query NLL of the particle mixture after SVGD on the support (scalar, differentiable)."""
        s_emb, q_emb = self._split(batch, n_support)
        theta = self.adapt(s_emb, support_y)
        return self.mixture_nll(self.head_outputs(q_emb, theta), query_y)

    def episode_loss(self, batch, n_support: int, support_y: Tensor, query_y: Tensor) -> Tensor:
        """Meta-training loss of one episode (:meth:`episode_chaser_loss` or :meth:`episode_nll`, per ``objective``).

        ``batch``: PyG Batch (or Tensor) of ``n_support + n_query`` items, support first;
        the encoder runs once on all of them (module's mode).
        """
        if self.config.objective == "nll":
            return self.episode_nll(batch, n_support, support_y, query_y)
        return self.episode_chaser_loss(batch, n_support, support_y, query_y)
