"""Markdown tables from tidy benchmark records, with published reference numbers beside ours."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sciml.files import atomic_write_text

logger = logging.getLogger(__name__)

#: Reported in percent, as in the few-shot literature; every other metric in its own units.
PERCENT_METRICS = ("roc_auc", "delta_auprc")

#: Display name of each few-shot MoleculeNet dataset, in table order.
_DATASET_COLUMNS = {"tox21": "Tox21", "sider": "SIDER", "muv": "MUV", "toxcast": "ToxCast"}


def published_fewshot_moleculenet(manifest: Path) -> dict[tuple[str, str, int], float]:
    """Parse the 'Published reference numbers' table of the molecules MANIFEST.

    Returns ``{(method, dataset, shots): roc_auc_percent}``; cells like ``74.98 / 65.58`` are
    10-shot / 1-shot, ``–`` is missing. Returns ``{}`` when the file is absent.
    """
    if not manifest.is_file():
        return {}
    lines = manifest.read_text().splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("## Published reference numbers"))
    except StopIteration:
        return {}
    header = None
    out: dict[tuple[str, str, int], float] = {}
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "method":
            header = [c.lower() for c in cells]
            continue
        if header is None or set(cells[0]) <= {"-", " "}:
            continue
        for ds, cell in zip(header[1:], cells[1:]):
            nums = re.findall(r"(\d+\.\d+|–|-)\s*(?:±\s*\d+\.\d+)?", cell.replace("(*)", ""))
            for shots, tok in zip((10, 1), nums[:2]):
                if tok not in ("–", "-"):
                    out[(cells[0], ds, shots)] = float(tok)
    return out


#: Table order of the learners (meta-learners, then support-only baselines).
LEARNER_ORDER = ("protonet", "maml", "fomaml", "reptile", "bmaml", "dkgp", "rf", "knn", "gp_tanimoto")


def _ordered(value: str, order) -> tuple[int, str]:
    """Sort key: the position of ``value`` in ``order`` (values not in it last), then the value."""
    return (list(order).index(value) if value in order else len(order), value)


def dataset_order(dataset: str) -> tuple[int, str]:
    """Sort key of a dataset in tables: the few-shot MoleculeNet datasets in benchmark order, then others by name."""
    return _ordered(dataset, _DATASET_COLUMNS)


def learner_order(learner: str) -> tuple[int, str]:
    """Sort key of a learner in tables: :data:`LEARNER_ORDER`, then others by name."""
    return _ordered(learner, LEARNER_ORDER)


def command_lines(records: list[dict]) -> list[str]:
    """Markdown list items ``- <date>: `<command>``` of the distinct (date, command) pairs of ``records``, sorted."""
    return [f"- {d}: `{c}`" for d, c in sorted({(r["date"], r["command"]) for r in records})]

#: Section heading per metric; the report shows those present in the records, in this order.
METRIC_HEADINGS = {
    "roc_auc": "ROC-AUC (%), higher is better",
    "delta_auprc": "ΔAUPRC (%) = average precision − positive fraction, higher is better",
    "ece": "Expected calibration error (15 equal-width bins), lower is better",
    "brier": "Brier score, lower is better",
    "r2": "R², higher is better",
    "rmse": "RMSE (pKi / pEC50 units), lower is better",
    "spearman": "Spearman ρ, higher is better",
    "nll": "Gaussian negative log-likelihood per query molecule, lower is better",
    "coverage90": "Coverage of the central 90 % interval (ideal 0.90)",
    "width90": "Mean width of the central 90 % interval (pKi / pEC50 units)",
    "std_error_rho": "Spearman ρ of the predicted std with the absolute error (does uncertainty track error?), "
                     "higher is better",
}


#: Column suffix of each calibration variant (see :mod:`pipelines.evaluate`).
CALIBRATION_LABELS = {"none": "", "posthoc": "+cal", "posthoc+rate": "+cal+rate"}
#: Metrics that depend only on the ranking of the scores: a monotone calibration cannot change
#: them, so their tables show the uncalibrated columns only.
RANK_METRICS = ("roc_auc", "delta_auprc")


#: ``adaptation`` of a record (see :mod:`pipelines.evaluate`) -> column order and label suffix:
#: the adapted learner, its support-free prediction, and the gain learner − support-free.
ADAPTATION_LABELS = {"support": "", "none": " (support-free)", "gain": " gain"}


def adaptation(r: dict) -> str:
    """A record's ``adaptation``; records written before the field existed are ``"support"``."""
    return r.get("adaptation", "support")


def _columns(recs: list[dict]) -> list[tuple[str, str, str]]:
    """(learner, calibration, adaptation) columns: per learner its adapted columns (calibration
    order), then its support-free column, then its gain column."""
    cols = {(r["learner"], r["calibration"], adaptation(r)) for r in recs}
    return sorted(cols, key=lambda c: (*learner_order(c[0]), *_ordered(c[2], ADAPTATION_LABELS),
                                       *_ordered(c[1], CALIBRATION_LABELS)))


