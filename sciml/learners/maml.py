"""Model-agnostic meta-learning (MAML, Finn et al. 2017) and its variants for few-shot prediction.

A :class:`MAML` model is an encoder followed by a small MLP head. For each episode it
takes ``inner_steps`` gradient steps on the support loss, starting from the
meta-learned weights, and scores the query with the adapted ("fast") weights; the
meta-training objective is the query loss after adaptation, differentiated back to the
initial weights. Variants selected by :class:`MAMLConfig`:

* ``first_order=True``: FOMAML; the inner gradients are treated as constants
  (no second derivatives, less memory).
* ``meta_sgd=True``: Meta-SGD (Li et al. 2017); a learned per-element inner learning
  rate ``exp(log_lr)`` for every adapted weight.
* ``adapt="head"``: ANIL (Raghu et al. 2020); only the head adapts, the encoder is
  shared across tasks, so the encoder runs once per episode and the inner loop runs on
  embeddings (cheap). ``adapt="all"``: the whole network adapts.
* ``task="regression"``: the head outputs a mean and a log-variance and the loss is
  the heteroscedastic Gaussian negative log-likelihood.

The inner loop is functional (``torch.func.functional_call`` on a dict of fast weights,
gradients from ``torch.autograd.grad(..., create_graph=not first_order)``); the
module's parameters are never modified in place.

BatchNorm with ``adapt="all"``
------------------------------
* Inner loop (support forwards): BatchNorm layers always normalise with the statistics
  of the support batch (training-mode BatchNorm), both in meta-training and at test
  time, so the adaptation a model is meta-trained for is the adaptation it performs at
  test time. The inner loop gets *copies* of the buffers, so the running statistics
  (and ``num_batches_tracked``) are never changed by :meth:`MAML.adapt`.
* Query forward (outer loss / prediction): follows the module's mode. In ``train()``
  mode it uses the query batch's statistics and updates the real running statistics,
  which therefore track the activations of *adapted* networks on query batches; in
  ``eval()`` mode it uses those running statistics, so each query molecule's
  prediction does not depend on the other molecules in its batch.
* Dropout follows the module's mode everywhere (off in ``eval()``).

With ``adapt="head"`` the encoder is an ordinary shared network: one forward per
episode (support and query together in :meth:`MAML.episode_loss`) in the module's
mode, so in ``eval()`` mode embeddings are per-molecule (as
:func:`sciml.graphs.embed_graphs` computes them for :class:`MAMLLearner`).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, ClassVar, Iterator, Literal, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _BatchNorm

from sciml.graphs import eval_mode
from sciml.learners.base import FewShotLearner, Prediction
from sciml.learners.meta import ConfigModelLearnerMixin
from sciml.learners.registry import LEARNERS

__all__ = ["MAMLConfig", "MAML", "MAMLLearner", "FOMAMLLearner", "gaussian_nll", "split_inputs"]

#: Bounds of the predicted log-variance (regression), for numerical stability.
LOG_VAR_MIN, LOG_VAR_MAX = -10.0, 10.0


@dataclass
class MAMLConfig:
    """Hyperparameters of :class:`MAML` (stored in checkpoints).

    Parameters
    ----------
    inner_steps : int, default 5
        Gradient steps on the support loss per episode (0 = no adaptation).
    inner_lr : float, default 0.05
        Inner-loop learning rate (the initial value of the learned rates when ``meta_sgd``).
    first_order : bool, default False
        FOMAML: drop the second-order terms of the meta-gradient.
    meta_sgd : bool, default False
        Meta-SGD: learn a per-element inner learning rate (parameterised as its log).
    adapt : {"head", "all"}, default "head"
        ``"head"``: ANIL, only the head adapts; ``"all"``: encoder and head adapt.
    head_hidden : int, default 128
        Hidden width of the head MLP; 0 makes the head a single linear layer.
    task : {"classification", "regression"}, default "classification"
        Binary classification (one logit, BCE) or regression (mean and log-variance,
        Gaussian NLL).
    dropout : float, default 0.0
        Dropout in the head (between its hidden and output layers).
    normalize : bool, default True
        L2-normalise embeddings before the head. GNN embeddings can have norms of
        tens, and a gradient step on a linear layer changes its output in proportion
        to the squared input norm, so without it a fixed inner learning rate
        overshoots (regression diverged at ``inner_lr=0.05``).
    zero_init_head : bool, default False
        The zeroing trick (Kao et al., ICLR 2022): every inner loop starts the head's
        output layer at zero instead of at its meta-learned value, so the unadapted
        model predicts P = 0.5 (or mean 0, variance 1 in support-standardised units)
        for every molecule and all task-specific signal comes from the support set;
        the first inner step makes the output weights ``inner_lr * mean_i (y_i - 0.5) h_i``,
        a contrast of the support's hidden features (MAML becomes a noisy contrastive
        learner). The output layer's own parameters are then unused.
    """

    inner_steps: int = 5
    inner_lr: float = 0.05
    first_order: bool = False
    meta_sgd: bool = False
    adapt: Literal["head", "all"] = "head"
    head_hidden: int = 128
    task: Literal["classification", "regression"] = "classification"
    dropout: float = 0.0
    normalize: bool = True
    zero_init_head: bool = False

    def __post_init__(self) -> None:
        if self.adapt not in ("head", "all"):
            raise ValueError(f"adapt must be 'head' (ANIL) or 'all', got {self.adapt!r}")
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if int(self.inner_steps) < 0:
            raise ValueError(f"inner_steps must be >= 0, got {self.inner_steps}")
        if not self.inner_lr > 0:
            raise ValueError(f"inner_lr must be > 0, got {self.inner_lr}")
        if int(self.head_hidden) < 0:
            raise ValueError(f"head_hidden must be >= 0, got {self.head_hidden}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MAMLConfig":
        return cls(**d)


def gaussian_nll(mean: Tensor, log_var: Tensor, y: Tensor) -> Tensor:
    """Mean heteroscedastic Gaussian negative log-likelihood (with the ``log(2 pi) / 2`` constant).

    Shapes: mean, log_var, y ``[n]`` -> scalar.
    ``0.5 * (log_var + (y - mean)^2 / exp(log_var) + log(2 pi))``, averaged over rows.
    """
    return 0.5 * (log_var + (y - mean).pow(2) * torch.exp(-log_var) + math.log(2 * math.pi)).mean()


def split_inputs(inputs, n: int):
    """Split model inputs into the first ``n`` items and the rest.

    ``inputs`` is a tensor ``[N, ...]`` (split along dim 0) or a PyG ``Batch`` made with
    ``Batch.from_data_list`` (split into two ``Batch`` es of ``n`` and ``N - n`` graphs).
    """
    if isinstance(inputs, Tensor):
        return inputs[:n], inputs[n:]
    if hasattr(inputs, "index_select") and hasattr(inputs, "num_graphs"):
        from torch_geometric.data import Batch

        total = inputs.num_graphs
        return (Batch.from_data_list(inputs.index_select(list(range(n)))),
                Batch.from_data_list(inputs.index_select(list(range(n, total)))))
    raise TypeError(f"cannot split inputs of type {type(inputs).__name__}: give a Tensor or a PyG Batch")


@contextmanager
def _batchnorm_batch_stats(module: nn.Module) -> Iterator[None]:
    """Temporarily put every BatchNorm layer of ``module`` in training mode (batch statistics)."""
    bns = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    modes = [m.training for m in bns]
    try:
        for m in bns:
            m.training = True
        yield
    finally:
        for m, t in zip(bns, modes):
            m.training = t


class MAML(nn.Module):
    """Encoder + MLP head, meta-learned with MAML / FOMAML / Meta-SGD / ANIL.

    Parameters
    ----------
    encoder : nn.Module
        Maps inputs (a PyG ``Batch`` of ``n`` graphs, or a tensor ``[n, ...]``) to
        embeddings ``[n, d]``; ``d`` is ``encoder.out_dim`` unless ``embed_dim`` is given.
    config : MAMLConfig, optional
        Hyperparameters (defaults: :class:`MAMLConfig()`).
    embed_dim : int, optional
        Embedding width ``d`` for encoders without an ``out_dim`` attribute (e.g. ``nn.Identity``).
    loss_fn : callable, optional
        ``loss_fn(outputs [n, n_out], y [n]) -> scalar`` replacing the task's loss in
        both loops (BCE-with-logits for classification, :func:`gaussian_nll` for
        regression). Not stored in checkpoints.

    Attributes
    ----------
    encoder, head : nn.Module
        ``head`` is ``Linear(d, head_hidden) - ReLU - Dropout - Linear(head_hidden, n_out)``
        (``Dropout - Linear(d, n_out)`` when ``head_hidden == 0``); ``n_out`` is 1
        (logit) or 2 (mean, log-variance).
    log_lrs : nn.ParameterDict
        With ``meta_sgd``: per-element log inner learning rates, one tensor per adapted
        weight, keyed by the weight's name with ``.`` replaced by ``__``.

    Notes
    -----
    Fast-weight dicts are keyed by parameter names relative to this module
    (``"head.0.weight"``, ``"encoder.atom_in.weight"``, ...) and hold only the adapted
    weights: the head's with ``adapt="head"``, all trainable encoder and head
    weights with ``adapt="all"``. See the module docstring for BatchNorm handling.
    """

    def __init__(self, encoder: nn.Module, config: MAMLConfig | None = None, *, embed_dim: int | None = None,
                 loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None):
        super().__init__()
        self.config = c = config if config is not None else MAMLConfig()
        d = embed_dim if embed_dim is not None else getattr(encoder, "out_dim", None)
        if d is None:
            raise ValueError("the encoder has no out_dim attribute: pass embed_dim")
        self.embed_dim = int(d)
        self.encoder = encoder
        n_out = 1 if c.task == "classification" else 2
        if c.head_hidden > 0:
            self.head = nn.Sequential(nn.Linear(self.embed_dim, c.head_hidden), nn.ReLU(), nn.Dropout(c.dropout),
                                      nn.Linear(c.head_hidden, n_out))
        else:
            self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(self.embed_dim, n_out))
        self.loss_fn = loss_fn
        #: Name prefix of the head's output layer (``"head.3"`` or ``"head.1"``).
        self.output_layer = f"head.{len(self.head) - 1}"
        self.log_lrs = nn.ParameterDict()
        if c.meta_sgd:
            init = math.log(c.inner_lr)
            for name, p in self._adapted_params().items():
                self.log_lrs[self._lr_key(name)] = nn.Parameter(torch.full_like(p, init))

    # ----------------------------------------------------------------------------- forward
    @property
    def n_out(self) -> int:
        return 1 if self.config.task == "classification" else 2

    def forward(self, inputs) -> Tensor:
        """Unadapted network. Shapes: inputs of ``n`` items -> ``[n, n_out]``."""
        return self.head(self._head_input(self.encoder(inputs)))

    def _head_input(self, emb: Tensor) -> Tensor:
        """The head's input: ``emb`` ``[n, d]``, L2-normalised if ``config.normalize``."""
        return nn.functional.normalize(emb, dim=-1) if self.config.normalize else emb

    def head_forward(self, emb: Tensor, fast_weights: dict[str, Tensor] | None = None) -> Tensor:
        """Head on embeddings with (a subset of) its weights replaced.

        Shapes: emb ``[n, d]`` -> ``[n, n_out]``. Keys of ``fast_weights`` starting with
        ``"head."`` are used; others are ignored.
        """
        emb = self._head_input(emb)
        if not fast_weights:
            return self.head(emb)
        sub = {k[len("head."):]: v for k, v in fast_weights.items() if k.startswith("head.")}
        return functional_call(self.head, sub, (emb,))

    def forward_with(self, inputs, fast_weights: dict[str, Tensor] | None = None) -> Tensor:
        """Whole network with the given weights replaced, BatchNorm as the module's mode says.

        The module's own buffers are used (and, in training mode, updated). Shapes:
        inputs of ``n`` items -> ``[n, n_out]``.
        """
        if not fast_weights:
            return self(inputs)
        return functional_call(self, dict(fast_weights), (inputs,))

    # ------------------------------------------------------------------------------- loss
    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        """Task loss. Shapes: outputs ``[n, n_out]``, y ``[n]`` -> scalar.

        Classification: mean BCE-with-logits on ``outputs[:, 0]``; regression:
        :func:`gaussian_nll` with ``mean = outputs[:, 0]``, ``log_var = outputs[:, 1]``
        (clamped to ``[LOG_VAR_MIN, LOG_VAR_MAX]``).
        """
        y = y.to(device=outputs.device, dtype=outputs.dtype).reshape(-1)
        if self.loss_fn is not None:
            return self.loss_fn(outputs, y)
        if self.config.task == "classification":
            return nn.functional.binary_cross_entropy_with_logits(outputs[:, 0], y)
        mean, log_var = self.split_gaussian(outputs)
        return gaussian_nll(mean, log_var, y)

    @staticmethod
    def split_gaussian(outputs: Tensor) -> tuple[Tensor, Tensor]:
        """Regression outputs ``[n, 2]`` -> (mean ``[n]``, clamped log-variance ``[n]``)."""
        return outputs[:, 0], outputs[:, 1].clamp(LOG_VAR_MIN, LOG_VAR_MAX)

    # -------------------------------------------------------------------------- inner loop
    @staticmethod
    def _lr_key(name: str) -> str:
        return name.replace(".", "__")

    def _adapted_params(self) -> dict[str, Tensor]:
        """The meta-parameters that the inner loop adapts, by name (trainable ones only)."""
        prefixes = ("head.",) if self.config.adapt == "head" else ("head.", "encoder.")
        return {n: p for n, p in self.named_parameters()
                if n.startswith(prefixes) and p.requires_grad}

    def inner_lrs(self) -> dict[str, Tensor | float]:
        """Inner learning rate of each adapted weight: a tensor of its shape (Meta-SGD) or a float."""
        if self.config.meta_sgd:
            return {n: self.log_lrs[self._lr_key(n)].exp() for n in self._adapted_params()}
        return {n: self.config.inner_lr for n in self._adapted_params()}

    def _inner_loop(self, support_loss: Callable[[dict[str, Tensor]], Tensor], steps: int,
                    create_graph: bool, detach: bool) -> dict[str, Tensor]:
        """``steps`` SGD steps ``w <- w - lr * grad`` on ``support_loss(fast_weights)``.

        ``detach=True`` starts from detached copies of the weights and learning rates
        (test-time adaptation: nothing flows back to the meta-parameters).
        """
        fast = self._adapted_params()
        lrs = self.inner_lrs()
        if detach:
            fast = {n: w.detach().requires_grad_(True) for n, w in fast.items()}
            lrs = {n: lr.detach() if isinstance(lr, Tensor) else lr for n, lr in lrs.items()}
        if self.config.zero_init_head:
            fast.update({n: torch.zeros_like(w).requires_grad_(True) for n, w in fast.items()
                         if n.startswith(self.output_layer + ".")})
        if steps == 0:
            return fast
        with torch.enable_grad():
            for _ in range(steps):
                loss = support_loss(fast)
                names = list(fast)
                grads = torch.autograd.grad(loss, [fast[n] for n in names], create_graph=create_graph,
                                            allow_unused=True)
                fast = {n: fast[n] if g is None else fast[n] - lrs[n] * g for n, g in zip(names, grads)}
        return fast

    def adapt_head(self, support_emb: Tensor, support_y: Tensor, *, steps: int | None = None,
                   create_graph: bool | None = None, detach: bool = False) -> dict[str, Tensor]:
        """Adapt the head on support embeddings (ANIL inner loop).

        Parameters
        ----------
        support_emb : Tensor ``[n_support, d]``
        support_y : Tensor ``[n_support]``
            0/1 labels (classification) or real targets (regression).
        steps : int, optional
            Inner steps (default ``config.inner_steps``).
        create_graph : bool, optional
            Keep the graph of the inner gradients (default ``not config.first_order``).
        detach : bool, default False
            Start from detached weights (no meta-gradient; for prediction).

        Returns
        -------
        dict[str, Tensor]
            Fast weights of the head, keyed ``"head.<name>"``. Only meaningful for
            ``adapt="head"`` (with ``adapt="all"`` use :meth:`adapt`).
        """
        if self.config.adapt != "head":
            raise ValueError("adapt_head is the ANIL inner loop: use adapt() for adapt='all'")
        steps = self.config.inner_steps if steps is None else int(steps)
        create_graph = (not self.config.first_order) if create_graph is None else create_graph
        if detach:
            support_emb = support_emb.detach()
        return self._inner_loop(lambda fw: self.loss(self.head_forward(support_emb, fw), support_y),
                                steps, create_graph, detach)

    def adapt(self, support_inputs, support_y: Tensor, *, steps: int | None = None,
              create_graph: bool | None = None, detach: bool = False) -> dict[str, Tensor]:
        """Inner loop: fast weights after ``steps`` gradient steps on the support loss.

        Parameters
        ----------
        support_inputs : PyG Batch of ``n_support`` graphs, or Tensor ``[n_support, ...]``
        support_y : Tensor ``[n_support]``
        steps, create_graph, detach
            As in :meth:`adapt_head`.

        Returns
        -------
        dict[str, Tensor]
            Adapted weights by name (``"head.*"``, plus ``"encoder.*"`` for ``adapt="all"``),
            differentiable w.r.t. the meta-parameters unless ``detach``.

        Notes
        -----
        ``adapt="head"``: the encoder runs once (module's mode), then :meth:`adapt_head`.
        ``adapt="all"``: every support forward uses support-batch BatchNorm statistics
        on copies of the buffers, so running statistics are left unchanged.
        """
        steps = self.config.inner_steps if steps is None else int(steps)
        create_graph = (not self.config.first_order) if create_graph is None else create_graph
        if self.config.adapt == "head":
            with torch.set_grad_enabled(torch.is_grad_enabled() and not detach):
                emb = self.encoder(support_inputs)
            return self.adapt_head(emb, support_y, steps=steps, create_graph=create_graph, detach=detach)

        buffers = {n: b.clone() for n, b in self.named_buffers()}

        def support_loss(fw: dict[str, Tensor]) -> Tensor:
            with _batchnorm_batch_stats(self):
                out = functional_call(self, {**fw, **buffers}, (support_inputs,))
            return self.loss(out, support_y)

        return self._inner_loop(support_loss, steps, create_graph, detach)

    # ----------------------------------------------------------------------------- episodes
    def episode_loss(self, batch, n_support: int, support_y: Tensor, query_y: Tensor) -> Tensor:
        """Meta-training objective of one episode: the query loss after adapting on the support.

        Parameters
        ----------
        batch : PyG Batch (or Tensor) of ``n_support + n_query`` items, support first
        n_support : int
        support_y : Tensor ``[n_support]``
        query_y : Tensor ``[n_query]``

        Returns
        -------
        Tensor
            Scalar query loss, differentiable w.r.t. the meta-parameters (initial
            weights, encoder, and ``log_lrs`` with Meta-SGD).
        """
        if self.config.adapt == "head":
            emb = self.encoder(batch)
            fast = self.adapt_head(emb[:n_support], support_y)
            out = self.head_forward(emb[n_support:], fast)
        else:
            support, query = split_inputs(batch, n_support)
            fast = self.adapt(support, support_y)
            out = self.forward_with(query, fast)
        return self.loss(out, query_y)

    def predict_episode(self, support_batch, support_y: Tensor, query_batch, *, steps: int | None = None):
        """Adapt on the support and predict the query (no meta-gradient; detached outputs).

        Parameters
        ----------
        support_batch : PyG Batch / Tensor of ``n_support`` items
        support_y : Tensor ``[n_support]``
        query_batch : PyG Batch / Tensor of ``m`` items
        steps : int, optional
            Inner steps (default ``config.inner_steps``).

        Returns
        -------
        Tensor ``[m]`` of ``P(y = 1)`` (classification), or a tuple (mean ``[m]``,
        std ``[m]``) (regression). Call ``.eval()`` first for deterministic predictions
        that are independent of the query batch's composition.
        """
        if self.config.adapt == "head":
            with torch.no_grad():
                s_emb = self.encoder(support_batch)
                q_emb = self.encoder(query_batch)
            fast = self.adapt_head(s_emb, support_y, steps=steps, create_graph=False, detach=True)
            with torch.no_grad():
                out = self.head_forward(q_emb, fast)
        else:
            fast = self.adapt(support_batch, support_y, steps=steps, create_graph=False, detach=True)
            with torch.no_grad():
                out = self.forward_with(query_batch, {n: w.detach() for n, w in fast.items()})
        return self.outputs_to_prediction(out.detach())

    def outputs_to_prediction(self, outputs: Tensor):
        """Head outputs ``[m, n_out]`` -> probabilities ``[m]`` or (mean ``[m]``, std ``[m]``)."""
        if self.config.task == "classification":
            return torch.sigmoid(outputs[:, 0])
        mean, log_var = self.split_gaussian(outputs)
        return mean, torch.exp(0.5 * log_var)


