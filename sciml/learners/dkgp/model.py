"""The deep-kernel GP model: encoder, kernel hyperparameters and optional prior-mean head (see :mod:`sciml.learners.dkgp`)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from sciml.learners.base import TargetScaler
from sciml.learners.gp.exact import exact_gp_fit, exact_gp_predict
from sciml.learners.gp.kernels import (DTYPE, KERNELS, BlockSumKernel, ScaledKernel, SplitSumKernel, bounded_exp,
                                       check_bounds, log_param)
from sciml.learners.gp.laplace import laplace_fit, laplace_predict, predictive_log_prob
from sciml.losses import gaussian_log_prob

__all__ = ["DeepKernelGP"]


class DeepKernelGP(nn.Module):
    """Encoder + GP kernel hyperparameters, meta-trained episodically.

    Parameters
    ----------
    encoder : nn.Module
        Maps a batch (PyG ``Batch`` of ``n`` graphs, or any input it accepts) to
        ``[n, d]``; it is only ever called as ``self.encoder(batch)``.
    task : {"classification", "regression"}, default "classification"
    kernel : {"rbf", "linear"}, default "rbf"
        Base kernel on embeddings (a name, so that checkpoints can rebuild it).
    normalize : bool, default True
        L2-normalise embeddings before the kernel (in training and in
        :meth:`DeepKernelGPLearner.featurize`).
    objective : {"predictive", "marginal"}, default "predictive"
        Meta-training loss, see the module docstring.
    likelihood : {"probit", "logistic"}, default "probit"
        Classification likelihood.
    lengthscale : float, default 1.0
        Initial RBF lengthscale (squared distances of normalised embeddings lie in [0, 4]).
    ard : bool, default False
        One RBF lengthscale per embedding dimension.
    outputscale : float, default 1.0
        Initial signal variance.
    noise : float, default 0.1
        Initial noise variance (regression; standardised units).
    embed_dim : int, optional
        ``d`` for encoders without an ``out_dim`` attribute (needed with ``ard`` or
        ``fingerprint_kernel``).
    fingerprint_kernel : bool, default False
        Add a Tanimoto kernel on the featurizer's graph-level Morgan fingerprint
        (``batch.gfeat``, so the featurizer needs ``fingerprint_bits > 0``) to the kernel on
        the embedding (:class:`~sciml.learners.gp.SplitSumKernel`); both outputscales are
        meta-learned and refitted per support set. Features are then
        ``[embedding | fingerprint]``.
    minimol_kernel : bool, default False
        Add an RBF kernel on the L2-normalised frozen MiniMol embedding ``batch.mfeat``
        (the featurizer needs ``minimol=True``); see the module docstring.
    prior_mean : bool, default False
        Meta-learn a linear prior-mean head on the embedding; see the module docstring.
    fingerprint_dim, minimol_dim : int, optional
        Widths of ``gfeat`` and ``mfeat`` (default: the encoder's ``config.gfeat_dim`` /
        ``config.mfeat_dim``); needed when ``minimol_kernel`` or ``prior_mean`` is set
        together with the other kernels, as the block kernel must know its column blocks.

    Attributes
    ----------
    encoder : nn.Module
    kernel : ScaledKernel
        float64 hyperparameters ``log_outputscale`` and ``log_params`` (``lengthscale``).
    log_noise : nn.Parameter or None
        float64 log noise variance (regression only).

    Notes
    -----
    GP algebra runs in float64 (embeddings are cast; gradients flow through the cast),
    so the model holds float64 parameters next to the encoder's float32 ones: do not
    call ``.float()`` / ``.half()`` on it.
    """

    def __init__(self, encoder: nn.Module, task: Literal["classification", "regression"] = "classification",
                 kernel: Literal["rbf", "linear"] = "rbf", *, normalize: bool = True,
                 objective: Literal["predictive", "marginal"] = "predictive",
                 likelihood: Literal["probit", "logistic"] = "probit", lengthscale: float = 1.0, ard: bool = False,
                 outputscale: float = 1.0, noise: float = 0.1, embed_dim: int | None = None,
                 noise_bounds: tuple[float, float] = (1e-4, 10.0), fingerprint_kernel: bool = False,
                 minimol_kernel: bool = False, prior_mean: bool = False, fingerprint_dim: int | None = None,
                 minimol_dim: int | None = None):
        super().__init__()
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        if not isinstance(kernel, str) or kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
        if objective not in ("predictive", "marginal"):
            raise ValueError(f"objective must be 'predictive' or 'marginal', got {objective!r}")
        if likelihood not in ("probit", "logistic"):
            raise ValueError(f"likelihood must be 'probit' or 'logistic', got {likelihood!r}")
        d = embed_dim if embed_dim is not None else getattr(encoder, "out_dim", None)
        if (ard or fingerprint_kernel or minimol_kernel or prior_mean) and d is None:
            raise ValueError("ard / fingerprint_kernel / minimol_kernel / prior_mean need the embedding width: give "
                             "the encoder an out_dim or pass embed_dim")
        self.encoder = encoder
        self.task = task
        self.kernel_name = kernel
        self.normalize = bool(normalize)
        self.objective = objective
        self.likelihood = likelihood
        self.ard = bool(ard)
        self.embed_dim = None if d is None else int(d)
        self._init = {"lengthscale": float(lengthscale), "outputscale": float(outputscale), "noise": float(noise)}
        self.fingerprint_kernel = bool(fingerprint_kernel)
        self.minimol_kernel = bool(minimol_kernel)
        self.prior_mean = bool(prior_mean)
        enc_cfg = getattr(encoder, "config", None)
        self.fingerprint_dim = int(fingerprint_dim if fingerprint_dim is not None else getattr(enc_cfg, "gfeat_dim", 0))
        self.minimol_dim = int(minimol_dim if minimol_dim is not None else getattr(enc_cfg, "mfeat_dim", 0))
        if self.blocks and self.fingerprint_kernel and self.fingerprint_dim <= 0:
            raise ValueError("fingerprint_kernel with minimol_kernel / prior_mean needs fingerprint_dim > 0 (an encoder "
                             "whose config.gfeat_dim is the fingerprint width, or pass fingerprint_dim)")
        if self.minimol_kernel and self.minimol_dim <= 0:
            raise ValueError("minimol_kernel needs minimol_dim > 0 (an encoder whose config.mfeat_dim is the MiniMol "
                             "width, or pass minimol_dim)")
        #: Prior-mean head ``[d] -> [1]``, zero at initialisation (the zero-mean GP).
        self.mean_head = nn.Linear(self.embed_dim, 1) if self.prior_mean else None
        if self.mean_head is not None:
            nn.init.zeros_(self.mean_head.weight)
            nn.init.zeros_(self.mean_head.bias)
        self.kernel = self._make_kernel()
        self.noise_bounds = check_bounds(noise_bounds, "noise_bounds")
        self.log_noise = log_param(noise, "noise", True) if task == "regression" else None

    @property
    def blocks(self) -> bool:
        """Whether the kernel is a :class:`BlockSumKernel` (MiniMol kernel or prior-mean column); a fingerprint
        kernel alone keeps the two-part :class:`SplitSumKernel` of earlier checkpoints."""
        return self.minimol_kernel or self.prior_mean

    def _make_kernel(self) -> ScaledKernel | SplitSumKernel | BlockSumKernel:
        """The kernel at its initial hyperparameters."""
        ls, outputscale = self._init["lengthscale"], self._init["outputscale"]
        params = {}
        if self.kernel_name == "rbf":
            params["lengthscale"] = torch.full((self.embed_dim,), ls) if self.ard else ls
        kernel = ScaledKernel(self.kernel_name, params, outputscale)
        if not self.blocks:
            if self.fingerprint_kernel:
                kernel = SplitSumKernel(kernel, ScaledKernel("tanimoto", {}, outputscale), self.embed_dim)
            return kernel
        parts, widths = [kernel], [self.embed_dim]
        if self.minimol_kernel:
            parts.append(ScaledKernel("rbf", {"lengthscale": 1.0}, outputscale))
            widths.append(self.minimol_dim)
        if self.fingerprint_kernel:
            parts.append(ScaledKernel("tanimoto", {}, outputscale))
            widths.append(self.fingerprint_dim)
        return BlockSumKernel(parts, widths)

    def reset_parameters(self) -> None:
        """Encoder weights (when it has ``reset_parameters``) and GP hyperparameters back to their initial values."""
        if hasattr(self.encoder, "reset_parameters"):
            self.encoder.reset_parameters()
        with torch.no_grad():
            for p, init in zip(self.kernel.parameters(), self._make_kernel().parameters()):
                p.copy_(init)
            if self.log_noise is not None:
                self.log_noise.fill_(math.log(self._init["noise"]))
            if self.mean_head is not None:
                self.mean_head.weight.zero_()
                self.mean_head.bias.zero_()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.encoder!r}, task={self.task!r}, kernel={self.kernel_name!r}, "
                f"objective={self.objective!r}, fingerprint_kernel={self.fingerprint_kernel}, "
                f"minimol_kernel={self.minimol_kernel}, prior_mean={self.prior_mean})")

    def config(self) -> dict:
        """Constructor arguments (JSON-serialisable, without the encoder) for checkpoints."""
        return {"task": self.task, "kernel": self.kernel_name, "normalize": self.normalize,
                "objective": self.objective, "likelihood": self.likelihood, "ard": self.ard,
                "embed_dim": self.embed_dim, "noise_bounds": list(self.noise_bounds),
                "fingerprint_kernel": self.fingerprint_kernel, "minimol_kernel": self.minimol_kernel,
                "prior_mean": self.prior_mean, "fingerprint_dim": self.fingerprint_dim, "minimol_dim": self.minimol_dim,
                **self._init}

    @property
    def noise(self) -> Tensor:
        """Noise variance (regression; standardised units)."""
        if self.log_noise is None:
            raise AttributeError("classification models have no noise variance")
        return bounded_exp(self.log_noise, self.noise_bounds)

    def embed(self, batch) -> Tensor:
        """The GP's features of a batch, in the encoder's dtype.

        ``self.encoder(batch)`` ``[n, d]`` (L2-normalised if ``normalize``), then as configured
        the L2-normalised ``batch.mfeat`` ``[n, minimol_dim]`` (``minimol_kernel``), ``batch.gfeat``
        ``[n, f]`` (``fingerprint_kernel``) and the prior-mean score ``[n, 1]`` (``prior_mean``).
        """
        emb = self.encoder(batch)
        emb = nn.functional.normalize(emb, dim=-1) if self.normalize else emb
        mfeat = gfeat = None
        if self.minimol_kernel:
            mfeat = getattr(batch, "mfeat", None)
            if mfeat is None:
                raise ValueError("minimol_kernel=True needs graphs with a MiniMol embedding (featurizer minimol=True)")
            mfeat = nn.functional.normalize(mfeat.to(emb.dtype), dim=-1)
        if self.fingerprint_kernel:
            gfeat = getattr(batch, "gfeat", None)
            if gfeat is None:
                raise ValueError("fingerprint_kernel=True needs graphs with a fingerprint (featurizer "
                                 "fingerprint_bits > 0)")
            gfeat = gfeat.to(emb.dtype)
        return self.assemble(emb, mfeat, gfeat)

    def assemble(self, emb: Tensor, mfeat: Tensor | None, gfeat: Tensor | None) -> Tensor:
        """``[emb | mfeat | gfeat | h(emb)]`` with the parts this model uses (``emb`` already normalised)."""
        cols = [emb] + [x for x in (mfeat, gfeat) if x is not None]
        if self.mean_head is not None:
            cols.append(self.mean_head(emb))
        return torch.cat(cols, dim=-1) if len(cols) > 1 else emb

    forward = embed

    def episode_loss(self, batch, n_support: int, support_y: Tensor, query_y: Tensor) -> Tensor:
        """Meta-training loss of one episode whose ``batch`` holds the support items first, then the query.

        Parameters
        ----------
        batch : input of ``n_support + n_query`` items for ``self.encoder``
        n_support : int
        support_y : Tensor ``[n_support]``
            0/1 labels (classification) or real targets (regression).
        query_y : Tensor ``[n_query]``

        Returns
        -------
        Tensor (scalar, the embeddings' dtype)
            ``objective="predictive"``: mean query negative log predictive likelihood
            given the support (regression: in support-standardised units, i.e. the NLL of
            the original targets minus ``log std(support_y)``, a constant);
            ``"marginal"``: negative log marginal likelihood of support + query labels
            per label. Differentiable w.r.t. the encoder and the hyperparameters.
        """
        emb = self.embed(batch)
        z = emb.to(DTYPE)
        ys = support_y.to(device=z.device, dtype=DTYPE).reshape(-1)
        yq = query_y.to(device=z.device, dtype=DTYPE).reshape(-1)
        n = int(n_support)
        if z.shape[0] != n + yq.numel() or ys.numel() != n:
            raise ValueError(f"batch has {z.shape[0]} items but n_support={n}, {ys.numel()} support labels and "
                             f"{yq.numel()} query labels")
        zs, zq = z[:n], z[n:]
        m = z[:, -1] if self.prior_mean else torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        if self.objective == "marginal":
            y_all = torch.cat([ys, yq])
            if self.task == "regression":
                lml = exact_gp_fit(self.kernel(z), TargetScaler.fit(y_all).transform(y_all), self.noise, m)[2]
            else:
                lml = laplace_fit(self.kernel(z), y_all, self.likelihood, mean=m).log_marginal
            return (-lml / y_all.numel()).to(emb.dtype)
        if self.task == "regression":
            scaler = TargetScaler.fit(ys)
            ts, tq = scaler.transform(ys), scaler.transform(yq)
            L, alpha, _ = exact_gp_fit(self.kernel(zs), ts, self.noise, m[:n])
            mu, var = exact_gp_predict(L, alpha, self.kernel(zq, zs), self.kernel.diag(zq), m[n:])
            nll = -gaussian_log_prob(tq, mu, var=var + self.noise)
        else:
            state = laplace_fit(self.kernel(zs), ys, self.likelihood, mean=m[:n])
            mu, var = laplace_predict(state, self.kernel(zq, zs), self.kernel.diag(zq), m[n:])
            nll = -predictive_log_prob(mu, var, yq, self.likelihood)
        return nll.mean().to(emb.dtype)
