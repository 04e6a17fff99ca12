"""Self-supervised pretraining of a graph encoder: attribute masking plus a graph contrastive loss.

* **Attribute masking** (Hu et al., ICLR 2020): in each batch a random ``mask_rate`` of the nodes
  have their feature row replaced by zeros, and a linear head on the encoder's node states
  predicts a class read from the original row: the argmax of the columns ``target_columns``
  (for molecules the element one-hot, so the encoder learns to infer an atom from its
  neighbourhood). It trains the atom embedding and the message-passing blocks.
* **Graph contrastive** (GraphCL, You et al., NeurIPS 2020, with node masking as the
  augmentation): two independently masked views of every graph of the batch, encoded to graph
  embeddings and projected; an NT-Xent loss (temperature ``temperature``) makes each graph's two
  views each other's nearest neighbour among the batch. It trains the pooling and the output
  projection, which masking alone leaves untouched.

The encoder must offer ``node_embeddings(batch) -> [n_nodes, hidden]`` and
``readout(h, batch) -> [n_graphs, out_dim]`` (:class:`~sciml.encoders.gin.GINEncoder` does);
both views' node states serve both losses, so a step costs two encoder passes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["MaskedGraphPretrainer"]


class MaskedGraphPretrainer(nn.Module):
    """Encoder + the pretraining heads (:mod:`sciml.pretrain.masking`).

    Parameters
    ----------
    encoder : nn.Module
        With ``node_embeddings``, ``readout``, ``config.hidden`` and ``out_dim``.
    target_columns : (int, int)
        ``[start, stop)`` of the node-feature columns whose argmax is the masked-node class.
    mask_rate : float, default 0.15
        Share of nodes masked per view (at least one node per batch).
    contrastive_weight : float, default 1.0
        Weight of the NT-Xent loss (0: attribute masking alone, one view per step).
    temperature : float, default 0.2
    proj_dim : int, default 128
        Width of the contrastive projection head.
    """

    def __init__(self, encoder: nn.Module, target_columns: tuple[int, int], *, mask_rate: float = 0.15,
                 contrastive_weight: float = 1.0, temperature: float = 0.2, proj_dim: int = 128):
        super().__init__()
        for attr in ("node_embeddings", "readout"):
            if not callable(getattr(encoder, attr, None)):
                raise ValueError(f"the encoder has no {attr}(): pretraining needs node states and a readout "
                                 "(the GINE encoder has both)")
        lo, hi = (int(c) for c in target_columns)
        if not 0 <= lo < hi:
            raise ValueError(f"target_columns must be [start, stop) with 0 <= start < stop, got {target_columns}")
        if not 0.0 < mask_rate < 1.0:
            raise ValueError(f"mask_rate must lie strictly between 0 and 1, got {mask_rate}")
        if contrastive_weight < 0 or temperature <= 0:
            raise ValueError("contrastive_weight must be >= 0 and temperature > 0")
        self.encoder = encoder
        self.target_columns = (lo, hi)
        self.mask_rate = float(mask_rate)
        self.contrastive_weight = float(contrastive_weight)
        self.temperature = float(temperature)
        self.node_head = nn.Linear(encoder.config.hidden, hi - lo)
        self.proj = nn.Sequential(nn.Linear(encoder.out_dim, proj_dim), nn.ReLU(), nn.Linear(proj_dim, proj_dim))

    def reset_parameters(self) -> None:
        """Re-initialise the encoder (when it can) and both heads."""
        if hasattr(self.encoder, "reset_parameters"):
            self.encoder.reset_parameters()
        for m in (self.node_head, *self.proj):
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.encoder!r}, target_columns={self.target_columns}, "
                f"mask_rate={self.mask_rate}, contrastive_weight={self.contrastive_weight}, "
                f"temperature={self.temperature})")

    def masked_view(self, batch, generator: torch.Generator):
        """``(view, mask)``: a shallow copy of ``batch`` whose masked nodes' rows of ``x`` are zero, and
        the mask ``bool [n_nodes]`` (drawn on the CPU from ``generator``, so runs repeat on any device)."""
        n = batch.x.shape[0]
        mask = torch.rand(n, generator=generator) < self.mask_rate
        if not mask.any():
            mask[torch.randint(n, (1,), generator=generator)] = True
        mask = mask.to(batch.x.device)
        view = batch.clone()
        view.x = batch.x.masked_fill(mask[:, None], 0.0)
        return view, mask

    def forward(self, batch, generator: torch.Generator) -> dict[str, Tensor]:
        """Losses of one batch (a PyG ``Batch`` of ``n_graphs`` graphs).

        Returns ``loss`` (what to minimise), ``mask_loss`` (cross-entropy over masked nodes),
        ``mask_accuracy`` and ``contrastive_loss`` (0 when ``contrastive_weight`` is 0); scalars.
        """
        lo, hi = self.target_columns
        target = batch.x[:, lo:hi].argmax(dim=-1)
        views = 2 if self.contrastive_weight > 0 else 1
        mask_losses, correct, total, graphs = [], 0, 0, []
        for _ in range(views):
            view, mask = self.masked_view(batch, generator)
            h = self.encoder.node_embeddings(view)
            logits = self.node_head(h[mask])
            mask_losses.append(F.cross_entropy(logits, target[mask]))
            correct += int((logits.argmax(-1) == target[mask]).sum())
            total += int(mask.sum())
            if views == 2:
                graphs.append(self.encoder.readout(h, view))
        mask_loss = torch.stack(mask_losses).mean()
        contrastive = mask_loss.new_zeros(())
        if views == 2 and batch.num_graphs > 1:
            z1, z2 = (F.normalize(self.proj(g), dim=-1) for g in graphs)
            sim = z1 @ z2.T / self.temperature
            labels = torch.arange(sim.shape[0], device=sim.device)
            contrastive = 0.5 * (F.cross_entropy(sim, labels) + F.cross_entropy(sim.T, labels))
        return {"loss": mask_loss + self.contrastive_weight * contrastive, "mask_loss": mask_loss,
                "mask_accuracy": mask_loss.new_tensor(correct / max(total, 1)), "contrastive_loss": contrastive}