@LEARNERS.register()
class MAMLLearner(ConfigModelLearnerMixin, FewShotLearner):
    """A meta-trained :class:`MAML` used as a few-shot learner on SMILES.

    Parameters
    ----------
    model : MAML
    featurizer : sciml.domains.molecules.graphs.MolGraphFeaturizer
    device : str, optional
        Default ``"cuda"`` when available. The model is moved there.
    batch_size : int, default 256
        Graphs per forward when embedding / scoring.
    inner_steps : int, optional
        Test-time inner steps (default ``model.config.inner_steps``).

    Notes
    -----
    ``adapt="head"`` (ANIL): :meth:`featurize` returns eval-mode encoder embeddings
    (``float32 [n, d]``); :meth:`fit_features` adapts only the head on the support
    embeddings. ``adapt="all"``: :meth:`featurize` returns an object array of PyG
    ``Data`` graphs (indexable as ``X[idx]``); :meth:`fit_features` adapts the whole
    network on the support graphs (support-batch BatchNorm statistics, running
    statistics untouched) and :meth:`predict_proba_features` runs the adapted network in
    eval mode (running statistics, so predictions are per-molecule).
    Test-time adaptation never needs second derivatives, so MAML and FOMAML models
    adapt identically here; the two classes differ only in ``name``.

    Regression targets are standardised by the support mean and standard deviation
    (:class:`~sciml.learners.base.TargetScaler`) before adaptation, as in meta-training,
    and predictions are mapped back to the support's units.

    Attributes
    ----------
    fast_weights_ : dict[str, Tensor]
        Adapted weights (detached) from the last :meth:`fit_features`.
    scaler_ : TargetScaler
        Regression only: the support standardisation.
    """

    name: ClassVar[str] = "maml"
    description: ClassVar[str] = "MAML (second order; ANIL head adaptation by default) on a GINE encoder"
    checkpoint_learners = ("maml", "fomaml")
    model_cls = MAML
    config_cls = MAMLConfig

    @classmethod
    def for_model(cls, model: MAML, featurizer, **kwargs) -> "MAMLLearner":
        """:class:`FOMAMLLearner` if ``model.config.first_order`` else :class:`MAMLLearner`."""
        klass = FOMAMLLearner if model.config.first_order else MAMLLearner
        return klass(model, featurizer, **kwargs)

    def __repr__(self) -> str:
        c = self.model.config
        return (f"{type(self).__name__}(adapt={c.adapt!r}, task={c.task!r}, inner_steps="
                f"{self.inner_steps if self.inner_steps is not None else c.inner_steps}, device={self.device!r})")

    def _graphs(self, smiles: list[str]) -> list:
        res = self.featurizer.featurize(list(smiles))
        if res.errors:
            i = min(res.errors)
            raise ValueError(f"input {i} ({smiles[i]!r}): {res.errors[i]}")
        return res.graphs

    def featurize(self, smiles: list[str]) -> np.ndarray:
        """``float32 [n, d]`` embeddings (``adapt="head"``) or an object array ``[n]`` of graphs (``"all"``)."""
        smiles = list(smiles)
        if self.model.config.adapt == "head":
            from sciml.graphs import embed_graphs

            return embed_graphs(self.model.encoder, self._graphs(smiles), self.device, self.batch_size)
        graphs = self._graphs(smiles)
        out = np.empty(len(graphs), dtype=object)
        for i, g in enumerate(graphs):  # element-wise: numpy would iterate a Data's (key, value) pairs
            out[i] = g
        return out

    def _batch(self, X: Sequence):
        from torch_geometric.data import Batch

        return Batch.from_data_list(list(X)).to(self.device)

    def _embeddings(self, X: np.ndarray) -> Tensor:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"features must be embeddings [n, d] for adapt='head', got shape {X.shape}")
        return torch.as_tensor(X, dtype=torch.float32, device=self.device)

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "MAMLLearner":
        """Adapt on the support set: ``X`` from :meth:`featurize` (``n_support`` rows), ``y`` ``[n_support]``."""
        y = self._support_targets(X, y)
        yt = torch.tensor(y, dtype=torch.float32, device=self.device)  # a copy: task labels are read-only
        with eval_mode(self.model):
            if self.model.config.adapt == "head":
                fast = self.model.adapt_head(self._embeddings(X), yt, steps=self.inner_steps, create_graph=False,
                                             detach=True)
            else:
                fast = self.model.adapt(self._batch(X), yt, steps=self.inner_steps, create_graph=False,
                                        detach=True)
        self.fast_weights_ = {n: w.detach() for n, w in fast.items()}
        return self

    def _outputs(self, X) -> Tensor:
        if not hasattr(self, "fast_weights_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet: call fit(smiles, y) or "
                                 f"fit_features(X, y) on a support set before predicting.")
        outs = []
        with eval_mode(self.model), torch.no_grad():
            if self.model.config.adapt == "head":
                emb = self._embeddings(X)
                for i in range(0, len(emb), self.batch_size):
                    outs.append(self.model.head_forward(emb[i : i + self.batch_size], self.fast_weights_))
            else:
                for i in range(0, len(X), self.batch_size):
                    outs.append(self.model.forward_with(self._batch(X[i : i + self.batch_size]), self.fast_weights_))
        if not outs:
            return torch.zeros(0, self.model.n_out)
        return torch.cat(outs).float().cpu()

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """``P(y = 1)`` for the query, float64 ``[n_query]`` (classification models only)."""
        if self.model.config.task != "classification":
            raise ValueError("predict_proba is for classification models: use predict_features for regression")
        return torch.sigmoid(self._outputs(X)[:, 0]).numpy().astype(np.float64)

    def predict_features(self, X: np.ndarray) -> Prediction:
        """Classification: ``mean = P(y = 1)``, ``std = 0`` (a single adapted network has no
        spread); regression: Gaussian mean and std in the support's units, with the central
        ``level`` interval. Fields float64 ``[n_query]``."""
        pred = self.model.outputs_to_prediction(self._outputs(X))
        if not isinstance(pred, tuple):
            p = pred.numpy().astype(np.float64)
            return Prediction(mean=p, std=np.zeros_like(p), lower=p.copy(), upper=p.copy(), level=self.level)
        mean, std = (t.numpy().astype(np.float64) for t in pred)
        mean, std = self.scaler_.inverse_mean(mean), self.scaler_.inverse_std(std)
        out = Prediction(mean=mean, std=std, level=self.level)
        out.lower, out.upper = out.interval()
        return out


@LEARNERS.register()
class FOMAMLLearner(MAMLLearner):
    """:class:`MAMLLearner` for a first-order (FOMAML) meta-trained model (registry name ``"fomaml"``)."""

    name: ClassVar[str] = "fomaml"
    description: ClassVar[str] = "first-order MAML on a GINE encoder"

    @classmethod
    def learner_config_for(cls, learner_config: dict, task: str, **train_options) -> dict:
        return {**super().learner_config_for(learner_config, task), "first_order": True}
