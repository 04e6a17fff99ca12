"""Episodic meta-training of any registered meta-learner, with early stopping on validation tasks.

The learner is picked by registry name (:data:`sciml.learners.LEARNERS`: ``protonet``,
``maml``, ``fomaml``, ``bmaml``, ``dkgp``); its class builds the model
(``build_model(encoder, learner_config)``), the model gives the episode loss
(``episode_loss(batch, n_support, support_y, query_y)``), and validation runs the very
learner class that users get from the checkpoint (``fit_features`` /
``predict_features``), so selection scores exactly what is later evaluated.
Classification selects on mean ROC-AUC, regression on mean R² of validation episodes.
Regression targets are standardised per episode by the support mean and std, as the
learners do at prediction time. After training, the post-hoc calibration
(:mod:`sciml.calibration`) is fitted on the validation episodes' predictions.

Test tasks are never read here: the function receives the collection and touches only
``collection.train`` (episodes) and ``collection.val`` (model selection, calibration).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from assays.episodes import EpisodeSampler, evaluation_episodes
from assays.task import TaskCollection
from sciml.config import default_device
from sciml.domains import get_domain
from sciml.encoders import build_encoder
from sciml.graphs import GraphStore
from sciml.learners.base import Prediction, TargetScaler
from sciml.metrics import r2, roc_auc

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything that defines a meta-training run (stored in the checkpoint)."""

    learner: str = "protonet"
    learner_config: dict = field(default_factory=dict)
    domain: str = "molecules"
    #: Encoder name; ``None`` takes the domain's default encoder (GINE for molecules).
    encoder: str | None = None
    #: Encoder hyperparameters over the encoder's defaults (input widths come from the featurizer).
    encoder_config: dict = field(default_factory=dict)
    fingerprint_bits: int = 0  # featurizer option: a graph-level fingerprint of this width (0 = none)
    minimol: bool = False  # featurizer option: the frozen MiniMol embedding beside the graph (``mfeat``)
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
    # A capped classification query keeps every molecule of its rarer class (up to half the cap), so
    # ROC-AUC on rare-active assays (MUV: ~20 actives in ~15k) rests on all of them; the calibration is
    # still fitted on a subsample at the natural ratio. False subsamples both classes in proportion.
    val_keep_rare: bool = True
    patience: int = 5
    seed: int = 0
    init_encoder: str | None = None  # checkpoint folder whose encoder weights start the run (warm start)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """The config stored in a checkpoint (``training.config``); keys this version lacks are a ``ValueError``."""
        from dataclasses import fields

        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"training config keys {unknown} are not settings of this sciml version's TrainConfig")
        return cls(**d)

    def featurizer_options(self) -> dict:
        """Options of the domain's featurizer that this run sets."""
        opts = {"fingerprint_bits": self.fingerprint_bits} if self.fingerprint_bits else {}
        if self.minimol:
            opts["minimol"] = True
        return opts


@dataclass
class TrainResult:
    model: torch.nn.Module
    featurizer: object
    history: list[dict]
    best_step: int
    best_val_score: float
    seconds: float
    steps_run: int
    task: str = "classification"
    val_metric: str = "roc_auc"
    calibration: dict = field(default_factory=dict)
    cost: dict = field(default_factory=dict)
    init_encoder: dict | None = None  # provenance of a warm-started encoder (see init_encoder_from)
    encoder: str = "gine"  # registry name of the model's encoder


def learner_class(name: str):
    """The registered meta-learner class ``name`` (ValueError for baselines and unknown names)."""
    from sciml.learners import LEARNERS, meta_learner_names

    cls = LEARNERS.get(name)
    if cls is None or not cls.needs_checkpoint:
        raise ValueError(f"{name!r} is not a meta-learner; choose from {', '.join(meta_learner_names())}")
    return cls


def model_learner_config(cfg: TrainConfig, task: str) -> dict:
    """The learner config of the model, from the learner class (``learner_config_for``): ``cfg.learner_config``
    plus what the class adds for ``task`` (e.g. ProtoNet's ``learn_scale``, FOMAML's ``first_order``)."""
    from sciml.learners import LEARNERS

    cls = learner_class(cfg.learner)
    if task not in cls.tasks:
        able = [k for k, c in LEARNERS.items() if c.needs_checkpoint and task in c.tasks]
        raise ValueError(f"{cfg.learner} does {', '.join(cls.tasks)} only: meta-train one of {', '.join(able)} "
                         f"for {task}")
    return cls.learner_config_for(dict(cfg.learner_config), task, learn_scale=cfg.learn_scale)


