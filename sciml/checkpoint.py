"""Checkpoints: a folder with ``model.safetensors`` (weights only) and ``config.json``.

``config.json`` holds everything needed to rebuild the model without unpickling
anything: the learner type and its hyperparameters, the encoder name and
hyperparameters, the featurizer spec and version, the training tasks and run settings,
and the sciml version that wrote it. Loading checks the format and the featurizer
version and fails with a :class:`CheckpointError` that says what is wrong.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import nn

import sciml
from sciml.encoders import build_encoder
from sciml.domains.molecules.graphs import FeaturizerSpec, MolGraphFeaturizer

logger = logging.getLogger(__name__)

FORMAT = "sciml-checkpoint"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


class CheckpointError(ValueError):
    """A checkpoint is missing, malformed, or incompatible with this installation."""


def save_checkpoint(path: str | Path, model: nn.Module, featurizer: MolGraphFeaturizer, *, encoder: str,
                    encoder_config: dict, learner: str = "protonet", learner_config: dict | None = None,
                    training: dict | None = None, calibration: dict | None = None) -> Path:
    """Write ``model`` to folder ``path`` (created if needed). Returns the folder.

    ``learner_config`` must let ``LEARNERS[learner]``'s class rebuild ``model`` around
    the encoder (its ``model_config(model)``); ``calibration`` is the post-hoc
    calibration fitted on validation tasks (:func:`sciml.calibration.fit_calibration`).
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path / WEIGHTS))
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": sciml.__version__,
        "learner": learner,
        "learner_config": learner_config or {},
        "encoder": encoder,
        "encoder_config": encoder_config,
        "featurizer": featurizer.spec.to_dict(),
        "training": training or {},
        "calibration": calibration or {},
    }
    (path / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True))
    return path


def read_config(path: str | Path) -> dict:
    """Read and validate ``config.json`` of checkpoint folder ``path``."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"Checkpoint folder not found: {path}")
    cfg_file = path / CONFIG
    if not cfg_file.is_file() or not (path / WEIGHTS).is_file():
        raise CheckpointError(f"{path} is not a sciml checkpoint: it needs {CONFIG} and {WEIGHTS}.")
    try:
        config = json.loads(cfg_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{cfg_file} is not valid JSON: {e}") from e
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{cfg_file} is not a sciml checkpoint config (format != {FORMAT!r}).")
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {config.get('format_version')} is not supported "
            f"(this sciml {sciml.__version__} reads version {FORMAT_VERSION})."
        )
    for key in ("learner", "encoder", "encoder_config", "featurizer"):
        if key not in config:
            raise CheckpointError(f"{cfg_file} lacks the key {key!r}.")
    return config


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[nn.Module, MolGraphFeaturizer, dict]:
    """Rebuild ``(model, featurizer, config)`` from a checkpoint folder; the model is in eval mode.

    The model class comes from the learner registry (:data:`sciml.learners.LEARNERS`):
    ``config["learner"]`` names the learner whose ``build_model`` rebuilds it from
    ``config["learner_config"]``.
    """
    from sciml.learners import LEARNERS

    path = Path(path)
    config = read_config(path)
    entry = LEARNERS.get(config["learner"])
    if entry is None or not entry.needs_checkpoint:
        raise CheckpointError(f"{path}: learner {config['learner']!r} is not a meta-learner this sciml version "
                              f"knows (known: {', '.join(k for k, v in LEARNERS.items() if v.needs_checkpoint)}).")
    try:
        featurizer = MolGraphFeaturizer.from_spec(FeaturizerSpec.from_dict(config["featurizer"]))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: {e}") from e
    try:
        encoder = build_encoder(config["encoder"], config["encoder_config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot build encoder from its config: {e}") from e
    try:
        model = entry.load().build_model(encoder, dict(config.get("learner_config", {})))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot build the {config['learner']} model from its learner_config: {e}") from e
    try:
        state = load_file(str(path / WEIGHTS))
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{path / WEIGHTS} could not be read as safetensors: {e}") from e
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not match the model described in {CONFIG}: {e}") from e
    model.to(device).eval()
    return model, featurizer, config
