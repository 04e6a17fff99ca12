"""Episodic meta-training of a ProtoNet on the train tasks of a collection, with early stopping on validation tasks.

Test tasks are never read here: the function receives the collection and touches only
``collection.train`` (episodes) and ``collection.val`` (model selection).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from assays.episodes import EpisodeSampler, evaluation_episodes
from assays.task import TaskCollection
from sciml.encoders import build_encoder
from sciml.featurize.molecules import MolGraphFeaturizer
from sciml.graphs import GraphStore, embed_graphs
from sciml.learners.protonet import ProtoNet, ProtoNetLearner
from sciml.metrics import roc_auc

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything that defines a meta-training run (stored in the checkpoint)."""

    encoder: str = "gine"
    encoder_config: dict = field(default_factory=lambda: {
        "hidden": 256, "depth": 5, "out_dim": 256, "pooling": "mean+max", "dropout": 0.1,
        "norm": "batch", "residual": True, "gfeat_hidden": 256,
    })
    fingerprint_bits: int = 0
    k_shot: int = 10
    kshot_choices: list[int] | None = None
    n_query: int = 16
    steps: int = 2000
    tasks_per_step: int = 4
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 5.0
    learn_scale: bool = True
    eval_every: int = 200
    val_seeds: int = 3
    val_query_cap: int = 2000
    patience: int = 5
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    model: ProtoNet
    featurizer: MolGraphFeaturizer
    history: list[dict]
    best_step: int
    best_val_auc: float
    seconds: float
    steps_run: int


def build_model(cfg: TrainConfig, featurizer: MolGraphFeaturizer) -> ProtoNet:
    enc_cfg = dict(cfg.encoder_config)
    enc_cfg.update(atom_dim=featurizer.spec.atom_dim, bond_dim=featurizer.spec.bond_dim,
                   gfeat_dim=featurizer.spec.fingerprint_bits)
    return ProtoNet(build_encoder(cfg.encoder, enc_cfg), learn_scale=cfg.learn_scale)


def _lr_lambda(cfg: TrainConfig):
    def f(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return f


def validation_auc(model: ProtoNet, store: GraphStore, episodes, task_pos: dict[str, np.ndarray],
                   device: str) -> float:
    """Mean ROC-AUC over validation episodes.

    ``task_pos[name]`` maps a task's rows to store positions. Only the molecules that
    the episodes use are embedded (once).
    """
    rows = {name: task_pos[name] for name in {ep.task_name for ep in episodes}}
    needed = np.unique(np.concatenate(
        [rows[ep.task_name][np.concatenate([ep.support_idx, ep.query_idx])] for ep in episodes]))
    emb = embed_graphs(model.encoder, [store.graphs[p] for p in needed], device)
    lookup = np.full(len(store), -1, dtype=np.int64)
    lookup[needed] = np.arange(len(needed))
    learner = ProtoNetLearner(model, featurizer=None, device=device)
    aucs = []
    for ep in episodes:
        r = lookup[rows[ep.task_name]]
        learner.fit_features(emb[r[ep.support_idx]], ep.support_y)
        aucs.append(roc_auc(ep.query_y, learner.predict_proba_features(emb[r[ep.query_idx]])))
    return float(np.nanmean(aucs)) if aucs else float("nan")


def _cap_query(episodes, cap: int, seed: int):
    """Subsample very large validation queries (MUV) to keep selection cheap; stratified by label."""
    from assays.episodes import Episode

    rng = np.random.default_rng(seed)
    out = []
    for ep in episodes:
        if len(ep.query_idx) <= cap:
            out.append(ep)
            continue
        pos = np.flatnonzero(ep.query_y == 1)
        neg = np.flatnonzero(ep.query_y == 0)
        n_pos = min(len(pos), max(1, int(round(cap * len(pos) / len(ep.query_y)))))
        keep = np.sort(np.concatenate([pos[rng.permutation(len(pos))[:n_pos]],
                                       neg[rng.permutation(len(neg))[: cap - n_pos]]]))
        out.append(Episode(ep.task_name, ep.support_idx, ep.query_idx[keep], ep.support_y, ep.query_y[keep]))
    return out


def meta_train(collection: TaskCollection, cfg: TrainConfig, device: str | None = None,
               progress: bool = True) -> TrainResult:
    """Meta-train a ProtoNet on ``collection.train`` and keep the weights best on ``collection.val``."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    featurizer = MolGraphFeaturizer(fingerprint_bits=cfg.fingerprint_bits)
    train_tasks = collection.split("train")
    val_tasks = collection.split("val")
    smiles = list(dict.fromkeys(s for t in train_tasks + val_tasks for s in t.smiles))
    store = GraphStore(featurizer, smiles, progress=progress)
    logger.info("meta-training on %d train tasks, selecting on %d validation tasks, %d molecules",
                len(train_tasks), len(val_tasks), len(store))

    model = build_model(cfg, featurizer).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg))
    sampler = iter(EpisodeSampler(train_tasks, cfg.k_shot, cfg.n_query, seed=cfg.seed,
                                  kshot_choices=cfg.kshot_choices))
    val_eps = _cap_query(evaluation_episodes(val_tasks, cfg.k_shot, seeds=range(1000, 1000 + cfg.val_seeds)),
                         cfg.val_query_cap, cfg.seed) if val_tasks else []
    task_pos = {t.name: store.positions(t.smiles) for t in train_tasks + val_tasks}

    history: list[dict] = []
    best = (-1.0, 0, copy.deepcopy(model.state_dict()))
    bad_evals, t0, running, step = 0, time.time(), [], 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, desc="meta-training", unit="step", disable=None, mininterval=5)
    for step in range(1, cfg.steps + 1):
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_sum = 0.0
        for _ in range(cfg.tasks_per_step):
            ep = next(sampler)
            idx = np.concatenate([ep.support_idx, ep.query_idx])
            batch = store.batch(task_pos[ep.task_name][idx]).to(device)
            loss = model.episode_loss(batch, len(ep.support_idx), torch.tensor(ep.support_y, device=device),
                                      torch.tensor(ep.query_y, device=device))
            (loss / cfg.tasks_per_step).backward()
            loss_sum += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        running.append(loss_sum / cfg.tasks_per_step)
        if bar is not None:
            bar.update(1)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            val = validation_auc(model, store, val_eps, task_pos, device) if val_eps else float("nan")
            rec = {"step": step, "train_loss": float(np.mean(running)), "val_roc_auc": val,
                   "lr": sched.get_last_lr()[0], "seconds": time.time() - t0}
            history.append(rec)
            running = []
            logger.info("step %d: train loss %.4f, val ROC-AUC %.4f", step, rec["train_loss"], val)
            if bar is not None:
                bar.set_postfix(loss=f"{rec['train_loss']:.3f}", val_auc=f"{val:.3f}")
            if not val_eps or val > best[0]:
                best, bad_evals = (val, step, copy.deepcopy(model.state_dict())), 0
            else:
                bad_evals += 1
                if bad_evals >= cfg.patience:
                    logger.info("early stopping at step %d (best %d, val ROC-AUC %.4f)", step, best[1], best[0])
                    break
    if bar is not None:
        bar.close()
    model.load_state_dict(best[2])
    model.eval()
    return TrainResult(model=model, featurizer=featurizer, history=history, best_step=best[1],
                       best_val_auc=best[0], seconds=time.time() - t0, steps_run=step)