def encoder_spec(cfg: TrainConfig, featurizer) -> tuple[str, dict]:
    """``(encoder name, config)``: the domain's default encoder, or ``cfg.encoder``, with the featurizer's input widths."""
    name, config = get_domain(cfg.domain).default_encoder(featurizer, **cfg.encoder_config)
    if cfg.encoder is not None and cfg.encoder != name:
        name, config = cfg.encoder, {**cfg.encoder_config, **featurizer.encoder_dims()}
    return name, config


def build_model(cfg: TrainConfig, featurizer, task: str = "classification") -> torch.nn.Module:
    """A fresh model of ``cfg.learner`` around a fresh encoder for ``featurizer``'s inputs."""
    return learner_class(cfg.learner).build_model(build_encoder(*encoder_spec(cfg, featurizer)),
                                                  model_learner_config(cfg, task))


def build_featurizer(cfg: TrainConfig):
    """The featurizer of ``cfg.domain`` with this run's options."""
    return get_domain(cfg.domain).featurizer(**cfg.featurizer_options())


def init_encoder_from(model: torch.nn.Module, path: str | Path, featurizer,
                      collection: TaskCollection) -> dict:
    """Copy the encoder weights of the checkpoint at ``path`` into ``model.encoder`` (a warm start).

    The source must read inputs the same way (same domain and featurizer spec), have the same encoder
    shape, and must not have been meta-trained on this collection's validation or test
    tasks, so the warm start leaks nothing the selection or the benchmark reads. Returns the
    source's provenance (path, learner, command, validation score) for the new checkpoint.
    """
    from sciml.checkpoint import CheckpointError
    from sciml.learners.loading import load_checkpoint

    try:
        src, src_feat, src_cfg = load_checkpoint(path)
    except CheckpointError as e:
        raise ValueError(f"--init-encoder: {e}") from e
    if src_cfg.get("domain") != collection.domain:
        raise ValueError(f"--init-encoder {path}: it reads {src_cfg.get('domain')}, this run reads {collection.domain}")
    if src_feat.spec.to_dict() != featurizer.spec.to_dict():
        raise ValueError(f"--init-encoder {path}: its featurizer {src_feat.spec.to_dict()} differs from this run's "
                         f"{featurizer.spec.to_dict()}")
    tr = src_cfg.get("training", {})
    # its train tasks must avoid our validation and test tasks; its validation tasks (selection only) our test tasks
    src_train, src_val = set(tr.get("train_tasks", [])), set(tr.get("val_tasks", []))
    leaked = sorted((src_train & (set(collection.val) | set(collection.test))) | (src_val & set(collection.test)))
    if leaked:
        raise ValueError(f"--init-encoder {path}: it was meta-trained on tasks this run keeps for validation or "
                         f"test ({', '.join(leaked[:5])}{'...' if len(leaked) > 5 else ''})")
    try:
        model.encoder.load_state_dict(src.encoder.state_dict(), strict=True)
    except RuntimeError as e:
        raise ValueError(f"--init-encoder {path}: its encoder does not match this run's encoder config: {e}") from e
    logger.info("encoder warm-started from %s (%s, validation %s)", path, src_cfg["learner"], tr.get("best_val_score"))
    return {"path": str(path), "learner": src_cfg["learner"], "command": tr.get("command"),
            "best_val_score": tr.get("best_val_score")}