def _column_label(learner: str, calibration: str, adapt: str) -> str:
    if adapt != "support":
        return learner + ADAPTATION_LABELS.get(adapt, f" ({adapt})")
    return learner + CALIBRATION_LABELS.get(calibration, f"+{calibration}")


def markdown_table(records: list[dict], metric: str, *, published: dict | None = None,
                   ref_methods: tuple[str, ...] = ("ProtoNet", "MAML"), digits: int = 2) -> str:
    """One row per (dataset, shots), one column per (learner, calibration, adaptation): ``mean ± std``;
    published columns last. Post-hoc calibrated columns are labelled ``learner+cal`` (and
    ``learner+cal+rate`` with the known hit rate); rank metrics show uncalibrated columns only.
    A learner with support-free records gets ``learner (support-free)`` and ``learner gain``
    (learner − support-free, paired per seed, signed) columns right after its own."""
    recs = [r for r in records if r["metric"] == metric
            and (metric not in RANK_METRICS or r["calibration"] == "none")]
    cols = _columns(recs)
    keys = sorted({(r["dataset"], r["shots"]) for r in recs}, key=lambda k: (*dataset_order(k[0]), k[1]))
    refs = [m for m in ref_methods if published and any(p[0] == m for p in published)] if published else []
    head = ["dataset", "shots"] + [_column_label(*c) for c in cols] + [f"{m} (published)" for m in refs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by = {(r["dataset"], r["shots"], r["learner"], r["calibration"], adaptation(r)): r for r in recs}
    for ds, k in keys:
        row = [_DATASET_COLUMNS.get(ds, ds), str(k)]
        for ln, cal, adapt in cols:
            r = by.get((ds, k, ln, cal, adapt))
            sign = "+" if adapt == "gain" else ""
            row.append(f"{r['mean']:{sign}.{digits}f} ± {r['std']:.{digits}f}" if r else "")
        for m in refs:
            v = published.get((m, _DATASET_COLUMNS.get(ds, ds).lower(), k))
            row.append(f"{v:.2f}" if v is not None else "–")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


#: What the support-free and gain columns are (written into reports that have them).
SUPPORT_FREE_NOTE = (
    "`learner (support-free)` columns score the same meta-trained model on the same queries without reading "
    "the support labels (MAML/FOMAML: the meta-learned initialisation, zero inner steps; BMAML: the initial "
    "particle mixture; deep-kernel GP: the GP prior, a constant prediction, so ROC-AUC 50 by ties; ProtoNet, "
    "which has no prototype without support labels: a multitask head, a ridge on its embedding fitted to each "
    "train molecule's mean label over the train tasks). "
    "`learner gain` = learner − support-free, per episode on the same draws, averaged over tasks per seed; "
    "mean ± std over seeds (for lower-is-better metrics a negative gain means adaptation helped). Regression "
    "support-free predictions have no target scale, so only Spearman ρ is shown for them (undefined, hence "
    "blank, for a constant prediction). A gain near 0 means the learner's score does not come from the support.")


def write_report(records: list[dict], path: Path, *, title: str, published: dict | None, notes: list[str],
                 intro: str = "") -> None:
    """Markdown report: one table per metric present (accuracy, then calibration), then provenance notes."""
    benches = sorted({r["benchmark"] for r in records})
    cmds = sorted({r["command"] for r in records})
    dates = sorted({r["date"] for r in records})
    machines = sorted({r["machine"] for r in records})
    seeds = sorted({tuple(r["seeds"]) for r in records})
    present = {r["metric"] for r in records}
    parts = [f"# {title}", ""]
    parts += [
        "Model selection used validation tasks only (carved out of the published train tasks); "
        "test tasks were never used for training, selection or calibration. Published numbers chose the "
        "best epoch on the test tasks.", "",
        "Cells are mean ± std over seeds (support draws) of the test-task average. `learner+cal` columns "
        "apply the post-hoc calibration fitted on validation tasks (Platt scaling for classification, "
        "interval scaling for regression) to the same predictions. ROC-AUC and ΔAUPRC depend on the "
        "ranking only, which calibration does not change, so their tables show raw columns only.", "",
    ]
    if any(adaptation(r) != "support" for r in records):
        parts += [SUPPORT_FREE_NOTE, ""]
    if intro:
        parts += [intro, ""]
    for metric, heading in METRIC_HEADINGS.items():
        if metric not in present:
            continue
        parts += [f"## {heading}", "",
                  markdown_table(records, metric, published=published if metric == "roc_auc" else None,
                                 digits=2 if metric in PERCENT_METRICS else 3), ""]
    parts += [
        "## Provenance", "",
        f"- benchmark: {', '.join(benches)}",
        f"- dates: {', '.join(dates)}",
        f"- machine: {'; '.join(machines)}",
        f"- seeds (support draws): {'; '.join(str(list(s)) for s in seeds)}",
        "- commands:",
        *[f"  - `{c}`" for c in cmds],
        *[f"- {n}" for n in notes],
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "\n".join(parts))
