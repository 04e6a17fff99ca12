"""Hyperparameter search on validation tasks only: Optuna (TPE), one SQLite study file, resumable.

Each trial meta-trains one configuration with :func:`pipelines.run.train_on_collection` and
scores it by its best validation score (the run's early-stopping criterion, on the
collection's validation tasks); test tasks are never read. The study lives in a SQLite file,
so a search that is stopped (Ctrl-C, ``kill -9``, a full disk) resumes where it was with the
same command: completed trials are kept, a trial left running by a dead process is marked
failed and re-sampled, and only the missing number of trials is run. One process at a time
holds a study (an OS lock beside the file).

:data:`SEARCH_SPACES` holds each learner's search space (:class:`Param`): every parameter
names what it sets (a :class:`~pipelines.train.TrainConfig` field, a key of
``learner_config`` or of ``encoder_config``). :func:`write_search_results` writes the trials
(parameters, validation score, best step, seconds, state) to ``<name>.json`` and a
Markdown table; the best trial's checkpoint is ``<out>/trial-<n>``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

from pipelines.train import TrainConfig

__all__ = ["Param", "SEARCH_SPACES", "suggest", "run_search", "trial_rows", "write_search_results"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Param:
    """One searched setting.

    ``target``: ``"train"`` (a :class:`TrainConfig` field), ``"learner"`` (a ``learner_config`` key)
    or ``"encoder"`` (an ``encoder_config`` key); ``kind``: ``"float"``, ``"log"`` (float on a log
    scale), ``"int"`` or ``"choice"`` (one of ``choices``).
    """

    name: str
    target: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def __post_init__(self) -> None:
        if self.target not in ("train", "learner", "encoder"):
            raise ValueError(f"{self.name}: target must be train, learner or encoder, got {self.target!r}")
        if self.kind == "choice":
            if not self.choices:
                raise ValueError(f"{self.name}: a choice needs choices")
        elif self.kind in ("float", "log", "int"):
            if self.low is None or self.high is None or not self.low < self.high or (self.kind == "log"
                                                                                     and self.low <= 0):
                raise ValueError(f"{self.name}: needs low < high (and low > 0 on a log scale), got "
                                 f"{self.low}, {self.high}")
        else:
            raise ValueError(f"{self.name}: kind must be float, log, int or choice, got {self.kind!r}")


_COMMON = (Param("lr", "train", "log", 3e-4, 3e-3), Param("dropout", "encoder", "float", 0.0, 0.3),
           Param("hidden", "encoder", "choice", choices=(64, 128, 256)), Param("depth", "encoder", "int", 2, 5))
#: Search space per registered learner.
SEARCH_SPACES: dict[str, tuple[Param, ...]] = {
    "protonet": _COMMON,
    "dkgp": (*_COMMON, Param("objective", "learner", "choice", choices=("predictive", "marginal"))),
    "maml": (*_COMMON, Param("inner_lr", "learner", "log", 0.01, 1.0),
             Param("meta_sgd", "learner", "choice", choices=(False, True)),
             Param("zero_init_head", "learner", "choice", choices=(False, True))),
    "fomaml": (*_COMMON, Param("inner_lr", "learner", "log", 0.01, 1.0)),
    "reptile": (*_COMMON, Param("inner_lr", "learner", "log", 0.01, 1.0),
                Param("inner_steps", "learner", "int", 1, 10)),
    "bmaml": (*_COMMON, Param("inner_lr", "learner", "log", 0.01, 1.0),
              Param("objective", "learner", "choice", choices=("nll", "chaser"))),
}


def suggest(trial, base: TrainConfig, space: tuple[Param, ...]) -> TrainConfig:
    """``base`` with every parameter of ``space`` drawn by the Optuna ``trial``."""
    train, learner, encoder = {}, dict(base.learner_config), dict(base.encoder_config)
    for p in space:
        if p.kind == "choice":
            v = trial.suggest_categorical(p.name, list(p.choices))
        elif p.kind == "int":
            v = trial.suggest_int(p.name, int(p.low), int(p.high))
        else:
            v = trial.suggest_float(p.name, p.low, p.high, log=p.kind == "log")
        {"train": train, "learner": learner, "encoder": encoder}[p.target][p.name] = v
    return replace(base, learner_config=learner, encoder_config=encoder, **train)


def _fail_orphans(study) -> int:
    """Mark trials left RUNNING by a dead process as failed (the caller holds the study's lock)."""
    from optuna.trial import TrialState

    orphans = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in orphans:
        study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)  # optuna has no public call
    return len(orphans)


