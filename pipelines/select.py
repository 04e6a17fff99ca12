"""Choose a meta-learner's test-time settings on validation tasks only, and store them in its checkpoint.

Some settings of a meta-learner act only when it meets a new task: the deep-kernel GP's
``adapt_steps`` (hyperparameter refits on the support set), MAML's and BMAML's
``inner_steps``. :func:`select_test_time` scores every combination of a grid on the
checkpoint's *validation* tasks (the same tasks that chose its weights; never the test
tasks), keeps the best by the mean validation metric over the support sizes (ROC-AUC or
R²; ties go to the earlier candidate in grid order), refits the post-hoc calibration
with the chosen settings on the same validation episodes that :mod:`pipelines.train`
uses, and writes both into the checkpoint's ``config.json`` (``test_time``,
``calibration``, ``test_time_selection``). :meth:`sciml.learners.meta.MetaLearnerMixin.from_checkpoint`
applies ``test_time`` as the learner's default keyword arguments.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import numpy as np

from sciml.files import atomic_write_text

logger = logging.getLogger(__name__)

__all__ = ["grid_candidates", "select_test_time", "recalibrate", "selection_markdown"]


def grid_candidates(grid: dict[str, list]) -> list[dict]:
    """All combinations of a ``{name: [values...]}`` grid, in order (last name varies fastest)."""
    if not isinstance(grid, dict) or not grid:
        raise ValueError("the grid must be a non-empty JSON object of {setting: [values, ...]}")
    for k, v in grid.items():
        if not isinstance(v, list) or not v:
            raise ValueError(f"grid entry {k!r} must be a non-empty list of values, got {v!r}")
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def _calibration_refit(learner, coll, train_cfg: dict, task: str) -> dict:
    """The post-hoc calibration of ``learner`` refitted on the validation episodes meta-training used."""
    from pipelines.train import TrainConfig, validation_episodes, validation_predictions
    from sciml.calibration import fit_calibration

    val_tasks = coll.split("val")
    _, eps = validation_episodes(val_tasks, TrainConfig.from_dict(train_cfg), task)
    return fit_calibration(task, validation_predictions(learner, eps, {t.name: list(t.inputs) for t in val_tasks}))


def _open_for_validation(checkpoint: Path, dataset: str, data_dir, collection=None) -> tuple[dict, object, str]:
    """``(config, collection, task)`` of a checkpoint meta-trained on ``dataset``, which must have validation tasks.

    ``collection``: the already-built collection named ``dataset`` (e.g. the new-assay protocol's pooled
    train collection, which :func:`pipelines.run.load_collection` cannot load by name); default: load it.
    """
    from pipelines.run import load_collection
    from sciml.checkpoint import CheckpointError, read_config

    config = read_config(checkpoint)
    trained_on = config.get("training", {}).get("dataset")
    if trained_on and trained_on != dataset:
        raise CheckpointError(f"{checkpoint} was meta-trained on {trained_on!r}, not {dataset!r}.")
    if collection is not None and collection.name != dataset:
        raise ValueError(f"the collection given is {collection.name!r}, not {dataset!r}")
    coll = collection if collection is not None else load_collection(dataset, data_dir)
    if not coll.val:
        raise ValueError(f"{dataset} has no validation tasks")
    return config, coll, coll.split("val")[0].kind


def select_test_time(checkpoint, dataset: str, grid: dict[str, list], *, shots=None, seeds=range(1000, 1010),
                     data_dir=None, device: str | None = None, write: bool = True, command: str = "",
                     collection=None) -> dict:
    """Score each grid candidate on the validation tasks of ``dataset``; store the best in ``checkpoint``.

    Parameters
    ----------
    checkpoint : path
        Checkpoint folder of a meta-learner meta-trained on ``dataset``.
    grid : dict
        ``{constructor keyword: [values]}``, e.g. ``{"adapt_steps": [0, 10, 50]}``.
    shots : list of int, optional
        Support sizes (default: the benchmark's, 1/10 per class or 16/32/64).
    seeds : iterable of int, default 1000..1009
        Support draws on the validation tasks.
    write : bool, default True
        Update ``config.json`` of the checkpoint (``test_time``, ``calibration``, ``test_time_selection``).
    collection : TaskCollection, optional
        The collection named ``dataset``, already built (default: loaded by name).

    Returns
    -------
    dict
        ``{"learner", "dataset", "metric", "shots", "seeds", "val_tasks", "candidates": [{"settings",
        "score", "per_shot": {"<shots>": {metric: mean}}}], "chosen", "calibration", "command", "date"}``.
    """
    from pipelines.evaluate import evaluate_learner, utc_date
    from pipelines.run import DEFAULT_SHOTS, benchmark_of
    from sciml.checkpoint import CONFIG
    from sciml.learners import make_learner

    candidates_settings = grid_candidates(grid)
    checkpoint = Path(checkpoint)
    config, coll, task = _open_for_validation(checkpoint, dataset, data_dir, collection)
    name = config["learner"]
    metric = "roc_auc" if task == "classification" else "r2"
    shots = list(shots or DEFAULT_SHOTS[benchmark_of(dataset)])
    seeds = list(seeds)
    candidates = []
    for settings in candidates_settings:
        # Explicit settings override any test_time already stored in the checkpoint.
        learner = make_learner(name, checkpoint, device=device or "cpu", task=task, **settings)
        df = evaluate_learner(learner, coll, shots, seeds, progress=False, split="val")
        per_shot = df.groupby("shots")[[c for c in ("roc_auc", "ece", "r2", "nll", "coverage90") if c in df]].mean()
        score = float(np.nanmean([per_shot.loc[k, metric] for k in shots]))
        candidates.append({"settings": settings, "score": score,
                           "per_shot": {str(k): {m: float(v) for m, v in row.items()} for k, row in per_shot.iterrows()}})
        logger.info("%s %s: validation %s %.4f (%s)", name, settings, metric, score,
                    ", ".join(f"{k}: {per_shot.loc[k, metric]:.4f}" for k in shots))
    best = max(range(len(candidates)), key=lambda i: (candidates[i]["score"], -i))
    chosen = candidates[best]["settings"]
    learner = make_learner(name, checkpoint, device=device or "cpu", task=task, **chosen)
    calibration = _calibration_refit(learner, coll, config.get("training", {}).get("config", {}), task) \
        if config.get("calibration") else {}
    result = {"learner": name, "dataset": dataset, "checkpoint": str(checkpoint), "metric": metric,
              "shots": shots, "seeds": seeds, "val_tasks": list(coll.val), "candidates": candidates,
              "chosen": chosen, "calibration": calibration, "command": command,
              "date": utc_date()}
    if write:
        config["test_time"] = chosen
        config["calibration"] = calibration
        config["test_time_selection"] = {k: v for k, v in result.items() if k not in ("calibration", "checkpoint")}
        atomic_write_text(checkpoint / CONFIG, json.dumps(config, indent=2, sort_keys=True))
        logger.info("%s: test-time settings %s and the refitted calibration written", checkpoint, chosen)
    return result


def recalibrate(checkpoint, dataset: str, *, data_dir=None, device: str | None = None, write: bool = True) -> dict:
    """Refit the post-hoc calibration of ``checkpoint`` on the validation episodes of ``dataset``.

    Uses the checkpoint's stored test-time settings and the same validation episodes as
    meta-training, so it reproduces the stored calibration with every field
    :func:`sciml.calibration.fit_calibration` records (including the validation
    ``base_rate`` a hit rate is applied against). Returns the new calibration (also
    written to ``config.json`` when ``write``).
    """
    from sciml.checkpoint import CONFIG
    from sciml.learners import make_learner

    checkpoint = Path(checkpoint)
    config, coll, task = _open_for_validation(checkpoint, dataset, data_dir)
    learner = make_learner(config["learner"], checkpoint, device=device or "cpu", task=task)
    calibration = _calibration_refit(learner, coll, config.get("training", {}).get("config", {}), task)
    if write:
        config["calibration"] = calibration
        atomic_write_text(checkpoint / CONFIG, json.dumps(config, indent=2, sort_keys=True))
        logger.info("%s: calibration refitted: %s", checkpoint, calibration)
    return calibration


def selection_markdown(result: dict) -> str:
    """A Markdown table of one selection result (one row per candidate)."""
    shots, metric = result["shots"], result["metric"]
    lines = [f"### {result['learner']} on {result['dataset']}: test-time settings chosen on validation tasks",
             "", f"Validation tasks: {', '.join(result['val_tasks'])}; seeds {result['seeds'][0]}..{result['seeds'][-1]}; "
             f"criterion: mean validation {metric} over support sizes {', '.join(map(str, shots))}.",
             f"Command: `{result['command']}` ({result['date']}).", "",
             "| settings | " + " | ".join(f"{metric} @{k}" for k in shots) + " | mean | chosen |",
             "|---|" + "---|" * (len(shots) + 2)]
    for c in result["candidates"]:
        cells = [f"{c['per_shot'][str(k)][metric]:.4f}" for k in shots]
        mark = "yes" if c["settings"] == result["chosen"] else ""
        lines.append(f"| `{json.dumps(c['settings'])}` | " + " | ".join(cells) + f" | {c['score']:.4f} | {mark} |")
    return "\n".join(lines) + "\n"
