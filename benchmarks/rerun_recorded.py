"""Re-train the checkpoints of a published table from the commands its training record holds.

The few-shot MoleculeNet and MoleculeACE tables keep, per (dataset, learner), the exact
``sciml train`` command that made the checkpoint they evaluated
(``benchmarks/results/{fewshot_moleculenet,moleculeace}_training.json``; the settings were
chosen on validation tasks by ``benchmarks/meta_selection.sh``). This script runs those
commands again with ``--out runs/<learner>-<dataset>`` (the folder ``sciml evaluate``
reads by default), so a table can be re-evaluated, e.g. with new columns, without
repeating the selection grid. A run whose ``config.json`` exists is kept; a command that
starts from another run's encoder (``--init-encoder runs/maml-sider``) runs after it.

Usage::

    python benchmarks/rerun_recorded.py --training benchmarks/results/fewshot_moleculenet_training.json \
        --datasets tox21,sider [--learners maml,bmaml] [--dry-run]
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--training", required=True, type=Path, help="A *_training.json record.")
    ap.add_argument("--datasets", default="", help="Comma-separated datasets (default: all in the record).")
    ap.add_argument("--learners", default="", help="Comma-separated learners (default: all in the record).")
    ap.add_argument("--dry-run", action="store_true", help="Print the commands only.")
    args = ap.parse_args(argv)
    records = json.loads(args.training.read_text())
    pick = lambda s: set(filter(None, s.split(","))) or None  # noqa: E731
    plan = planned(records, pick(args.datasets), pick(args.learners))
    if not plan:
        sys.exit(f"{args.training}: no record matches --datasets {args.datasets!r} --learners {args.learners!r}")
    for out, cmd in plan:
        line = shlex.join(cmd)
        if (Path(out) / "config.json").exists():
            print(f"keeping {out} (config.json exists)", flush=True)
            continue
        print(f"$ {line}", flush=True)
        if not args.dry_run:
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