def run_search(coll, base: TrainConfig, *, study_file: Path, out_dir: Path, n_trials: int, dataset: str,
               space: tuple[Param, ...] | None = None, seed: int = 0, device: str | None = None,
               command: str = "", progress: bool = False):
    """Run (or resume) the study in ``study_file`` until it holds ``n_trials`` completed trials.

    Trial ``n`` meta-trains ``suggest(trial, base, space)`` into ``out_dir/trial-<n>`` and returns its best
    validation score (maximised). A trial that raises ``ValueError`` / ``RuntimeError`` (e.g. a
    configuration that diverges) is recorded as failed and the search goes on. Returns the Optuna study.
    """
    import optuna

    from pipelines.run import train_on_collection
    from sciml.files import output_lock

    space = SEARCH_SPACES[base.learner] if space is None else space
    study_file = Path(study_file)
    study_file.parent.mkdir(parents=True, exist_ok=True)
    out_dir = Path(out_dir)
    with output_lock(study_file):
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(study_name=study_file.stem, storage=f"sqlite:///{study_file.resolve()}",
                                    direction="maximize", load_if_exists=True,
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        orphans = _fail_orphans(study)
        if orphans:
            logger.info("%s: %d trial(s) left running by a stopped search marked failed", study_file, orphans)

        def objective(trial) -> float:
            cfg = suggest(trial, base, space)
            out = out_dir / f"trial-{trial.number}"
            t0 = time.time()
            res = train_on_collection(coll, cfg, out, dataset=dataset, device=device, command=command,
                                      progress=progress)
            trial.set_user_attr("checkpoint", str(out))
            trial.set_user_attr("best_step", res.best_step)
            trial.set_user_attr("steps_run", res.steps_run)
            trial.set_user_attr("val_metric", res.val_metric)
            trial.set_user_attr("seconds", time.time() - t0)
            logger.info("trial %d: validation %s %.4f (%s)", trial.number, res.val_metric, res.best_val_score,
                        trial.params)
            return float(res.best_val_score)

        from optuna.trial import TrialState

        done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        if done < n_trials:
            study.optimize(objective, n_trials=n_trials - done, catch=(ValueError, RuntimeError))
    return study


def trial_rows(study) -> list[dict]:
    """One row per trial: number, state, validation score, parameters and the recorded attributes."""
    return [{"trial": t.number, "state": t.state.name, "value": t.value, "params": t.params, **t.user_attrs}
            for t in study.trials]


def write_search_results(study, path: Path, *, space: tuple[Param, ...], command: str, dataset: str,
                         learner: str) -> None:
    """``path`` (``.json``: the search space, the trials and the best one) and ``path.with_suffix('.md')``."""
    from pipelines.evaluate import machine_description, utc_date
    from sciml.files import atomic_write_text

    rows = trial_rows(study)
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    best = max(complete, key=lambda r: r["value"]) if complete else None
    record = {"benchmark": "search", "dataset": dataset, "learner": learner, "command": command,
              "date": utc_date(), "machine": machine_description(), "selection": "validation",
              "space": [p.__dict__ | {"choices": list(p.choices)} for p in space], "trials": rows, "best": best}
    path = Path(path)
    atomic_write_text(path, json.dumps(record, indent=1, default=str) + "\n")
    names = [p.name for p in space]
    lines = [f"# Hyperparameter search: {learner} on {dataset}", "",
             f"Validation tasks only (Optuna TPE, study file resumable). Command: `{command}`; "
             f"{record['date']}, {record['machine']}.", ""]
    if best:
        lines += [f"Best: trial {best['trial']}, validation {best.get('val_metric', 'score')} {best['value']:.4f} "
                  f"({best.get('checkpoint', '')}).", ""]
    lines += ["| trial | state | validation | " + " | ".join(names) + " | best step | seconds |",
              "|---|---|---|" + "---|" * len(names) + "---|---|"]
    for r in rows:
        val = "" if r["value"] is None else f"{r['value']:.4f}"
        cells = [f"{r['params'][n]:.3g}" if isinstance(r["params"].get(n), float) else str(r["params"].get(n, ""))
                 for n in names]
        secs = r.get("seconds")
        lines.append(f"| {r['trial']} | {r['state']} | {val} | " + " | ".join(cells)
                     + f" | {r.get('best_step', '')} | {'' if secs is None else f'{secs:.0f}'} |")
    atomic_write_text(path.with_suffix(".md"), "\n".join(lines) + "\n")
