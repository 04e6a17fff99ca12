"""The deep-kernel GP as a few-shot learner (see :mod:`sciml.learners.dkgp`)."""

from __future__ import annotations

import copy
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from sciml.config import default_device
from sciml.graphs import featurize_items
from sciml.learners.base import FewShotLearner, Prediction
from sciml.learners.dkgp.model import DeepKernelGP
from sciml.learners.gp.exact import ExactGP
from sciml.learners.gp.laplace import LaplaceGPClassifier
from sciml.learners.gp.learner import GPLearnerMixin
from sciml.learners.meta import MetaLearnerMixin
from sciml.learners.registry import LEARNERS

__all__ = ["DeepKernelGPLearner"]


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
    support_free: ClassVar[str | None] = ("GP prior: a constant prediction (zero mean), or the meta-learned "
                                          "prior-mean score (prior_mean)")

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
        """The GP's features ``float32`` (:meth:`DeepKernelGP.embed` layout): eval-mode embeddings ``[n, d]``
        (L2-normalised if ``model.normalize``), then the normalised MiniMol embedding (``minimol_kernel``),
        the fingerprint ``gfeat`` ``[n, f]`` (``fingerprint_kernel``) and the prior-mean score
        ``[n, 1]`` (``prior_mean``)."""
        from sciml.graphs import embed_graphs

        m = self.model
        items = featurize_items(self.featurizer, inputs)
        emb = embed_graphs(m.encoder, items, self.device, self.batch_size, collate=self.featurizer.collate)
        if m.normalize and emb.size:
            emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)

        def stacked(attr: str, width: int) -> np.ndarray:
            if not items:
                return np.zeros((0, width), np.float32)
            return np.stack([np.asarray(getattr(it, attr)).reshape(-1) for it in items]).astype(np.float32)

        if not m.blocks:
            if m.fingerprint_kernel:
                emb = np.concatenate([emb, stacked("gfeat", self.featurizer.encoder_dims().get("gfeat_dim", 0))], 1)
            return emb.astype(np.float32)
        # the rest of the layout as DeepKernelGP.embed builds it, on the model's device (the model is not changed)
        def on_device(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).to(self.device)

        mfeat = gfeat = None
        if m.minimol_kernel:
            mfeat = nn.functional.normalize(on_device(stacked("mfeat", m.minimol_dim)), dim=-1)
        if m.fingerprint_kernel:
            gfeat = on_device(stacked("gfeat", m.fingerprint_dim))
        with torch.no_grad():
            out = m.assemble(on_device(emb.astype(np.float32)), mfeat, gfeat)
        return out.cpu().numpy().astype(np.float32)

    def embedding_columns(self, X: np.ndarray) -> np.ndarray:
        """The embedding columns of features from :meth:`featurize` (without MiniMol, fingerprint or prior mean)."""
        return X[:, : self.model.embed_dim] if X.shape[1] > self.model.embed_dim else X

    def _new_gp(self) -> ExactGP | LaplaceGPClassifier:
        """An unfitted GP on the CPU whose hyperparameters start as a copy of the model's."""
        kernel = copy.deepcopy(self.model.kernel).cpu()
        if self.task == "classification":
            return LaplaceGPClassifier(kernel, likelihood=self.model.likelihood, mean_column=self.model.prior_mean)
        noise = float(self.model.noise.detach()) if self.model.log_noise is not None else 0.1
        return ExactGP(kernel, noise=noise, mean=0.0, learn_mean=False, noise_bounds=self.model.noise_bounds,
                       mean_column=self.model.prior_mean)

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
        """The GP prior with the meta-learned hyperparameters at query features ``X`` ``[n_query, d]``.

        Zero prior mean (the default): the prediction is the same constant for every query,
        classification ``mean = P(y=1) = 1/2`` exactly (latent ``f ~ N(0, k(x, x))`` and a
        likelihood symmetric about 0), so ROC-AUC is 0.5 by ties and ΔAUPRC 0; regression mean 0
        in standardised units (no target scale without labels; a constant has no ranking, so
        Spearman is undefined). With ``prior_mean`` the latent mean is the meta-learned score
        ``h(x)`` (the features' last column): classification ``mean = E p(y=1 | f)`` under
        ``f ~ N(h(x), k(x, x))``, regression ``mean = h(x)`` in standardised units, so both rank.
        ``std`` / ``lower`` / ``upper``: classification, the spread and interval of ``p(y=1 | f)``
        under that prior; regression, ``sqrt(k(x, x) + noise)`` and its Gaussian interval.
        Fields float64 ``[n_query]``; ``n_support`` is checked and otherwise unused; ``gp_`` is
        untouched.
        """
        from scipy.stats import norm

        from sciml.learners.base import check_features
        from sciml.learners.gp.kernels import DTYPE
        from sciml.learners.gp.laplace import probability_summary

        self._check_n_support(n_support)
        X = check_features(X, "Query")
        gp = self._new_gp()  # the meta-learned hyperparameters, on the CPU
        with torch.no_grad():
            Xt = torch.as_tensor(X, dtype=DTYPE)
            var = gp.kernel.diag(Xt)
            mu = Xt[:, -1].clone() if self.model.prior_mean else torch.zeros_like(var)
            if self.task == "classification":
                p, std, lo, hi = probability_summary(mu, var, self.model.likelihood, self.level)
                mean = p.numpy() if self.model.prior_mean else np.full(len(X), 0.5)
                return Prediction(mean=mean, std=std.numpy(), lower=np.minimum(lo.numpy(), mean),
                                  upper=np.maximum(hi.numpy(), mean), level=self.level)
            std = (var + gp.noise.detach().to(DTYPE)).sqrt().numpy()
        z = float(norm.ppf(0.5 + self.level / 2.0))
        mean = mu.numpy()
        return Prediction(mean=mean, std=std, lower=mean - z * std, upper=mean + z * std, level=self.level)
