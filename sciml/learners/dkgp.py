"""Deep-kernel Gaussian processes for few-shot prediction (DKT / ADKF-IFT style).

A :class:`DeepKernelGP` is a meta-trained encoder ``phi`` (molecule -> ``[d]``
embedding, optionally L2-normalised) and a base kernel on embeddings,
``k(x, x') = outputscale * k_base(phi(x), phi(x'))`` (RBF by default; ``"linear"`` on
normalised embeddings is the cosine-similarity kernel), plus a noise variance for
regression. A task is solved by conditioning an exact GP on its support set:

* regression: Gaussian likelihood on support targets standardised with the support's
  mean and (population) standard deviation (:class:`~sciml.learners.base.TargetScaler`),
  zero prior mean in those units;
* classification: zero-mean latent GP with a probit (default) or logistic likelihood,
  Laplace approximation (:func:`sciml.learners.gp.laplace_fit`).

Meta-training objective (:meth:`DeepKernelGP.episode_loss`), with meta-parameters =
encoder weights + kernel hyperparameters (log outputscale, log lengthscale(s)) + log
noise (regression), shared across tasks:

* ``objective="predictive"`` (default): mean negative log predictive likelihood of the
  *query* labels under the GP posterior conditioned on the *support* set,
  ``-1/m sum_j log p(y_j^q | x_j^q, S)``; regression: Gaussian with the latent variance
  plus the noise, in the support-standardised units; classification: ``log E_f p(y|f)``
  under the Laplace latent posterior (probit exact, logistic by Gauss-Hermite). The
  gradient flows through the Cholesky solves, and for classification through the
  Laplace mode by the implicit-function trick of :func:`~sciml.learners.gp.laplace_fit`.
* ``objective="marginal"``: the DKT loss of Patacchiola et al. (2020): the negative
  log marginal likelihood of *all* ``n_support + n_query`` labels (exact for regression,
  targets standardised with the statistics of all of them; Laplace approximation for
  classification), divided by their number.

Test time (:class:`DeepKernelGPLearner`): embeddings are computed once (eval mode);
``fit_features`` copies the meta-learned hyperparameters and fine-tunes them on the
support set alone for ``adapt_steps`` Adam steps of the (approximate) log marginal
likelihood, encoder frozen (as ADKF-IFT's inner loop; ``adapt_steps=0`` is plain DKT).
The fitted GP (support embeddings, targets, hyperparameters, Laplace mode) is the
learner's adapted state (:class:`~sciml.learners.gp.learner.GPLearnerMixin`).
"""

from __future__ import annotations

import copy
import math
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import Tensor, nn

from sciml.config import default_device
from sciml.graphs import featurize_items
from sciml.learners.base import FewShotLearner, Prediction, TargetScaler
from sciml.learners.gp.exact import ExactGP, exact_gp_fit, exact_gp_predict
from sciml.learners.gp.kernels import DTYPE, KERNELS, ScaledKernel, SplitSumKernel, bounded_exp, check_bounds, log_param
from sciml.learners.gp.laplace import LaplaceGPClassifier, laplace_fit, laplace_predict, predictive_log_prob
from sciml.learners.gp.learner import GPLearnerMixin
from sciml.learners.meta import MetaLearnerMixin
from sciml.learners.registry import LEARNERS
from sciml.losses import gaussian_log_prob

