"""Meta-training cost per learner: episodes per second and peak memory, one clean process per run.

Each (learner, dataset) pair runs in its own Python process (so peak RSS is its own): it
loads the dataset's train tasks, featurizes them (cached on disk; not timed), builds the
model exactly as ``sciml train`` does (the benchmark's GINE: 128 wide, 4 deep) and times
``--steps`` optimiser steps of ``--tasks-per-step`` episodes each (``pipelines.train.train_step``,
the step of ``sciml train``: forward, inner loop, backward, clipping, AdamW and schedule) after
``--warmup`` untimed steps. Validation is not included.

Usage::

    python benchmarks/training_cost.py --steps 30            # all learners, tox21 + moleculeace
    python benchmarks/training_cost.py --learners '' --variant 'bmaml-nll=bmaml:{"objective": "nll", "inner_lr": 0.5}' \
        --out benchmarks/results/training_cost_variants      # selected settings other than the defaults
    python benchmarks/training_cost.py --one maml tox21 ...  # (internal) one measurement, JSON on stdout

Writes ``benchmarks/results/training_cost.{json,md}`` with the command, date, machine and seed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ENCODER = {"hidden": 128, "depth": 4, "out_dim": 128, "pooling": "mean+max", "dropout": 0.1, "norm": "batch",
           "residual": True, "gfeat_hidden": 256}
#: Episode shapes of the benchmark runs (benchmarks/meta_learners.sh).
SHAPES = {"tox21": {"k_shot": 10, "n_query": 16, "kshot_choices": None},
          "moleculeace": {"k_shot": 16, "n_query": 32, "kshot_choices": [16, 32, 64]}}


def measure(learner: str, dataset: str, steps: int, warmup: int, tasks_per_step: int, seed: int,
            learner_config: dict | None = None) -> dict:
    """Time ``steps`` meta-training steps of ``learner`` on ``dataset``'s train tasks (after ``warmup``).

    Returns the row written to the results: ``learner, learner_config, dataset, task, steps,
    tasks_per_step, episodes, seconds, episodes_per_second, peak_rss_mb, rss_before_training_mb,
    torch_threads, n_parameters``.
    """
    import resource

    import torch

    from assays.episodes import EpisodeSampler
    from pipelines.run import load_collection
    from pipelines.train import TrainConfig, _task_kind, build_featurizer, build_model, make_optimizer, train_step
    from sciml.graphs import GraphStore

    torch.manual_seed(seed)
    coll = load_collection(dataset, val_seed=seed)
    tasks = coll.split("train")
    task = _task_kind(tasks)
    cfg = TrainConfig(learner=learner, encoder_config=dict(ENCODER), seed=seed, learner_config=learner_config or {},
                      **SHAPES[dataset])
    featurizer = build_featurizer(cfg)
    store = GraphStore(featurizer, list(dict.fromkeys(s for t in tasks for s in t.inputs)), progress=False)
    pos = {t.name: store.positions(t.inputs) for t in tasks}
    model = build_model(cfg, featurizer, task)
    opt, sched = make_optimizer(model, cfg)
    sampler = iter(EpisodeSampler(tasks, cfg.k_shot, cfg.n_query, seed=seed, kshot_choices=cfg.kshot_choices))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model.train()
    t0 = None
    for step in range(warmup + steps):
        if step == warmup:
            t0 = time.perf_counter()
        train_step(model, opt, sched, [next(sampler) for _ in range(tasks_per_step)], store, pos, task,
                   cfg.grad_clip, "cpu")
    seconds = time.perf_counter() - t0
    return {"learner": learner, "learner_config": learner_config or {}, "dataset": dataset, "task": task, "steps": steps, "tasks_per_step": tasks_per_step,
            "episodes": steps * tasks_per_step, "seconds": seconds,
            "episodes_per_second": steps * tasks_per_step / seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_before_training_mb": rss_before, "torch_threads": torch.get_num_threads(),
            "n_parameters": sum(p.numel() for p in model.parameters())}


def main() -> None:
    from sciml.learners import LEARNERS as LEARNER_CLASSES
    from sciml.learners import meta_learner_names

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", nargs=2, metavar=("LEARNER", "DATASET"), help=argparse.SUPPRESS)
    ap.add_argument("--learners", default=",".join(meta_learner_names()))
    ap.add_argument("--datasets", default="tox21,moleculeace")
    ap.add_argument("--variant", action="append", default=[], metavar="LABEL=LEARNER:JSON",
                    help="also time LEARNER with these learner_config settings, shown as LABEL")
    ap.add_argument("--learner-config", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=30, help="timed optimiser steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--tasks-per-step", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/training_cost"))
    a = ap.parse_args()
    if a.one:
        print(json.dumps(measure(a.one[0], a.one[1], a.steps, a.warmup, a.tasks_per_step, a.seed,
                                 json.loads(a.learner_config))))
        return
    runs = [(ln, ln, "{}") for ln in a.learners.split(",") if ln]
    for v in a.variant:
        label, _, rest = v.partition("=")
        ln, _, cfg = rest.partition(":")
        json.loads(cfg or "{}")  # fail early on bad JSON
        runs.append((label, ln, cfg or "{}"))
    rows = []
    for ds in a.datasets.split(","):
        for label, ln, cfg in runs:
            if "regression" not in LEARNER_CLASSES[ln].tasks and ds == "moleculeace":
                continue  # a classifier: MoleculeACE is regression
            cmd = [sys.executable, __file__, "--one", ln, ds, "--steps", str(a.steps), "--warmup", str(a.warmup),
                   "--tasks-per-step", str(a.tasks_per_step), "--seed", str(a.seed), "--learner-config", cfg]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append({**json.loads(out.stdout.strip().splitlines()[-1]), "label": label})
            ln = label
            print(f"{ln:9s} {ds:12s} {rows[-1]['episodes_per_second']:6.1f} episodes/s, "
                  f"peak RSS {rows[-1]['peak_rss_mb']:.0f} MB", flush=True)
    from pipelines.evaluate import machine_description, script_command, write_analysis

    meta = {"command": script_command(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_description(),
            "load_average": os.getloadavg(), "seed": a.seed, "encoder": ENCODER, "episode_shapes": SHAPES}
    lines = ["# Meta-training cost per learner (CPU)", "",
             f"- command: `{meta['command']}`", f"- date: {meta['date']}", f"- machine: {meta['machine']}",
             f"- load average at the end: {tuple(round(x, 2) for x in meta['load_average'])}",
             f"- seed {a.seed}; {a.steps} timed steps of {a.tasks_per_step} episodes after {a.warmup} untimed; "
             "validation not included; GINE 128 wide, 4 deep; episode shapes as in benchmarks/meta_learners.sh "
             "(tox21: 10+10 support, 16+16 query; moleculeace: 16/32/64 support, 32 query)", "",
             "| dataset | learner | settings | episodes / s | peak RSS (MB) | parameters |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['label']} | `{json.dumps(r['learner_config'])}` | {r['episodes_per_second']:.1f} | {r['peak_rss_mb']:.0f} | "
                     f"{r['n_parameters']:,} |")
    write_analysis(a.out, meta, rows, "\n".join(lines) + "\n", key="rows")
    print(f"wrote {a.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
