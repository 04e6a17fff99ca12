"""Write MODEL_CARD.md for a checkpoint folder from its config.json and the committed benchmark records.

Usage: python scripts/model_card.py data/checkpoints/default [--results benchmarks/results/moleculeace.json]

Everything in the card is read from files: the training command, data, tasks, validation
score, calibration and cost from ``config.json``; test-task figures from the benchmark
records of the same learner (if present). Nothing is typed in by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SOURCES = {
    "moleculeace": ("MoleculeACE 3.0.0 (PyPI wheel), 30 ChEMBL Ki/EC50 targets, labels pKi / pEC50 = y + 9",
                    "MIT (MoleculeACE; data/examples/LICENSE-MoleculeACE.txt)"),
    "tox21": ("MoleculeNet Tox21 via the chemprop repository", "MIT (chemprop)"),
    "sider": ("MoleculeNet SIDER via the chemprop repository", "MIT (chemprop)"),
    "muv": ("MoleculeNet MUV via the chemprop repository", "MIT (chemprop)"),
    "toxcast": ("MoleculeNet ToxCast via the chemprop repository", "MIT (chemprop)"),
}


def _records(results: Path, learner: str, dataset: str) -> list[dict]:
    if not results.is_file():
        return []
    return [r for r in json.loads(results.read_text()) if r["learner"] == learner and r["dataset"] == dataset]


def card(folder: Path, results: Path, notes: list[str] | None = None) -> str:
    cfg = json.loads((folder / "config.json").read_text())
    tr = cfg.get("training", {})
    ds = tr.get("dataset", "?")
    src, lic = SOURCES.get(ds, ("see config.json", "see the data MANIFEST"))
    cost = tr.get("cost", {})
    enc = cfg.get("encoder_config", {})
    lines = [
        f"# Model card: `{folder.name}`", "",
        f"- **Learner**: `{cfg['learner']}` ({json.dumps(cfg.get('learner_config', {}), sort_keys=True)})",
        f"- **Encoder**: `{cfg['encoder']}`, {enc.get('depth')} layers, width {enc.get('hidden')}, "
        f"embedding {enc.get('out_dim')}, pooling {enc.get('pooling')}, fingerprint fusion "
        f"{enc.get('gfeat_dim', 0)} bits",
        f"- **Featurizer**: {cfg['featurizer'].get('name', 'molgraph')} version {cfg['featurizer'].get('version')}",
        f"- **Package version** that wrote it: {cfg.get('package_version')}",
        f"- **Meta-trained for**: {tr.get('task', '?')} on `{ds}` — {src}",
        f"- **Data licence**: {lic}",
        f"- **Train tasks** ({len(tr.get('train_tasks', []))}): {', '.join(tr.get('train_tasks', []))}",
        f"- **Validation tasks** (early stopping and post-hoc calibration only): {', '.join(tr.get('val_tasks', []))}",
        f"- **Test tasks, never used in training**: {', '.join(tr.get('test_tasks_never_used', []))}",
        f"- **Selection**: best validation {tr.get('val_metric')} = {tr.get('best_val_score', float('nan')):.4f} "
        f"at step {tr.get('best_step')} of {tr.get('steps_run')}",
        f"- **Post-hoc calibration**: {json.dumps(cfg.get('calibration') or {})}",
        f"- **Test-time settings** (chosen on the validation tasks by `sciml select`, "
        f"see `test_time_selection` in config.json): {json.dumps(cfg.get('test_time') or {})}",
        f"- **Training cost**: {cost.get('train_seconds', float('nan')):.0f} s of optimisation, "
        f"{cost.get('episodes_per_second', float('nan')):.1f} episodes/s, peak RSS "
        f"{cost.get('peak_rss_mb', float('nan')):.0f} MB on {cost.get('device')} ({cost.get('torch_threads')} threads)",
        "", "## Commands that produced it", "", "```bash", tr.get("command", "?"),
        *([cfg["test_time_selection"]["command"]] if cfg.get("test_time_selection", {}).get("command") else []),
        "```", "",
    ]
    if notes:
        lines += [f"- {n}" for n in notes] + [""]
    recs = _records(results, cfg["learner"], ds)
    if recs:
        lines += ["## Test-task figures (benchmark records of this learner)", "",
                  f"From `{results}`; mean ± std over {recs[0]['n_seeds']} support draws of the test-task average.", "",
                  "| shots | calibration | metric | mean ± std |", "|---|---|---|---|"]
        for r in sorted(recs, key=lambda r: (r["shots"], r.get("calibration", "none"), r["metric"])):
            lines.append(f"| {r['shots']} | {r.get('calibration', 'none')} | {r['metric']} | "
                         f"{r['mean']:.3f} ± {r['std']:.3f} |")
        lines.append("")
    lines += ["## Intended use and limits", "",
              "Few-shot prediction for a new small-molecule assay from a handful of measured compounds. "
              "The deep-kernel GP serves regression (its meta-training task) and binary classification "
              "(same embedding and kernel, Laplace likelihood; not separately meta-trained). Predictions for "
              "molecules far from the support set (see the applicability-domain flag) are extrapolations.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results/moleculeace.json"))
    ap.add_argument("--note", action="append", default=[], help="Extra line for the card (repeatable).")
    a = ap.parse_args()
    (a.folder / "MODEL_CARD.md").write_text(card(a.folder, a.results, a.note))
    print(f"wrote {a.folder / 'MODEL_CARD.md'}")


if __name__ == "__main__":
    main()