def lr_lambda(cfg):
    """Step -> learning-rate factor: linear warm-up over ``cfg.warmup_steps``, then cosine to 0.05 at ``cfg.steps``
    (meta-training and pretraining)."""
    def f(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return f


def validation_predictions(learner, episodes, task_smiles: dict[str, list[str]]) -> list[tuple[Prediction, np.ndarray]]:
    """``(prediction, query_y)`` of ``learner`` on each validation episode.

    ``task_smiles[name]`` are a task's SMILES in row order. Only the molecules that the
    episodes use are featurized (once, through the learner itself).
    """
    needed = sorted({task_smiles[ep.task_name][i] for ep in episodes
                     for i in np.concatenate([ep.support_idx, ep.query_idx])})
    X = learner.featurize(needed)
    pos = {s: i for i, s in enumerate(needed)}
    out = []
    for ep in episodes:
        smi = task_smiles[ep.task_name]
        rows = lambda idx: np.array([pos[smi[i]] for i in idx], dtype=np.int64)  # noqa: E731
        learner.fit_features(X[rows(ep.support_idx)], ep.support_y)
        out.append((learner.predict_features(X[rows(ep.query_idx)]), ep.query_y))
    return out


def validation_score(preds: list[tuple[Prediction, np.ndarray]], task: str) -> float:
    """Mean ROC-AUC (classification) or R² (regression) over validation episodes."""
    fn = roc_auc if task == "classification" else r2
    vals = [fn(y, p.mean) for p, y in preds]
    return float(np.nanmean(vals)) if vals else float("nan")


def _cap_query(episodes, cap: int, seed: int, task: str = "classification", keep_rare: bool = False):
    """Subsample validation queries larger than ``cap`` to keep selection cheap: uniformly for
    regression; for classification stratified by label in proportion (``keep_rare=False``), or
    keeping every molecule of the rarer class up to ``cap // 2`` and filling up with the other
    (``keep_rare=True``: ROC-AUC is unchanged in expectation and far less noisy when actives
    are few, but the class ratio then differs from the natural one, so do not fit calibration on it)."""
    from assays.episodes import Episode

    rng = np.random.default_rng(seed)
    out = []
    for ep in episodes:
        if len(ep.query_idx) <= cap:
            out.append(ep)
            continue
        if task == "regression":
            keep = np.sort(rng.permutation(len(ep.query_idx))[:cap])
        else:
            pos = np.flatnonzero(ep.query_y == 1)
            neg = np.flatnonzero(ep.query_y == 0)
            if keep_rare and len(pos) <= len(neg):
                n_pos = min(len(pos), cap // 2)
            elif keep_rare:
                n_pos = cap - min(len(neg), cap // 2)
            else:
                n_pos = min(len(pos), max(1, int(round(cap * len(pos) / len(ep.query_y)))))
            keep = np.sort(np.concatenate([pos[rng.permutation(len(pos))[:n_pos]],
                                           neg[rng.permutation(len(neg))[: cap - n_pos]]]))
        out.append(Episode(ep.task_name, ep.support_idx, ep.query_idx[keep], ep.support_y, ep.query_y[keep]))
    return out


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig):
    """``(AdamW, LambdaLR)`` of a run: linear warm-up, then cosine decay to 5 % of ``cfg.lr``."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg))


def train_step(model: torch.nn.Module, opt, sched, episodes, store: GraphStore, task_pos: dict, task: str,
               grad_clip: float, device: str) -> float:
    """One optimizer step on the mean loss of ``episodes``; returns that mean loss.

    Each episode's loss is ``model.episode_loss(batch, n_support, support_y, query_y)``
    on its support + query inputs; regression targets are standardised by the support
    (:class:`TargetScaler`), as the learners do at prediction time.
    """
    opt.zero_grad(set_to_none=True)
    loss_sum = 0.0
    for ep in episodes:
        idx = np.concatenate([ep.support_idx, ep.query_idx])
        batch = store.batch(task_pos[ep.task_name][idx]).to(device)
        ys, yq = ep.support_y, ep.query_y
        if task == "regression":
            sc = TargetScaler.fit(ys)
            ys, yq = sc.transform(ys), sc.transform(yq)
        loss = model.episode_loss(batch, len(ep.support_idx), torch.tensor(ys, dtype=torch.float32, device=device),
                                  torch.tensor(yq, dtype=torch.float32, device=device))
        (loss / len(episodes)).backward()
        loss_sum += loss.item()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    sched.step()
    return loss_sum / len(episodes)


def validation_episodes(val_tasks, cfg: TrainConfig, task: str) -> tuple[list, list]:
    """``(selection episodes, calibration episodes)`` of a run on its validation tasks.

    Both come from the same ``cfg.val_seeds`` draws of ``cfg.k_shot`` supports with queries
    capped at ``cfg.val_query_cap``; calibration needs the natural class ratio, so its
    queries are the proportional subsample (the same episodes when nothing is capped or
    ``cfg.val_keep_rare`` is off).
    """
    full = evaluation_episodes(val_tasks, cfg.k_shot, seeds=range(1000, 1000 + cfg.val_seeds)) if val_tasks else []
    selection = _cap_query(full, cfg.val_query_cap, cfg.seed, task, keep_rare=cfg.val_keep_rare)
    calibration = _cap_query(full, cfg.val_query_cap, cfg.seed, task) \
        if cfg.val_keep_rare and task == "classification" else selection
    return selection, calibration


def _task_kind(tasks) -> str:
    kinds = {t.kind for t in tasks}
    if len(kinds) != 1:
        raise ValueError(f"meta-training needs tasks of one kind, got {sorted(kinds)}")
    return kinds.pop()


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def meta_train(collection: TaskCollection, cfg: TrainConfig, device: str | None = None,
               progress: bool = True) -> TrainResult:
    """Meta-train ``cfg.learner`` on ``collection.train``, keep the weights best on ``collection.val``,
    and fit the post-hoc calibration on ``collection.val``."""
    device = device or default_device()
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    train_tasks = collection.split("train")
    val_tasks = collection.split("val")
    domains = {t.domain for t in train_tasks + val_tasks}
    if domains != {cfg.domain}:
        raise ValueError(f"the run reads {cfg.domain} (TrainConfig.domain) but the tasks are {sorted(domains)}")
    featurizer = build_featurizer(cfg)
    task = _task_kind(train_tasks + val_tasks)
    metric = "roc_auc" if task == "classification" else "r2"
    inputs = list(dict.fromkeys(s for t in train_tasks + val_tasks for s in t.inputs))
    store = GraphStore(featurizer, inputs, progress=progress)
    logger.info("meta-training %s (%s) on %d train tasks, selecting on %d validation tasks, %d inputs",
                cfg.learner, task, len(train_tasks), len(val_tasks), len(store))

    model = build_model(cfg, featurizer, task)
    init_source = init_encoder_from(model, cfg.init_encoder, featurizer, collection) if cfg.init_encoder else None
    model = model.to(device)
    learner = learner_class(cfg.learner).for_model(model, featurizer, device=device)
    opt, sched = make_optimizer(model, cfg)
    sampler = iter(EpisodeSampler(train_tasks, cfg.k_shot, cfg.n_query, seed=cfg.seed,
                                  kshot_choices=cfg.kshot_choices))
    val_eps, cal_eps = validation_episodes(val_tasks, cfg, task)
    task_pos = {t.name: store.positions(t.inputs) for t in train_tasks + val_tasks}
    task_smiles = {t.name: list(t.inputs) for t in val_tasks}

    history: list[dict] = []
    best = (-float("inf"), 0, copy.deepcopy(model.state_dict()))
    bad_evals, t0, running, step, train_seconds = 0, time.time(), [], 0, 0.0
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, desc=f"meta-training {cfg.learner}", unit="step", disable=None, mininterval=5)
    for step in range(1, cfg.steps + 1):
        t_step = time.time()
        model.train()
        episodes = [next(sampler) for _ in range(cfg.tasks_per_step)]
        running.append(train_step(model, opt, sched, episodes, store, task_pos, task, cfg.grad_clip, device))
        train_seconds += time.time() - t_step
        if bar is not None:
            bar.update(1)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            val = validation_score(validation_predictions(learner, val_eps, task_smiles), task) \
                if val_eps else float("nan")
            rec = {"step": step, "train_loss": float(np.mean(running)), f"val_{metric}": val,
                   "lr": sched.get_last_lr()[0], "seconds": time.time() - t0}
            history.append(rec)
            running = []
            logger.info("step %d: train loss %.4f, val %s %.4f", step, rec["train_loss"], metric, val)
            if bar is not None:
                bar.set_postfix(loss=f"{rec['train_loss']:.3f}", val=f"{val:.3f}")
            if not val_eps or val > best[0]:
                best, bad_evals = (val, step, copy.deepcopy(model.state_dict())), 0
            else:
                bad_evals += 1
                if bad_evals >= cfg.patience:
                    logger.info("early stopping at step %d (best %d, val %s %.4f)", step, best[1], metric, best[0])
                    break
    if bar is not None:
        bar.close()
    model.load_state_dict(best[2])
    model.eval()
    calibration = {}
    if val_eps:
        from sciml.calibration import fit_calibration

        calibration = fit_calibration(task, validation_predictions(learner, cal_eps, task_smiles))
        logger.info("post-hoc calibration on validation tasks: %s", calibration)
    cost = {"device": device, "train_seconds": train_seconds, "episodes": step * cfg.tasks_per_step,
            "episodes_per_second": step * cfg.tasks_per_step / max(train_seconds, 1e-9),
            "peak_rss_mb": _peak_rss_mb(), "torch_threads": torch.get_num_threads()}
    if device.startswith("cuda"):
        cost["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return TrainResult(model=model, featurizer=featurizer, history=history, best_step=best[1],
                       best_val_score=best[0], seconds=time.time() - t0, steps_run=step, task=task,
                       val_metric=metric, calibration=calibration, cost=cost, init_encoder=init_source,
                       encoder=encoder_spec(cfg, featurizer)[0])