__all__ = ["DeepKernelGP", "DeepKernelGPLearner"]


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
                 noise_bounds: tuple[float, float] = (1e-4, 10.0), fingerprint_kernel: bool = False):
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
        if (ard or fingerprint_kernel) and d is None:
            raise ValueError("ard / fingerprint_kernel need the embedding width: give the encoder an out_dim or "
                             "pass embed_dim")
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
        self.kernel = self._make_kernel()
        self.noise_bounds = check_bounds(noise_bounds, "noise_bounds")
        self.log_noise = log_param(noise, "noise", True) if task == "regression" else None

    def _make_kernel(self) -> ScaledKernel | SplitSumKernel:
        """The kernel at its initial hyperparameters."""
        ls, outputscale = self._init["lengthscale"], self._init["outputscale"]
        params = {}
        if self.kernel_name == "rbf":
            params["lengthscale"] = torch.full((self.embed_dim,), ls) if self.ard else ls
        kernel = ScaledKernel(self.kernel_name, params, outputscale)
        if self.fingerprint_kernel:
            kernel = SplitSumKernel(kernel, ScaledKernel("tanimoto", {}, outputscale), self.embed_dim)
        return kernel

    def reset_parameters(self) -> None:
        """Encoder weights (when it has ``reset_parameters``) and GP hyperparameters back to their initial values."""
        if hasattr(self.encoder, "reset_parameters"):
            self.encoder.reset_parameters()
        with torch.no_grad():
            for p, init in zip(self.kernel.parameters(), self._make_kernel().parameters()):
                p.copy_(init)
            if self.log_noise is not None:
                self.log_noise.fill_(math.log(self._init["noise"]))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.encoder!r}, task={self.task!r}, kernel={self.kernel_name!r}, "
                f"objective={self.objective!r}, fingerprint_kernel={self.fingerprint_kernel})")

    def config(self) -> dict:
        """Constructor arguments (JSON-serialisable, without the encoder) for checkpoints."""
        return {"task": self.task, "kernel": self.kernel_name, "normalize": self.normalize,
                "objective": self.objective, "likelihood": self.likelihood, "ard": self.ard,
                "embed_dim": self.embed_dim, "noise_bounds": list(self.noise_bounds),
                "fingerprint_kernel": self.fingerprint_kernel, **self._init}

    @property
    def noise(self) -> Tensor:
        """Noise variance (regression; standardised units)."""
        if self.log_noise is None:
            raise AttributeError("classification models have no noise variance")
        return bounded_exp(self.log_noise, self.noise_bounds)

    def embed(self, batch) -> Tensor:
        """``self.encoder(batch)``, L2-normalised if ``normalize``: ``[n, d]`` in the encoder's dtype;
        with ``fingerprint_kernel``, ``[n, d + f]`` = embedding then ``batch.gfeat`` (as floats)."""
        emb = self.encoder(batch)
        emb = nn.functional.normalize(emb, dim=-1) if self.normalize else emb
        if self.fingerprint_kernel:
            gfeat = getattr(batch, "gfeat", None)
            if gfeat is None:
                raise ValueError("fingerprint_kernel=True needs graphs with a fingerprint (featurizer "
                                 "fingerprint_bits > 0)")
            emb = torch.cat([emb, gfeat.to(emb.dtype)], dim=-1)
        return emb

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
        if self.objective == "marginal":
            y_all = torch.cat([ys, yq])
            if self.task == "regression":
                lml = exact_gp_fit(self.kernel(z), TargetScaler.fit(y_all).transform(y_all), self.noise)[2]
            else:
                lml = laplace_fit(self.kernel(z), y_all, self.likelihood).log_marginal
            return (-lml / y_all.numel()).to(emb.dtype)
        if self.task == "regression":
            scaler = TargetScaler.fit(ys)
            ts, tq = scaler.transform(ys), scaler.transform(yq)
            L, alpha, _ = exact_gp_fit(self.kernel(zs), ts, self.noise)
            mu, var = exact_gp_predict(L, alpha, self.kernel(zq, zs), self.kernel.diag(zq))
            nll = -gaussian_log_prob(tq, mu, var=var + self.noise)
        else:
            state = laplace_fit(self.kernel(zs), ys, self.likelihood)
            mu, var = laplace_predict(state, self.kernel(zq, zs), self.kernel.diag(zq))
            nll = -predictive_log_prob(mu, var, yq, self.likelihood)
        return nll.mean().to(emb.dtype)


