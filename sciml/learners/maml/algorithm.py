"""The MAML algorithm on tensors: :class:`MAML` (encoder + head) and its functional inner loop.

A :class:`MAML` model is an encoder followed by a small MLP head. For each episode it
takes ``inner_steps`` gradient steps on the support loss, starting from the
meta-learned weights, and scores the query with the adapted ("fast") weights; the
meta-training objective is the query loss after adaptation, differentiated back to the
initial weights. Variants selected by :class:`~sciml.learners.maml.config.MAMLConfig`:

* ``first_order=True``: FOMAML; the inner gradients are treated as constants
  (no second derivatives, less memory).
* ``meta_sgd=True``: Meta-SGD (Li et al. 2017); a learned per-element inner learning
  rate ``exp(log_lr)`` for every adapted weight.
* ``adapt="head"``: ANIL (Raghu et al. 2020); only the head adapts, the encoder is
  shared across tasks, so the encoder runs once per episode and the inner loop runs on
  embeddings (cheap). ``adapt="all"``: the whole network adapts.
* ``task="regression"``: the head outputs a mean and a log-variance and the loss is
  the heteroscedastic Gaussian negative log-likelihood (:func:`sciml.losses.gaussian_nll`).

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
:func:`sciml.graphs.embed_graphs` computes them for
:class:`~sciml.learners.maml.learner.MAMLLearner`).

The module knows nothing about featurization: it takes encoder inputs (a tensor, or a
PyG ``Batch`` for graph encoders) and label tensors, as learn2learn's ``MAML`` wraps any
model.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _BatchNorm

from sciml.learners.maml.config import LOG_VAR_MAX, LOG_VAR_MIN, MAMLConfig
from sciml.losses import gaussian_nll

__all__ = ["MAML", "split_inputs"]


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
        both loops (BCE-with-logits for classification, :func:`sciml.losses.gaussian_nll`
        for regression). Not stored in checkpoints.

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

    def reset_parameters(self) -> None:
        """Re-initialise the encoder (when it has ``reset_parameters``) and the head; Meta-SGD rates back to ``inner_lr``."""
        if hasattr(self.encoder, "reset_parameters"):
            self.encoder.reset_parameters()
        for m in self.head:
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        with torch.no_grad():
            for p in self.log_lrs.values():
                p.fill_(math.log(self.config.inner_lr))

    def __repr__(self) -> str:
        c = self.config
        return (f"{type(self).__name__}({self.encoder!r}, embed_dim={self.embed_dim}, adapt={c.adapt!r}, "
                f"task={c.task!r}, inner_steps={c.inner_steps}, inner_lr={c.inner_lr}, "
                f"first_order={c.first_order}, meta_sgd={c.meta_sgd}, head_hidden={c.head_hidden})")

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
        :func:`sciml.losses.gaussian_nll` with ``mean = outputs[:, 0]``, ``log_var = outputs[:, 1]``
        (clamped to ``[LOG_VAR_MIN, LOG_VAR_MAX]``).
        """
        y = y.to(device=outputs.device, dtype=outputs.dtype).reshape(-1)
        if self.loss_fn is not None:
            return self.loss_fn(outputs, y)
        if self.config.task == "classification":
            return nn.functional.binary_cross_entropy_with_logits(outputs[:, 0], y)
        mean, log_var = self.split_gaussian(outputs)
        return gaussian_nll(y, mean, log_var=log_var)

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
        if self.config.algorithm == "reptile":
            return self._reptile_loss(batch, torch.cat([support_y.reshape(-1), query_y.reshape(-1)]))
        if self.config.adapt == "head":
            emb = self.encoder(batch)
            fast = self.adapt_head(emb[:n_support], support_y)
            out = self.head_forward(emb[n_support:], fast)
        else:
            support, query = split_inputs(batch, n_support)
            fast = self.adapt(support, support_y)
            out = self.forward_with(query, fast)
        return self.loss(out, query_y)

    def _reptile_loss(self, batch, y: Tensor) -> Tensor:
        """Reptile's surrogate ``0.5 * sum ||theta - stop_grad(phi)||^2 / lr`` for one episode (all its items).

        ``phi``: the weights after ``inner_steps`` first-order SGD steps on the episode's loss; the
        gradient w.r.t. ``theta`` is ``(theta - phi) / lr``, the Reptile direction in units of the task
        loss's gradient (one step: exactly that gradient), so the outer learning rate keeps its meaning.
        """
        fast = self.adapt(batch, y, create_graph=False, detach=True)
        lr = self.config.inner_lr * max(1, self.config.inner_steps)
        params = self._adapted_params()
        return sum(0.5 * ((params[n] - w.detach()) ** 2).sum() for n, w in fast.items()) / lr

    def outputs_to_prediction(self, outputs: Tensor):
        """Head outputs ``[m, n_out]`` -> probabilities ``[m]`` or (mean ``[m]``, std ``[m]``)."""
        if self.config.task == "classification":
            return torch.sigmoid(outputs[:, 0])
        mean, log_var = self.split_gaussian(outputs)
        return mean, torch.exp(0.5 * log_var)
