"""Edge-aware GIN (GINE) encoder for molecular graphs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch_geometric.nn import GINEConv, global_add_pool, global_max_pool, global_mean_pool
from torch_geometric.nn.aggr import AttentionalAggregation

from sciml.encoders.registry import ENCODERS, Encoder


def _norm(kind: str | None, dim: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(dim)
    if kind == "layer":
        return nn.LayerNorm(dim)
    if kind in (None, "none"):
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; choose batch, layer or none")


class GINEBlock(nn.Module):
    """One GINE message-passing layer with norm, ReLU, dropout and an optional residual.

    ``h' = dropout(relu(norm(GINEConv(h, edge_attr)))) (+ h)``, where GINEConv computes
    ``MLP((1 + eps) h_i + sum_j relu(h_j + W e_ij))``.

    Shapes:
        - h: ``[n_nodes, hidden]``
        - edge_index: ``[2, n_edges]``; edge_attr: ``[n_edges, edge_dim]``
        - output: ``[n_nodes, hidden]``
    """

    def __init__(self, hidden: int, edge_dim: int, dropout: float = 0.0, norm: str | None = "batch",
                 residual: bool = True):
        super().__init__()
        self.hidden, self.edge_dim, self.residual = hidden, edge_dim, residual
        mlp = nn.Sequential(nn.Linear(hidden, 2 * hidden), _norm(norm, 2 * hidden), nn.ReLU(),
                            nn.Linear(2 * hidden, hidden))
        self.conv = GINEConv(mlp, train_eps=True, edge_dim=edge_dim)
        self.norm = _norm(norm, hidden)
        self.dropout = nn.Dropout(dropout)

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()
        for m in self.conv.nn.modules():
            if hasattr(m, "reset_parameters") and m is not self.conv.nn:
                m.reset_parameters()
        if hasattr(self.norm, "reset_parameters"):
            self.norm.reset_parameters()

    def forward(self, h: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        out = self.dropout(torch.relu(self.norm(self.conv(h, edge_index, edge_attr))))
        return out + h if self.residual else out

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(hidden={self.hidden}, edge_dim={self.edge_dim}, residual={self.residual})"


@dataclass
class GINEConfig:
    """Hyperparameters of :class:`GINEncoder` (stored in checkpoints)."""

    atom_dim: int
    bond_dim: int
    hidden: int = 256
    depth: int = 5
    out_dim: int = 256
    pooling: Literal["mean", "sum", "max", "mean+max", "attention"] = "mean+max"
    dropout: float = 0.1
    norm: Literal["batch", "layer", "none"] = "batch"
    residual: bool = True
    gfeat_dim: int = 0  # graph-level fingerprint width (0 = none)
    gfeat_hidden: int = 256
    mfeat_dim: int = 0  # frozen pretrained (MiniMol) embedding width (0 = none)
    mfeat_hidden: int = 256

    def to_dict(self) -> dict:
        return asdict(self)


@ENCODERS.register("gine")
class GINEncoder(Encoder):
    """Molecular graph -> embedding: atom embedding, ``depth`` GINE blocks, pooling, projection.

    If ``gfeat_dim > 0`` the graph-level count fingerprint ``batch.gfeat`` is passed
    through ``log1p`` and an MLP and concatenated with the pooled node states before
    the output projection (a hybrid GNN / fingerprint encoder, as chemprop's
    ``features_generator``). If ``mfeat_dim > 0`` the frozen pretrained embedding
    ``batch.mfeat`` (MiniMol) goes through LayerNorm and an MLP and is concatenated the
    same way: the GNN learns what the pretrained representation lacks.

    Shapes:
        - batch.x: ``[n_nodes, atom_dim]``; batch.edge_attr: ``[n_edges, bond_dim]``
        - batch.gfeat (optional): ``[n_graphs, gfeat_dim]``
        - batch.mfeat (optional): ``[n_graphs, mfeat_dim]``
        - output: ``[n_graphs, out_dim]``
    """

    config_cls = GINEConfig

    def __init__(self, config: GINEConfig):
        super().__init__()
        c = self.config = config
        self.atom_in = nn.Linear(c.atom_dim, c.hidden)
        self.blocks = nn.ModuleList(
            GINEBlock(c.hidden, c.bond_dim, c.dropout, c.norm, c.residual) for _ in range(c.depth)
        )
        pool_mult = 2 if c.pooling == "mean+max" else 1
        if c.pooling == "attention":
            self.attn = AttentionalAggregation(nn.Sequential(nn.Linear(c.hidden, c.hidden), nn.ReLU(),
                                                             nn.Linear(c.hidden, 1)))
        graph_dim = pool_mult * c.hidden
        if c.gfeat_dim:
            self.gfeat_mlp = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.gfeat_dim, c.gfeat_hidden), nn.ReLU())
            graph_dim += c.gfeat_hidden
        if c.mfeat_dim:
            self.mfeat_mlp = pretrained_branch(c.mfeat_dim, c.mfeat_hidden, c.dropout)
            graph_dim += c.mfeat_hidden
        self.out = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(graph_dim, c.out_dim))

    def pool(self, h: Tensor, batch: Tensor, n_graphs: int) -> Tensor:
        p = self.config.pooling
        if p == "mean":
            return global_mean_pool(h, batch, n_graphs)
        if p == "sum":
            return global_add_pool(h, batch, n_graphs)
        if p == "max":
            return global_max_pool(h, batch, n_graphs)
        if p == "mean+max":
            return torch.cat([global_mean_pool(h, batch, n_graphs), global_max_pool(h, batch, n_graphs)], -1)
        if p == "attention":
            return self.attn(h, batch, dim_size=n_graphs)
        raise ValueError(f"unknown pooling {p!r}")

    def node_embeddings(self, batch) -> Tensor:
        """Atom states after the last GINE block ``[n_nodes, hidden]`` (what pooling reads; node-level pretraining)."""
        h = self.atom_in(batch.x)
        for block in self.blocks:
            h = block(h, batch.edge_index, batch.edge_attr)
        return h

    def forward(self, batch) -> Tensor:
        return self.readout(self.node_embeddings(batch), batch)

    def readout(self, h: Tensor, batch) -> Tensor:
        """Node states ``h`` ``[n_nodes, hidden]`` of ``batch`` -> the embedding ``[n_graphs, out_dim]``:
        pooling, the graph-level features (``gfeat``, ``mfeat``) when configured, the output projection."""
        g = self.pool(h, batch.batch, batch.num_graphs)
        if self.config.gfeat_dim:
            g = torch.cat([g, self.gfeat_mlp(torch.log1p(batch.gfeat.float()))], -1)
        if self.config.mfeat_dim:
            g = torch.cat([g, self.mfeat_mlp(batch.mfeat.float())], -1)
        return self.out(g)

    def __repr__(self) -> str:
        c = self.config
        return (f"{self.__class__.__name__}(atom_dim={c.atom_dim}, hidden={c.hidden}, depth={c.depth}, "
                f"out_dim={c.out_dim}, pooling={c.pooling!r}, gfeat_dim={c.gfeat_dim}, mfeat_dim={c.mfeat_dim})")


def pretrained_branch(dim: int, hidden: int, dropout: float) -> nn.Sequential:
    """``[n, dim]`` frozen pretrained embedding -> ``[n, hidden]``: LayerNorm, dropout, linear, ReLU."""
    return nn.Sequential(nn.LayerNorm(dim), nn.Dropout(dropout), nn.Linear(dim, hidden), nn.ReLU())
