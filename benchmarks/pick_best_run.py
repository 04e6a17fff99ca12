"""Pick, among candidate meta-training runs, the one with the best validation score; copy it into place.

Used by ``benchmarks/meta_selection.sh``: every candidate is a checkpoint folder whose
``config.json`` records ``training.best_val_score`` (mean ROC-AUC or R² on the
*validation* tasks; test tasks are never read). The winner is copied to ``--out`` and a
Markdown table of all candidates is written to ``--report``.

With ``--keep-recorded``, candidates listed in an existing ``--report`` whose folder is not
on disk (e.g. on a fresh machine: ``runs/`` is not committed) keep competing with their
recorded validation score. If such a candidate still wins, nothing is copied: ``--out`` is
left as it is, and the benchmark figures committed for that run stay the valid ones.

    python benchmarks/pick_best_run.py --out runs/maml-tox21 --report benchmarks/results/selection/training_maml-tox21.md \
        runs/sel/maml-tox21-lr0.05 runs/sel/maml-tox21-lr0.5
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from sciml.learners import LEARNERS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("candidates", nargs="+", type=Path, help="Checkpoint folders of the candidate runs.")
    ap.add_argument("--out", type=Path, required=True, help="Where the winner is copied (replaced if present).")
    ap.add_argument("--report", type=Path, required=True, help="Markdown file the table is written to.")
    ap.add_argument("--keep-recorded", action="store_true",
                    help="Candidates recorded in an existing --report whose folder is gone keep competing.")
    args = ap.parse_args()
    cfgs = [json.loads((c / "config.json").read_text()) for c in args.candidates]
    # the settings that differ between candidates: every key given on a command line, at its effective value
    keys = sorted({k for cfg in cfgs for k in cfg["training"]["config"]["learner_config"]})
    rows = []
    for c, cfg in zip(args.candidates, cfgs):
        tr = cfg["training"]
        # a setting absent from a checkpoint's learner_config takes its class default
        defaults = getattr(LEARNERS[cfg["learner"]], "config_cls", dict)().__dict__
        settings = {k: cfg["learner_config"].get(k, defaults.get(k)) for k in keys}
        if cfg.get("featurizer", {}).get("fingerprint_bits"):  # the encoder also reads a fingerprint
            settings["fingerprint_bits"] = cfg["featurizer"]["fingerprint_bits"]
        if tr["config"].get("init_encoder"):  # the encoder was warm-started from this checkpoint
            settings["init_encoder"] = tr["config"]["init_encoder"]
        rows.append((float(tr["best_val_score"]), c, tr.get("val_metric", "roc_auc"), tr["best_step"],
                     json.dumps(settings), tr["command"]))
    if args.keep_recorded:
        rows += recorded_rows(args.report, {c.name for c in args.candidates}, args.candidates[0].parent)
    best = max(rows, key=lambda r: r[0])
    if best[1].exists():
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(best[1], args.out)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"### {args.out.name}: meta-training settings chosen on validation tasks\n",
             f"| candidate | settings | best step | validation {best[2]} | chosen |", "|---|---|---|---|---|"]
    for score, c, _, step, lc, _ in rows:
        lines.append(f"| {c.name} | `{lc}` | {step} | {score:.4f} | {'yes' if c == best[1] else ''} |")
    lines += ["", "Commands: " + "; ".join(f"`{r[5]}`" for r in rows), ""]
    args.report.write_text("\n".join(lines))
    gone = "" if best[1].exists() else f"; its folder is gone, so {args.out} was left as it was"
    print(f"{args.out}: chose {best[1].name} (validation {best[2]} {best[0]:.4f}){gone}")


_ROW = re.compile(r"^\| (?P<name>[^|]+?) \| `(?P<settings>[^`]*)` \| (?P<step>\d+) \| (?P<score>[-\d.]+) \|")


def recorded_rows(report: Path, present: set[str], parent: Path) -> list[tuple]:
    """Rows of the existing ``report`` for candidates not among ``present`` and not on disk.

    Each row is ``(score, parent / name, metric, best step, settings JSON, command)`` as
    recorded, so a candidate whose folder is gone competes with the numbers recorded for it.
    """
    if not report.exists():
        return []
    text = report.read_text()
    metric = re.search(r"\| validation (\S+) \|", text)
    matches = [m for m in map(_ROW.match, text.splitlines()) if m]
    # the report lists one command per row, in row order
    cmd_line = next((ln for ln in text.splitlines() if ln.startswith("Commands: ")), "")
    commands = re.findall(r"`([^`]*)`", cmd_line)
    if len(commands) != len(matches):
        commands = [""] * len(matches)
    rows = []
    for m, cmd in zip(matches, commands):
        if m["name"] in present or (parent / m["name"]).exists():
            continue
        rows.append((float(m["score"]), parent / m["name"], metric[1] if metric else "roc_auc",
                     int(m["step"]), m["settings"], cmd))
    return rows


if __name__ == "__main__":
    main()
