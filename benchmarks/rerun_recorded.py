"""Re-train the checkpoints of a published table from the commands its training record holds.

The few-shot MoleculeNet and MoleculeACE tables keep, per (dataset, learner), the exact
``sciml train`` command that made the checkpoint they evaluated
(``benchmarks/results/{fewshot_moleculenet,moleculeace}_training.json``; the settings were
chosen on validation tasks by ``benchmarks/meta_selection.sh``). This script runs those
commands again with ``--out runs/<learner>-<dataset>`` (the folder ``sciml evaluate``
reads by default), so a table can be re-evaluated, e.g. with new columns, without
repeating the selection grid. A run whose ``config.json`` exists is kept; a command that
starts from another run's encoder (``--init-encoder runs/maml-sider``) runs after it.
``--jobs N`` runs up to N trainings at once (each then logs to ``runs/logs/train-<learner>-
<dataset>.log``; give each ``OMP_NUM_THREADS=1`` on a small machine): the runs others start
from go first, the runs that start from them once those have finished.

Usage::

    python benchmarks/rerun_recorded.py --training benchmarks/results/fewshot_moleculenet_training.json \
        --datasets tox21,sider [--learners maml,bmaml] [--jobs 2] [--dry-run]
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def planned(records: list[dict], datasets: set[str] | None, learners: set[str] | None) -> list[tuple[str, list[str]]]:
    """``(out_dir, argv)`` per selected record, runs that others start from first.

    ``argv`` is the recorded command with its ``--out`` replaced by ``runs/<learner>-<dataset>``
    and any ``--init-encoder runs/sel/<x>`` pointing at the re-trained ``runs/<learner>-<dataset>``
    of the same dataset (the selection copied its winner there).
    """
    plan = []
    for r in records:
        if datasets and r["dataset"] not in datasets or learners and r["learner"] not in learners:
            continue
        argv = shlex.split(r["command"])
        if argv[:2] != ["sciml", "train"]:
            raise ValueError(f"{r['dataset']}/{r['learner']}: not a `sciml train` command: {r['command']!r}")
        out = f"runs/{r['learner']}-{r['dataset']}"
        argv[argv.index("--out") + 1] = out
        plan.append((out, argv))

    def depends(item) -> bool:
        return "--init-encoder" in item[1]
    return [p for p in plan if not depends(p)] + [p for p in plan if depends(p)]


def waves(plan: list[tuple[str, list[str]]]) -> list[list[tuple[str, list[str]]]]:
    """The plan in two waves: runs that start from no other run, then those that do (``--init-encoder``)."""
    first = [p for p in plan if "--init-encoder" not in p[1]]
    second = [p for p in plan if "--init-encoder" in p[1]]
    return [w for w in (first, second) if w]


def run_one(out: str, cmd: list[str], log: Path | None) -> None:
    """Run one training; with ``log``, its output goes there (parallel runs would interleave)."""
    if log is None:
        subprocess.run(cmd, check=True)
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT).returncode
    if rc:
        raise RuntimeError(f"{out}: `{shlex.join(cmd)}` exited {rc}; see {log}")
    print(f"done {out} (log {log})", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--training", required=True, type=Path, help="A *_training.json record.")
    ap.add_argument("--datasets", default="", help="Comma-separated datasets (default: all in the record).")
    ap.add_argument("--learners", default="", help="Comma-separated learners (default: all in the record).")
    ap.add_argument("--jobs", type=int, default=1, help="Trainings run at once (default 1).")
    ap.add_argument("--dry-run", action="store_true", help="Print the commands only.")
    args = ap.parse_args(argv)
    records = json.loads(args.training.read_text())
    pick = lambda s: set(filter(None, s.split(","))) or None  # noqa: E731
    plan = planned(records, pick(args.datasets), pick(args.learners))
    if not plan:
        sys.exit(f"{args.training}: no record matches --datasets {args.datasets!r} --learners {args.learners!r}")
    if args.jobs < 1:
        sys.exit(f"--jobs must be at least 1, got {args.jobs}")
    failed = []
    for wave in waves(plan):
        todo = []
        for out, cmd in wave:
            if (Path(out) / "config.json").exists():
                print(f"keeping {out} (config.json exists)", flush=True)
                continue
            print(f"$ {shlex.join(cmd)}", flush=True)
            todo.append((out, cmd))
        if args.dry_run or not todo:
            continue
        logs = [Path("runs/logs") / f"train-{Path(out).name}.log" if args.jobs > 1 else None for out, _ in todo]
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_one, out, cmd, log) for (out, cmd), log in zip(todo, logs)]
            for fut in futures:
                try:
                    fut.result()
                except (RuntimeError, subprocess.CalledProcessError) as e:
                    failed.append(str(e))
        if failed:
            sys.exit("failed:\n" + "\n".join(failed))


if __name__ == "__main__":
    main()