@LEARNERS.register()
class DeepKernelGPLearner(MetaLearnerMixin, GPLearnerMixin, FewShotLearner):
    """A meta-trained :class:`DeepKernelGP` used as a few-shot learner on inputs of its featurizer's domain.

    Parameters
    ----------
    model : DeepKernelGP
    featurizer
        The domain's featurizer (``featurize`` / ``collate``, e.g.
        :class:`~sciml.domains.molecules.graphs.MolGraphFeaturizer`).
    device : str, optional
        Where the encoder runs (default :func:`sciml.config.default_device`). GP algebra
        runs on the CPU in float64.
    batch_size : int, default 256
        Graphs per encoder forward in :meth:`featurize`.
    adapt_steps : int, default 50
        Adam steps fine-tuning the kernel hyperparameters (and noise) on each support set,
        starting from the meta-learned values; 0 uses the meta-learned values as they are.
    adapt_lr : float, default 0.05
    level : float, default 0.9
        Coverage level of the intervals in :meth:`predict_features`.
    task : {"classification", "regression"}, optional
        Default ``model.task``. A model meta-trained for one task can serve the other:
        the meta-learned embedding and kernel are kept and only the GP likelihood
        changes (a classification model then starts from a noise variance of 0.1).

    Attributes
    ----------
    gp_ : ExactGP (regression) or LaplaceGPClassifier (classification)
        Fitted on the last support set; its hyperparameters are a copy of the model's.
    n_support_ : int

    The adapted state (:meth:`adapted_state`) is the fitted GP's
    (``gp.X``: support features, ``gp.t`` / ``gp.y``: targets, ``gp.param.*``: the
    fine-tuned hyperparameters, for classification the Laplace mode and Cholesky factor)
    and ``n_support``.
    """

    name: ClassVar[str] = "dkgp"
    description: ClassVar[str] = "GP with a deep kernel on the meta-learned embedding (DKT/ADKF-style)"
    support_free: ClassVar[str | None] = "GP prior (zero mean): a constant prediction"

    def __init__(self, model: DeepKernelGP, featurizer, device: str | None = None, batch_size: int = 256,
                 adapt_steps: int = 50, adapt_lr: float = 0.05, level: float = 0.9, task: str | None = None):
        self.device = device or default_device()
        self.model = model.to(self.device)
        self.featurizer = featurizer
        self.batch_size = int(batch_size)
        if int(adapt_steps) < 0:
            raise ValueError(f"adapt_steps must be >= 0, got {adapt_steps}")
        self.adapt_steps = int(adapt_steps)
        self.adapt_lr = float(adapt_lr)
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
        self.level = float(level)
        task = model.task if task is None else task
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        self.task = task

    def __repr__(self) -> str:
        m = self.model
        return (f"{type(self).__name__}(task={self.task!r}, kernel={m.kernel_name!r}, adapt_steps={self.adapt_steps}, "
                f"device={self.device!r})")

    checkpoint_learners = ("dkgp",)
    tasks = ("classification", "regression")
    #: The embedding and kernel carry over to the other task kind; only the likelihood changes.
    serves_other_task = True

    @classmethod
    def build_model(cls, encoder: nn.Module, learner_config: dict) -> DeepKernelGP:
        return DeepKernelGP(encoder, **learner_config)

    @classmethod
    def model_config(cls, model: DeepKernelGP) -> dict:
        return model.config()

    def featurize(self, inputs: list) -> np.ndarray:
        """Eval-mode embeddings ``float32 [n, d]`` (L2-normalised if ``model.normalize``), followed by
        the items' fingerprint columns ``gfeat`` ``[n, f]`` when ``model.fingerprint_kernel``."""
        from sciml.graphs import embed_graphs

        items = featurize_items(self.featurizer, inputs)
        emb = embed_graphs(self.model.encoder, items, self.device, self.batch_size, collate=self.featurizer.collate)
        if self.model.normalize and emb.size:
            emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        if self.model.fingerprint_kernel:
            fp = np.stack([np.asarray(it.gfeat).reshape(-1) for it in items]) if items else \
                np.zeros((0, self.featurizer.encoder_dims().get("gfeat_dim", 0)))
            emb = np.concatenate([emb, fp.astype(np.float32)], axis=1)
        return emb.astype(np.float32)

    def embedding_columns(self, X: np.ndarray) -> np.ndarray:
        """The embedding columns of features from :meth:`featurize` (without the fingerprint)."""
        return X[:, : self.model.embed_dim] if self.model.fingerprint_kernel else X

    def _new_gp(self) -> ExactGP | LaplaceGPClassifier:
        """An unfitted GP on the CPU whose hyperparameters start as a copy of the model's."""
        kernel = copy.deepcopy(self.model.kernel).cpu()
        if self.task == "classification":
            return LaplaceGPClassifier(kernel, likelihood=self.model.likelihood)
        noise = float(self.model.noise.detach()) if self.model.log_noise is not None else 0.1
        return ExactGP(kernel, noise=noise, mean=0.0, learn_mean=False, noise_bounds=self.model.noise_bounds)

    @property
    def _fit_steps(self) -> int:  # test-time hyperparameter refits on the support (GPLearnerMixin.fit_features)
        return self.adapt_steps

    @property
    def _fit_lr(self) -> float:
        return self.adapt_lr

    def predict_latent_features(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Classification: latent posterior (mean ``[n_query]``, std ``[n_query]``) at query embeddings, float64."""
        gp = self._gp()
        if not isinstance(gp, LaplaceGPClassifier):
            raise ValueError("predict_latent_features is for classification models: use predict_features")
        mu, var = gp.predict_latent(self._query(X))
        return mu.numpy(), var.sqrt().numpy()

    def predict_support_free(self, X: np.ndarray, *, n_support: int | None = None) -> Prediction:
        """The GP prior with the meta-learned hyperparameters at query embeddings ``X`` ``[n_query, d]``.

        The prior mean is zero, so the prediction is the same constant for every query:
        classification ``mean = P(y=1) = 1/2`` exactly (latent ``f ~ N(0, k(x, x))`` and a
        likelihood symmetric about 0), so ROC-AUC is 0.5 by ties and ΔAUPRC 0; ``std`` /
        ``lower`` / ``upper`` are the spread and interval of ``p(y=1 | f)`` under that prior.
        Regression: mean 0 and std ``sqrt(k(x, x) + noise)`` in standardised units (no target
        scale without labels; a constant has no ranking, so Spearman is undefined). Fields
        float64 ``[n_query]``; ``n_support`` is checked and otherwise unused; ``gp_`` is untouched.
        """
        from scipy.stats import norm

        from sciml.learners.base import check_features
        from sciml.learners.gp.kernels import DTYPE
        from sciml.learners.gp.laplace import probability_summary

        self._check_n_support(n_support)
        X = check_features(X, "Query")
        gp = self._new_gp()  # the meta-learned hyperparameters, on the CPU
        with torch.no_grad():
            var = gp.kernel.diag(torch.as_tensor(X, dtype=DTYPE))
            mu = torch.zeros_like(var)
            if self.task == "classification":
                _, std, lo, hi = probability_summary(mu, var, self.model.likelihood, self.level)
                mean = np.full(len(X), 0.5)
                return Prediction(mean=mean, std=std.numpy(), lower=np.minimum(lo.numpy(), mean),
                                  upper=np.maximum(hi.numpy(), mean), level=self.level)
            std = (var + gp.noise.detach().to(DTYPE)).sqrt().numpy()
        z = float(norm.ppf(0.5 + self.level / 2.0))
        return Prediction(mean=np.zeros(len(X)), std=std, lower=-z * std, upper=z * std, level=self.level)
