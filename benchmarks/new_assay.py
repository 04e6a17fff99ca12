"""New assays on new molecules: meta-train on train tasks × train molecules, score test tasks × test molecules.

The split is the committed ``benchmarks/results/new_assay_split.json`` (built by
``scripts/make_new_assay_split.py``; loaded and verified by :func:`pipelines.new_assay.load_new_assay`).
Three stages, each resumable (finished pieces under ``--runs`` are reused):

``train``
    One model per learner and task kind, meta-trained on the pooled train tasks of every
    collection of that kind (classification: Tox21 + SIDER + ToxCast; regression: MoleculeACE),
    restricted to train molecules; selection and post-hoc calibration on the pooled validation
    tasks, on train molecules. Checkpoints: ``<runs>/<kind>/<learner>``.
``evaluate``
    Per test collection and learner, the episodes (supports of 16 and 32 molecules: half actives
    for classification, random for regression; 10 draws; query = the rest of the task's test
    molecules) go to ``<runs>/episodes/<collection>--<learner>.csv.gz``. Every meta-learner also gets
    its support-free row (``adaptation="none"``); classification learners also get the known-hit-rate
    row (``calibration="rate"``) and natural-rate supports (``sampling="natural"``: random draws of the
    task's test molecules with both classes). The support-only baselines (rf, knn, gp_tanimoto) and
    the support-free multitask ridge are scored on the same draws; ``default`` is the shipped checkpoint
    (``data/checkpoints/default``) on the regression collection. The MiniMol anchors (``minimol_lr``,
    ``minimol_gp``, ``multitask_minimol``) run where asked with ``--baselines`` and ``--collections``
    (the featurizer is slow; its embeddings are cached).
``ablation``
    MAML / FOMAML / Reptile / BMAML with 0, 1, 5 and 20 test-time inner steps on the same test episodes
    -> ``benchmarks/results/new_assay_inner_steps.{json,md}``.
``select``
    Test-time settings (``--grid``; default: the deep-kernel GP's ``adapt_steps``, the MAML family's
    ``inner_steps``) chosen on the pooled validation tasks and written into each checkpoint
    (:mod:`benchmarks.new_assay_select`).
``search``
    Optuna search (TPE, validation tasks × train molecules only, resumable SQLite study) around a
    learner's settings: ``--trials`` trials in ``<runs>/search/<kind>/<learner>/``, the table in
    ``benchmarks/results/search/new_assay-<kind>-<learner>.{json,md}``.
``report``
    All episode files -> ``benchmarks/results/new_assay.json`` (tidy records, ``benchmark: "new_assay"``,
    ``shots`` = support size in molecules), ``new_assay.md``; all per-episode rows in one
    ``<runs>/new_assay_episodes.csv.gz`` (not committed: 7-8 MB).

    python benchmarks/new_assay.py train
    python benchmarks/new_assay.py evaluate --seeds 10
    python benchmarks/new_assay.py ablation --learners maml,fomaml,bmaml
    python benchmarks/new_assay.py report
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sciml.files import atomic_write_text, write_table  # noqa: E402

META_LEARNERS = ("protonet", "maml", "fomaml", "bmaml", "dkgp", "cnp")
BASELINES = ("rf", "knn", "gp_tanimoto", "multitask_ridge")
#: Support sizes in molecules (classification: half actives).
SUPPORTS = (16, 32)
#: Encoder of every meta-learner: the 128-wide, 4-deep GINE of the per-collection benchmarks.
ENCODER = {"hidden": 128, "depth": 4, "out_dim": 128}
#: Learner settings: those the per-collection benchmarks selected on validation tasks.
LEARNER_CONFIG = {"protonet": {}, "maml": {"inner_lr": 0.05}, "fomaml": {"inner_lr": 0.05},
                  "bmaml": {"inner_lr": 0.05, "objective": "nll"}, "dkgp": {}, "reptile": {"inner_lr": 0.05},
                  "cnp": {}}
STEPS = {"protonet": 1500, "maml": 1500, "fomaml": 1500, "bmaml": 1500, "dkgp": 800, "reptile": 1500, "cnp": 1500}


@dataclass(frozen=True)
class Variant:
    """A meta-learner benchmarked under another name: its registered ``learner`` with other inputs or settings.

    ``encoder``: ``None`` for the GINE (with the MiniMol branch beside the graph when ``minimol``),
    ``"pretrained_mlp"`` for an MLP on the MiniMol embedding alone; ``learner_config`` is merged
    over the base learner's; ``fingerprint_bits`` > 0 gives the featurizer (and the GINE) a Morgan
    fingerprint; ``init_encoder``: a checkpoint folder whose encoder starts meta-training (the
    self-supervised MOSES encoder of ``sciml pretrain``).
    """

    learner: str
    encoder: str | None = None
    minimol: bool = True
    learner_config: dict = field(default_factory=dict)
    fingerprint_bits: int = 0
    init_encoder: str | None = None


#: The GNN pretrained on MOSES without the split's test molecules (``protonet_ssl``), made by
#: ``sciml pretrain --out runs/pretrain/moses`` (see benchmarks/pretrain_ssl.sh).
SSL_ENCODER = "runs/pretrain/moses"
#: The GNN pretrained on the pooled classification train tasks' labels (``protonet_mtl``), made by
#: ``python benchmarks/new_assay_pretrain.py --kinds classification``.
MTL_ENCODER = "runs/pretrain/multitask-classification"
#: Benchmark names of meta-learner variants. MiniMol (``minimol=True``) was pretrained on PubChem
#: bioassays that may overlap Tox21 / MUV. ``adkf`` / ``adkf_minimol``: the deep-kernel GP with a
#: meta-learned prior mean, a Tanimoto kernel on the fingerprint and (``_minimol``) an RBF kernel on the
#: frozen MiniMol embedding, each part weighed per support by the test-time refit.
ADKF_CONFIG = {"prior_mean": True, "fingerprint_kernel": True}
#: ``maml_sgd`` / ``maml_sgd_minimol``: MAML (ANIL: the head adapts) with Meta-SGD's learned per-weight inner
#: rates, started ten times larger than MAML's selected 0.05, so that meta-training can use adaptation.
META_SGD_CONFIG = {"meta_sgd": True, "inner_lr": 0.5}
VARIANTS = {"protonet_minimol": Variant("protonet"), "dkgp_minimol": Variant("dkgp"),
            "protonet_minimol_mlp": Variant("protonet", "pretrained_mlp"),
            "adkf": Variant("dkgp", minimol=False, learner_config=ADKF_CONFIG, fingerprint_bits=2048),
            "cnp_support": Variant("cnp", minimol=False, learner_config={"query_in_decoder": False}),
            "adkf_minimol": Variant("dkgp", learner_config={**ADKF_CONFIG, "minimol_kernel": True},
                                    fingerprint_bits=2048),
            "maml_sgd": Variant("maml", minimol=False, learner_config=META_SGD_CONFIG),
            "maml_sgd_minimol": Variant("maml", learner_config=META_SGD_CONFIG),
            "protonet_ssl": Variant("protonet", minimol=False, init_encoder=SSL_ENCODER),
            "protonet_mtl": Variant("protonet", minimol=False, init_encoder=MTL_ENCODER)}
#: Episode shapes of meta-training per kind (classification ``k_shot`` counts per class).
KIND_EPISODES = {"classification": {"k_shot": 8, "kshot_choices": [8, 16], "n_query": 16},
                 "regression": {"k_shot": 16, "kshot_choices": [16, 32], "n_query": 32}}
DEFAULT_CHECKPOINT = ROOT / "data" / "checkpoints" / "default"

logger = logging.getLogger("new_assay")


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def base_learner(name: str) -> str:
    """The registered learner of a benchmark name (a MiniMol variant's base learner, else itself)."""
    return VARIANTS[name].learner if name in VARIANTS else name


def train_config(name: str, kind: str, seed: int, steps: int | None):
    from pipelines.train import TrainConfig

    learner = base_learner(name)
    lc = dict(LEARNER_CONFIG[learner])
    fp_bits = 0
    if learner == "dkgp" and kind == "regression":  # as the shipped default: a Tanimoto kernel beside the embedding
        lc["fingerprint_kernel"] = True
        fp_bits = 2048
    encoder, enc, minimol = None, dict(ENCODER), False
    if name in VARIANTS:
        v = VARIANTS[name]
        encoder, minimol = v.encoder, v.minimol
        lc.update(v.learner_config)
        fp_bits = max(fp_bits, v.fingerprint_bits)
        if encoder == "pretrained_mlp":
            enc = {"hidden": ENCODER["hidden"], "depth": 1, "out_dim": ENCODER["out_dim"]}
    init = VARIANTS[name].init_encoder if name in VARIANTS else None
    return TrainConfig(learner=learner, learner_config=lc, encoder=encoder, encoder_config=enc, init_encoder=init,
                       fingerprint_bits=fp_bits, minimol=minimol, steps=steps or STEPS[learner],
                       eval_every=100, patience=3, seed=seed, **KIND_EPISODES[kind])


def stage_train(args, collections) -> None:
    from pipelines.evaluate import script_command
    from pipelines.new_assay import pooled_train_collection
    from pipelines.run import train_on_collection
    from pipelines.train import learner_class

    for kind in _csv(args.kinds):
        pooled = pooled_train_collection(collections, kind)
        logger.info("%s: %d train / %d val tasks from %s", pooled.name, len(pooled.train), len(pooled.val),
                    pooled.source)
        for ln in _csv(args.learners):
            if kind not in learner_class(base_learner(ln)).tasks:
                continue
            out = args.runs / kind / ln
            if (out / "config.json").is_file():
                logger.info("reusing %s", out)
                continue
            cfg = train_config(ln, kind, args.seed, args.steps)
            t0 = time.time()
            res = train_on_collection(pooled, cfg, out, dataset=pooled.name, command=script_command(),
                                      progress=False)
            logger.info("%s %s: best validation %s %.4f at step %d of %d, %.0f s", kind, ln, res.val_metric,
                        res.best_val_score, res.best_step, res.steps_run, time.time() - t0)


def stage_search(args, collections) -> None:
    """Optuna search (validation tasks only) around each learner's benchmark settings, per task kind:
    trials in ``<runs>/search/<kind>/<learner>/``, the table in ``benchmarks/results/search/``."""
    from pipelines.evaluate import script_command
    from pipelines.new_assay import pooled_train_collection
    from pipelines.search import SEARCH_SPACES, run_search, write_search_results
    from pipelines.train import learner_class

    for kind in _csv(args.kinds):
        pooled = pooled_train_collection(collections, kind)
        for ln in _csv(args.learners):
            base = base_learner(ln)
            if kind not in learner_class(base).tasks:
                continue
            out = args.runs / "search" / kind / ln
            study = run_search(pooled, train_config(ln, kind, args.seed, args.steps), study_file=out / "study.db",
                               out_dir=out, n_trials=args.trials, dataset=pooled.name, seed=args.seed,
                               command=script_command())
            write_search_results(study, ROOT / "benchmarks" / "results" / "search" / f"new_assay-{kind}-{ln}.json",
                                 space=SEARCH_SPACES[base], command=script_command(), dataset=pooled.name,
                                 learner=ln)
            logger.info("%s %s: best trial %d, validation %.4f %s", kind, ln, study.best_trial.number,
                        study.best_value, study.best_params)


def _memo_featurize(learner, cache: dict, key) -> None:
    """Serve ``learner.featurize`` from ``cache`` for repeated inputs: learners with the same ``key``
    (fingerprint settings, or one model's embedding) featurize a collection once."""
    orig = learner.featurize

    def featurize(inputs, _orig=orig):
        k = (key, len(inputs), hash(tuple(inputs)))
        if k not in cache:
            cache[k] = _orig(inputs)
        return cache[k]

    learner.featurize = featurize


def _shared_fingerprints(learners, smiles_cache: dict) -> None:
    """Let fingerprint learners with the same settings share one featurization per collection."""
    from sciml.learners.baselines import MorganLearner
    from sciml.learners.multitask import MultitaskMinimolRidge, MultitaskRidge

    for lr in learners:
        if isinstance(lr, (MorganLearner, MultitaskRidge)) and not isinstance(lr, MultitaskMinimolRidge):
            _memo_featurize(lr, smiles_cache, ("morgan", lr.radius, lr.n_bits))


def build(name: str, kind: str, args, pooled_by_kind: dict):
    """(learner, calibration dict or None, checkpoint label or None)."""
    from sciml.learners import LEARNERS, make_learner

    if name in LEARNERS and getattr(LEARNERS[name], "needs_tasks", False):
        lr = make_learner(name, task=kind)
        pooled = pooled_by_kind[kind]
        lr.fit_tasks(pooled.split("train"), pooled.split("val"))
        logger.info("%s %s: alpha %g (validation %s), %d train molecules", name, kind, lr.alpha_,
                    lr.val_scores_, lr.n_molecules_)
        return lr, None, None
    if name == "default":
        lr = make_learner("dkgp", DEFAULT_CHECKPOINT, device="cpu", task=kind)
        lr.name = "default"
        return lr, lr.config_.get("calibration") or None, "default"
    if LEARNERS[base_learner(name)].needs_checkpoint:
        ckpt = args.runs / kind / name
        lr = make_learner(base_learner(name), ckpt, device="cpu", task=kind)
        lr.name = name
        return lr, lr.config_.get("calibration") or None, str(ckpt.relative_to(ROOT) if ckpt.is_absolute() else ckpt)
    return make_learner(name, task=kind), None, None


def stage_evaluate(args, collections) -> None:
    import pandas as pd

    from pipelines.evaluate import evaluate_learner
    from pipelines.new_assay import evaluation_collection, pooled_train_collection
    from sciml.learners import LEARNERS
    from sciml.learners.multitask import attach_multitask_head

    seeds = list(range(args.seeds))
    ep_dir = args.runs / "episodes"
    ep_dir.mkdir(parents=True, exist_ok=True)
    pooled_by_kind = {}
    for name in _csv(args.collections):
        tc = evaluation_collection(collections, name)
        if not tc.test:
            continue
        kind = tc.split("test")[0].kind
        if kind not in pooled_by_kind:
            pooled_by_kind[kind] = pooled_train_collection(collections, kind)
        names = [n for n in _csv(args.learners) + _csv(args.baselines)
                 if n == "default" or kind in LEARNERS[base_learner(n)].tasks]
        if kind == "regression" and args.default:
            names.append("default")
        fp_cache: dict = {}
        for ln in names:
            out = ep_dir / f"{name}--{ln}.csv.gz"
            if out.is_file() and not args.redo:
                logger.info("reusing %s", out)
                continue
            if (base_learner(ln) in LEARNERS and LEARNERS[base_learner(ln)].needs_checkpoint
                    and not (args.runs / kind / ln / "config.json").is_file()):
                logger.warning("%s: no %s checkpoint under %s yet (run the train stage); skipped", name, ln,
                               args.runs / kind)
                continue
            t0 = time.time()
            learner, cal, ckpt = build(ln, kind, args, pooled_by_kind)
            if ckpt and getattr(learner, "support_free", None) is None:  # ProtoNet: a multitask head on its embedding
                pooled = pooled_by_kind[kind]
                attach_multitask_head(learner, pooled.split("train"), pooled.split("val"))
            _shared_fingerprints([learner], fp_cache)
            frames = []
            per_class = kind == "classification"
            shots = [s // 2 for s in SUPPORTS] if per_class else list(SUPPORTS)
            df = evaluate_learner(learner, tc, shots, seeds, progress=False, calibration=cal,
                                  support_free=True, known_rate=per_class)
            if per_class:
                df["shots"] = df["shots"] * 2
            frames.append(df)
            if per_class and args.natural:
                frames.append(evaluate_learner(learner, tc, list(SUPPORTS), seeds, progress=False, calibration=cal,
                                               support_free=True, known_rate=True, sampling="natural"))
            df = pd.concat(frames, ignore_index=True)
            df["checkpoint"] = ckpt or ""
            write_table(df, out)
            logger.info("%s %s: %d rows in %.0f s", name, ln, len(df), time.time() - t0)


def stage_ablation(args, collections) -> None:
    """Test-time inner steps 0 / 1 / 5 / 20 of the MAML family on the new protocol (balanced supports)."""
    from pipelines.evaluate import (evaluate_learner, machine_description, script_command, seed_statistics,
                                    utc_date, write_analysis)
    from benchmarks.new_assay_report import ablation_markdown
    from pipelines.new_assay import evaluation_collection
    from sciml.learners import make_learner

    command, date = script_command(), utc_date()
    steps = [int(x) for x in _csv(args.inner_steps)]
    records = []
    for name in _csv(args.collections):
        tc = evaluation_collection(collections, name)
        if not tc.test:
            continue
        kind = tc.split("test")[0].kind
        metrics = ("roc_auc",) if kind == "classification" else ("r2", "spearman")
        shots = [s // 2 for s in SUPPORTS] if kind == "classification" else list(SUPPORTS)
        for ln in _csv(args.learners):
            ckpt = args.runs / kind / ln
            if base_learner(ln) not in ("maml", "fomaml", "reptile", "bmaml") or not (ckpt / "config.json").is_file():
                continue
            learner = make_learner(base_learner(ln), ckpt, device="cpu", task=kind)
            _memo_featurize(learner, {}, ln)
            trained_steps = (learner.inner_steps if learner.inner_steps is not None
                             else learner.model.config.inner_steps)
            for k in steps:
                learner.inner_steps = k
                df = evaluate_learner(learner, tc, shots, range(args.seeds), progress=False)
                if kind == "classification":
                    df["shots"] = df["shots"] * 2
                for (s_, ), g in df.groupby(["shots"]):
                    for m in metrics:
                        records.append({"dataset": name, "learner": ln, "inner_steps": k, "shots": int(s_),
                                        "metric": m, **seed_statistics(g, m, ddof=1,
                                                                       scale=100.0 if m == "roc_auc" else 1.0),
                                        "trained_inner_steps": trained_steps, "command": command, "date": date})
                logger.info("%s %s %d steps: %s", name, ln, k,
                            {r["shots"]: round(r["mean"], 3) for r in records[-2 * len(metrics):]})
    meta = {"benchmark": "new_assay", "date": date, "machine": machine_description(), "seeds": list(range(args.seeds)),
            "note": "shots = support size in molecules; std over draws (ddof=1); ROC-AUC in percent"}
    out = ROOT / "benchmarks" / "results" / "new_assay_inner_steps"
    done = {(r["dataset"], r["learner"]) for r in records}
    if out.with_suffix(".json").is_file():  # keep the rows of (collection, learner) pairs not re-run
        kept = json.loads(out.with_suffix(".json").read_text())["records"]
        records = [r for r in kept if (r["dataset"], r["learner"]) not in done] + records
    write_analysis(out, meta, records, ablation_markdown(records, meta))
    print(out.with_suffix(".md").read_text())


def kept_records(path: Path, records: list[dict]) -> list[dict]:
    """Committed records in ``path`` of (collection, learner) pairs that ``records`` do not cover.

    Episode files live under ``--runs`` (not committed), so a fresh clone that re-runs one learner
    would otherwise drop every other learner's rows from the report; their summaries are kept as
    committed (their paired comparisons need the episode rows and are left out).
    """
    if not path.is_file():
        return []
    covered = {(r["dataset"], r["learner"]) for r in records}
    kept = [r for r in json.loads(path.read_text()) if (r["dataset"], r["learner"]) not in covered]
    pairs = sorted({(r["dataset"], r["learner"]) for r in kept})
    if pairs:
        logger.info("keeping the committed records of %d (collection, learner) pairs without episode files: %s",
                    len(pairs), ", ".join(f"{d}/{ln}" for d, ln in pairs))
    return kept


def stage_report(args) -> None:
    import pandas as pd

    from benchmarks.new_assay_report import markdown, merged_versus
    from pipelines.evaluate import machine_description, script_command, summarize

    files = sorted((args.runs / "episodes").glob("*--*.csv.gz"))
    if not files:
        raise SystemExit(f"no episode files under {args.runs / 'episodes'}; run the evaluate stage first")
    per_episode = pd.concat([pd.read_csv(f, keep_default_na=True) for f in files], ignore_index=True)
    per_episode["checkpoint"] = per_episode["checkpoint"].fillna("")
    records = []
    for (ckpt, _), g in per_episode.groupby(["checkpoint", "dataset"]):
        # metric columns of the other task kind are all empty for this collection: no records for them
        g = g.drop(columns="checkpoint").dropna(axis=1, how="all")
        recs = summarize(g, benchmark="new_assay", command=args.eval_command)
        records += [{**r, **({"checkpoint": ckpt} if ckpt else {})} for r in recs]
    results = ROOT / "benchmarks" / "results"
    records += kept_records(results / "new_assay.json", records)
    records.sort(key=lambda r: (r["dataset"], r["learner"], r["shots"], r.get("sampling", "balanced"),
                                r["calibration"], r["adaptation"], r["metric"]))
    atomic_write_text(results / "new_assay.json", json.dumps(records, indent=1) + "\n")
    # per-episode rows stay beside the episode files (7-8 MB: too large to commit)
    write_table(per_episode, args.runs / "new_assay_episodes.csv.gz")
    results_training = results / "new_assay_training.json"
    committed = {(t["kind"], t["learner"]): t for t in (json.loads(results_training.read_text())
                                                        if results_training.is_file() else [])}
    training = {}
    for cfg_path in sorted(args.runs.glob("*/*/config.json")):
        name, kind = cfg_path.parent.name, cfg_path.parent.parent.name
        # the entry must describe the checkpoint behind the episode files: when every episode file of this
        # learner predates its checkpoint (episodes copied from an earlier run, the checkpoint re-trained
        # since, e.g. for the ablation), the committed entry of that earlier checkpoint is kept
        episodes = list((args.runs / "episodes").glob(f"*--{name}.csv.gz"))
        if (kind, name) in committed and episodes and all(e.stat().st_mtime < cfg_path.stat().st_mtime
                                                          for e in episodes):
            continue
        c = json.loads(cfg_path.read_text())
        tr = c.get("training", {})
        training[(kind, name)] = {
            "kind": kind, "learner": name, "base_learner": c.get("learner"),
            "command": tr.get("command"), "train_tasks": len(tr.get("train_tasks", [])),
            "val_tasks": len(tr.get("val_tasks", [])), "best_step": tr.get("best_step"),
            "steps_run": tr.get("steps_run"), "val_metric": tr.get("val_metric"),
            "best_val_score": tr.get("best_val_score"), "seconds": tr.get("seconds"),
            "cost": tr.get("cost", {}), "calibration": c.get("calibration", {}),
            "learner_config": c.get("learner_config", {}), "config": tr.get("config", {})}
    training = [training.get(k, committed.get(k)) for k in sorted(set(training) | set(committed))]
    atomic_write_text(results_training, json.dumps(training, indent=1) + "\n")
    split = json.loads((results / "new_assay_split.json").read_text())
    # the paired comparisons need per-episode rows, which are not committed: keep those of learners not re-run
    vs_path = results / "new_assay_vs_baseline.json"
    versus = merged_versus(per_episode, json.loads(vs_path.read_text()) if vs_path.is_file() else [])
    atomic_write_text(vs_path, json.dumps([{**r, "metric": m} for m, df in versus.items()
                                           for r in df.to_dict("records")], indent=1) + "\n")
    atomic_write_text(results / "new_assay.md", markdown(records, training, split, machine_description(),
                                                   report_command=script_command(), versus=versus))
    print((results / "new_assay.md").read_text())


def main(argv: list[str] | None = None) -> None:
    from pipelines.new_assay import SPLIT_RECORD, load_new_assay

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=("train", "evaluate", "ablation", "search", "select", "report"))
    ap.add_argument("--data-dir", default=None, help="Shared data (default $SCIML_DATA_DIR or ../shared/data).")
    ap.add_argument("--split", type=Path, default=ROOT / SPLIT_RECORD, help="The split record.")
    ap.add_argument("--runs", type=Path, default=Path("runs/new_assay"), help="Checkpoints and episode files.")
    ap.add_argument("--learners", default=",".join(META_LEARNERS), help="Meta-learners (comma-separated).")
    ap.add_argument("--baselines", default=",".join(BASELINES), help="Baselines (comma-separated).")
    ap.add_argument("--kinds", default="classification,regression", help="Task kinds to meta-train.")
    ap.add_argument("--collections", default="tox21,sider,muv,toxcast,moleculeace", help="Test collections.")
    ap.add_argument("--seeds", type=int, default=10, help="Support draws 0..N-1.")
    ap.add_argument("--seed", type=int, default=0, help="Meta-training seed.")
    ap.add_argument("--steps", type=int, default=None, help="Meta-training steps (default per learner).")
    ap.add_argument("--no-default", dest="default", action="store_false", help="Skip the shipped checkpoint.")
    ap.add_argument("--redo", action="store_true", help="Re-run episode files that exist.")
    ap.add_argument("--no-natural", dest="natural", action="store_false",
                    help="Skip the natural-rate supports (half the episodes of a classification learner).")
    ap.add_argument("--inner-steps", default="0,1,5,20", help="(ablation) Test-time inner steps.")
    ap.add_argument("--trials", type=int, default=20, help="(search) Completed trials per learner and kind.")
    ap.add_argument("--grid", default=None, help="(select) JSON {setting: [values]} (default per learner).")
    ap.add_argument("--eval-command", default="python benchmarks/new_assay.py evaluate --seeds 10",
                    help="(report) The evaluate command recorded in the records.")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("deepchem", "assays.sources", "assays.episodes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    np.seterr(all="ignore")
    if args.stage == "report":
        stage_report(args)
        return
    collections, _, _ = load_new_assay(args.data_dir, args.split)
    from benchmarks.new_assay_select import stage_select

    stages = {"train": stage_train, "evaluate": stage_evaluate, "ablation": stage_ablation, "search": stage_search,
              "select": stage_select}
    stages[args.stage](args, collections)


if __name__ == "__main__":
    main()
