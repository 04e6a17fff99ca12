"""An encoder on a frozen pretrained embedding alone (MiniMol), in place of the GNN."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from sciml.encoders.gin import pretrained_branch
from sciml.encoders.registry import ENCODERS, Encoder


@dataclass
class PretrainedMLPConfig:
    """Hyperparameters of :class:`PretrainedMLPEncoder` (stored in checkpoints).

    ``atom_dim`` / ``bond_dim`` are the featurizer's graph widths, accepted so that one
    featurizer serves every encoder; this encoder reads no atoms or bonds.
    """

    mfeat_dim: int
    atom_dim: int = 0
    bond_dim: int = 0
    gfeat_dim: int = 0  # optional Morgan count fingerprint beside the embedding (0 = none)
    gfeat_hidden: int = 256
    hidden: int = 256
    depth: int = 1  # hidden layers after the input branches
    out_dim: int = 128
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.mfeat_dim <= 0:
            raise ValueError("the pretrained_mlp encoder needs the MiniMol embedding: train with --minimol "
                             "(featurizer option minimol=True)")

    def to_dict(self) -> dict:
        return asdict(self)


@ENCODERS.register("pretrained_mlp")
class PretrainedMLPEncoder(Encoder):
    """Frozen embedding ``batch.mfeat`` (+ optional fingerprint ``batch.gfeat``) -> MLP -> embedding.

    A learnable adapter on MiniMol's 512-d representation: the meta-learner trains the
    MLP, MiniMol stays frozen (it is an ONNX graph).

    Shapes:
        - batch.mfeat: ``[n_graphs, mfeat_dim]``; batch.gfeat (optional): ``[n_graphs, gfeat_dim]``
        - output: ``[n_graphs, out_dim]``
    """

    config_cls = PretrainedMLPConfig

    def __init__(self, config: PretrainedMLPConfig):
        super().__init__()
        c = self.config = config
        self.mfeat_mlp = pretrained_branch(c.mfeat_dim, c.hidden, c.dropout)
        width = c.hidden
        if c.gfeat_dim:
            self.gfeat_mlp = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.gfeat_dim, c.gfeat_hidden), nn.ReLU())
            width += c.gfeat_hidden
        layers: list[nn.Module] = []
        for _ in range(c.depth):
            layers += [nn.Dropout(c.dropout), nn.Linear(width, c.hidden), nn.ReLU()]
            width = c.hidden
        self.body = nn.Sequential(*layers)
        self.out = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(width, c.out_dim))

    def forward(self, batch) -> Tensor:
        h = self.mfeat_mlp(batch.mfeat.float())
        if self.config.gfeat_dim:
            h = torch.cat([h, self.gfeat_mlp(torch.log1p(batch.gfeat.float()))], -1)
        return self.out(self.body(h))

    def __repr__(self) -> str:
        c = self.config
        return (f"{self.__class__.__name__}(mfeat_dim={c.mfeat_dim}, gfeat_dim={c.gfeat_dim}, hidden={c.hidden}, "
                f"depth={c.depth}, out_dim={c.out_dim})")
