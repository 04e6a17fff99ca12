"""Supervised multitask pretraining of an encoder: one output per train task, missing labels masked.

The meta-train tasks of a collection label overlapping sets of molecules. :func:`label_matrix`
turns them into one matrix ``Y [n_molecules, n_tasks]`` (NaN where a task did not measure a
molecule); :class:`MultitaskPretrainer` is the encoder with a linear head of one output per task,
trained on the observed entries only: binary cross-entropy for classification tasks (logits),
squared error on each task's z-scored values for regression tasks. What the encoder learns is
what the train tasks share about a molecule (its promiscuity, its chemotype's liabilities), the
knowledge that a support-free score reads, which meta-training on top then learns to adapt.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["label_matrix", "MultitaskPretrainer"]


def label_matrix(tasks: Sequence) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(inputs, Y, is_classification)`` of ``tasks`` (objects with ``name``, ``inputs``, ``labels``, ``kind``).

    ``inputs``: every input of any task, in first-seen order; ``Y``: float32 ``[n_inputs, n_tasks]``,
    NaN where the task has no label (a repeated input within a task keeps its mean label; regression
    columns are z-scored per task, a constant task becomes 0); ``is_classification``: bool
    ``[n_tasks]``. ``ValueError`` for no task, or a task without labels.
    """
    if not tasks:
        raise ValueError("multitask pretraining needs at least one task")
    index: dict[str, int] = {}
    for t in tasks:
        if len(t.inputs) == 0:
            raise ValueError(f"task {t.name!r} has no labelled input")
        for s in t.inputs:
            index.setdefault(s, len(index))
    total = np.zeros((len(index), len(tasks)), dtype=np.float64)
    count = np.zeros_like(total)
    for j, t in enumerate(tasks):
        rows = np.fromiter((index[s] for s in t.inputs), dtype=np.int64, count=len(t.inputs))
        np.add.at(total[:, j], rows, np.asarray(t.labels, dtype=np.float64))
        np.add.at(count[:, j], rows, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(count > 0, total / np.maximum(count, 1.0), np.nan)
    is_cls = np.array([t.kind == "classification" for t in tasks])
    for j in np.flatnonzero(~is_cls):
        col = y[:, j]
        sd = np.nanstd(col)
        y[:, j] = (col - np.nanmean(col)) / sd if sd > 0 else np.where(np.isnan(col), np.nan, 0.0)
    return list(index), y.astype(np.float32), is_cls


class MultitaskPretrainer(nn.Module):
    """Encoder + a linear head with one output per task; :meth:`forward` gives the masked loss.

    Parameters
    ----------
    encoder : nn.Module
        Graph encoder with ``out_dim``: ``encoder(batch) -> [n_graphs, out_dim]``.
    is_classification : array of bool ``[n_tasks]``
        Per output: logits + binary cross-entropy (True) or z-scored value + squared error (False).
    dropout : float, default 0.1
        Dropout on the embedding before the head.
    """

    def __init__(self, encoder: nn.Module, is_classification, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.register_buffer("is_cls", torch.as_tensor(np.asarray(is_classification, dtype=bool)))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.out_dim, int(self.is_cls.numel()))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.head.reset_parameters()

    def forward(self, batch, y: Tensor) -> dict[str, Tensor]:
        """Masked loss of a batch: ``y`` float ``[n_graphs, n_tasks]`` with NaN for missing labels.

        Returns ``{"loss": mean over observed entries, "n_labels": their count}``; a batch without any
        observed label gives a zero loss that still depends on the weights (so ``backward`` works).
        """
        out = self.head(self.dropout(self.encoder(batch)))  # [n_graphs, n_tasks]
        seen = ~torch.isnan(y)
        target = torch.nan_to_num(y)
        cls = self.is_cls.unsqueeze(0).expand_as(out)
        per = torch.where(cls, F.binary_cross_entropy_with_logits(out, target, reduction="none"),
                          (out - target).pow(2))
        n = seen.sum()
        loss = (per * seen).sum() / n.clamp_min(1)
        return {"loss": loss, "n_labels": n}

    @torch.no_grad()
    def predict(self, batch) -> Tensor:
        """Head outputs ``[n_graphs, n_tasks]`` (logits for classification columns), eval mode."""
        was = self.training
        self.eval()
        try:
            return self.head(self.encoder(batch))
        finally:
            self.train(was)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(encoder={type(self.encoder).__name__}, n_tasks={self.head.out_features}, "
                f"classification={int(self.is_cls.sum())})")
