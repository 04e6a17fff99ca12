"""Supervised multitask pretraining of the molecular GNN on the labels of meta-train tasks.

:func:`pretrain_multitask` builds the label matrix of the given train tasks
(:func:`sciml.pretrain.multitask.label_matrix`), holds out a seeded fraction of the *molecules*
to choose the best step by their masked loss, and trains :class:`sciml.pretrain.MultitaskPretrainer`
(one output per task) with the warm-up + cosine schedule of meta-training. Only train tasks go in:
validation tasks stay for the meta-training that starts from this encoder, and test tasks are never
read. ``<out>`` becomes a sciml checkpoint of a ProtoNet around the best encoder (fixed metric
scale, no meta-training) whose ``training.train_tasks`` lists the tasks whose labels it saw, so
``sciml train --init-encoder <out>`` refuses a run that keeps one of them for validation or test;
``<out>/pretraining.json`` holds the curve and the counts.
"""

from __future__ import annotations

import json
import logging
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from sciml.files import atomic_write_text

logger = logging.getLogger(__name__)

__all__ = ["MultitaskPretrainConfig", "pretrain_multitask"]


@dataclass
class MultitaskPretrainConfig:
    """Settings of a multitask pretraining run (stored in the checkpoint's ``training.pretraining``)."""

    steps: int = 1500
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-5
    warmup_steps: int = 100
    dropout: float = 0.1
    holdout: float = 0.1  # fraction of molecules held out to choose the best step
    eval_every: int = 100
    encoder_config: dict = field(default_factory=lambda: {"hidden": 128, "depth": 4, "out_dim": 128})
    seed: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 2 or self.eval_every < 1:
            raise ValueError("steps and eval_every must be >= 1 and batch_size >= 2")
        if not 0.0 < self.holdout < 0.5:
            raise ValueError(f"holdout must be in (0, 0.5), got {self.holdout}")


def _masked_loss(model, featurizer, graphs: list, y: torch.Tensor, batch_size: int, device: str) -> float:
    """Mean loss over the observed labels of ``graphs`` (eval mode), weighted by label counts."""
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(graphs), batch_size):
            out = model(featurizer.collate(graphs[i:i + batch_size]).to(device), y[i:i + batch_size].to(device))
            k = int(out["n_labels"])
            total, n = total + float(out["loss"]) * k, n + k
    model.train()
    return total / max(n, 1)


def pretrain_multitask(cfg: MultitaskPretrainConfig, tasks: Sequence, out: str | Path, command: str = "") -> dict:
    """Pretrain on the labels of ``tasks`` (:class:`assays.task.Task`); write the checkpoint to ``out``.

    Returns the ``pretraining.json`` record. ``ValueError`` when fewer than 20 molecules featurize.
    """
    from sciml.checkpoint import save_checkpoint
    from sciml.config import default_device
    from sciml.domains import get_domain
    from sciml.encoders import build_encoder
    from sciml.learners.protonet import ProtoNet
    from sciml.pretrain import MultitaskPretrainer, label_matrix

    from pipelines.train import lr_lambda

    out = Path(out)
    device = cfg.device or default_device()
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    inputs, y, is_cls = label_matrix(tasks)
    domain = get_domain("molecules")
    featurizer = domain.featurizer()
    res = featurizer.featurize(inputs)
    keep = [i for i, g in enumerate(res.graphs) if g is not None]
    if len(keep) < 20:
        raise ValueError(f"multitask pretraining needs at least 20 molecules that featurize, got {len(keep)}")
    graphs = [res.graphs[i] for i in keep]
    y = torch.from_numpy(y[keep])
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(graphs))
    n_hold = max(1, int(round(cfg.holdout * len(graphs))))
    hold, train = order[:n_hold], order[n_hold:]
    g_hold, y_hold = [graphs[i] for i in hold], y[torch.from_numpy(hold)]
    enc_name, enc_cfg = domain.default_encoder(featurizer, **cfg.encoder_config)
    model = MultitaskPretrainer(build_encoder(enc_name, enc_cfg), is_cls, dropout=cfg.dropout).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    factor = lr_lambda(cfg)
    curve, best, best_state, pos, epoch = [], (float("inf"), 0), None, 0, 0
    perm = np.random.default_rng([cfg.seed, 0]).permutation(train)
    window: list[float] = []
    model.train()
    for step in range(1, cfg.steps + 1):
        if pos + cfg.batch_size > len(perm):
            epoch += 1
            perm, pos = np.random.default_rng([cfg.seed, epoch]).permutation(train), 0
        idx = perm[pos:pos + cfg.batch_size]
        pos += cfg.batch_size
        for g in opt.param_groups:
            g["lr"] = cfg.lr * factor(step - 1)
        loss = model(featurizer.collate([graphs[i] for i in idx]).to(device), y[torch.from_numpy(idx)].to(device))
        opt.zero_grad(set_to_none=True)
        loss["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        window.append(float(loss["loss"].detach()))
        if step % cfg.eval_every == 0 or step == cfg.steps:
            held = _masked_loss(model, featurizer, g_hold, y_hold, 256, device)
            curve.append({"step": step, "train_loss": float(np.mean(window)), "holdout_loss": held})
            logger.info("step %d: train loss %.4f, held-out loss %.4f", step, curve[-1]["train_loss"], held)
            window = []
            if held < best[0]:
                best = (held, step)
                best_state = {k: v.detach().cpu().clone() for k, v in model.encoder.state_dict().items()}
    seconds = time.perf_counter() - t0
    model.encoder.load_state_dict(best_state)
    record = {"method": "supervised multitask", "config": asdict(cfg), "command": command,
              "n_tasks": len(tasks), "classification_tasks": int(is_cls.sum()), "molecules": len(graphs),
              "molecules_failed": len(inputs) - len(graphs), "holdout_molecules": int(n_hold),
              "observed_labels": int((~torch.isnan(y)).sum()), "best_step": best[1], "best_holdout_loss": best[0],
              "seconds": seconds, "device": device, "steps": cfg.steps, "epochs_started": epoch + 1,
              "molecules_per_second": cfg.steps * cfg.batch_size / max(seconds, 1e-9),
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "curve": curve}
    protonet = ProtoNet(model.encoder.cpu(), learn_scale=False)
    training = {"pretraining": {k: v for k, v in record.items() if k != "curve"},
                "train_tasks": [t.name for t in tasks], "val_tasks": [], "test_tasks": [], "command": command}
    save_checkpoint(out, protonet, featurizer, encoder=enc_name, encoder_config=enc_cfg, learner="protonet",
                    learner_config={"learn_scale": False}, training=training)
    atomic_write_text(out / "pretraining.json", json.dumps(record, indent=1) + "\n")
    logger.info("multitask-pretrained %d steps (best %d) in %.0f s; checkpoint %s", cfg.steps, best[1], seconds, out)
    return record
