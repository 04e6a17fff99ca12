"""Checkpoints: a folder with ``model.safetensors`` (weights only) and ``config.json``.

``config.json`` holds everything needed to rebuild the model without unpickling
anything: the input domain, the learner type and its hyperparameters, the encoder name
and hyperparameters, the featurizer spec and version, the training tasks and run
settings, the sciml version that wrote it, and the SHA-256 of the weights file. Both
files are written atomically, the weights first and the config last (the config commits
the checkpoint), so a killed save leaves the previous checkpoint or an incomplete folder
that is refused, and weights that do not match their config's hash are refused on
reading. Reading checks the format and the featurizer version and fails with a
:class:`CheckpointError` that says what is wrong.
A config without ``domain`` is read as :data:`~sciml.domains.base.DEFAULT_DOMAIN`
(molecules). Rebuilding the model needs the learner registry and lives with it
(:func:`sciml.learners.loading.load_checkpoint`), so this module imports no learner.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from safetensors.torch import load_file
from torch import nn

from sciml._version import __version__
from sciml.domains.base import DEFAULT_DOMAIN
from sciml.encoders import build_encoder

logger = logging.getLogger(__name__)

FORMAT = "sciml-checkpoint"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


#: The shipped checkpoints (``data/checkpoints`` of the project).
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data" / "checkpoints"
#: The shipped default per task kind (folder names under :data:`SHIPPED_DIR`); each is the model
#: chosen on the new-assay protocol's validation tasks for that kind (see its MODEL_CARD.md).
DEFAULT_BY_TASK = {"regression": "default", "classification": "default-classification"}


class CheckpointError(ValueError):
    """A checkpoint is missing, malformed, or incompatible with this installation."""


def default_checkpoint(task: str | None = None, root: str | Path = SHIPPED_DIR) -> Path:
    """The shipped default checkpoint for ``task`` (``None``: the regression default, ``default``).

    A task whose own default is not shipped under ``root`` gets ``root/default`` (every learner of
    the shipped defaults serves both task kinds).
    """
    root = Path(root)
    if task not in (None, *DEFAULT_BY_TASK):
        raise ValueError(f"task must be one of {', '.join(DEFAULT_BY_TASK)}, got {task!r}")
    own = root / DEFAULT_BY_TASK.get(task or "regression", "default")
    return own if (own / CONFIG).is_file() else root / DEFAULT_BY_TASK["regression"]


def save_checkpoint(path: str | Path, model: nn.Module, featurizer, *, encoder: str,
                    encoder_config: dict, learner: str = "protonet", learner_config: dict | None = None,
                    training: dict | None = None, calibration: dict | None = None,
                    domain: str = DEFAULT_DOMAIN) -> Path:
    """Write ``model`` to folder ``path`` (created if needed). Returns the folder.

    ``learner_config`` must let the registered learner class ``learner`` rebuild
    ``model`` around the encoder (its ``model_config(model)``); ``calibration`` is the
    post-hoc calibration fitted on validation tasks (:func:`sciml.calibration.fit_calibration`);
    ``domain`` names the input domain whose featurizer ``featurizer`` is.
    """
    from safetensors.torch import save as save_bytes

    from sciml.files import atomic_write_bytes, atomic_write_text, sha256_bytes

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    blob = save_bytes(state)
    atomic_write_bytes(path / WEIGHTS, blob)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "domain": domain,
        "learner": learner,
        "learner_config": learner_config or {},
        "encoder": encoder,
        "encoder_config": encoder_config,
        "featurizer": featurizer.spec.to_dict(),
        "training": training or {},
        "calibration": calibration or {},
        "weights_sha256": sha256_bytes(blob),
    }
    atomic_write_text(path / CONFIG, json.dumps(config, indent=2, sort_keys=True))
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
    fv = config.get("format_version")
    if not isinstance(fv, int) or isinstance(fv, bool):
        raise CheckpointError(f"{cfg_file}: 'format_version' must be the integer {FORMAT_VERSION}, got {fv!r} "
                              f"({type(fv).__name__}).")
    if fv != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {config.get('format_version')} is not supported "
            f"(this sciml {__version__} reads version {FORMAT_VERSION})."
        )
    for key in ("learner", "encoder", "encoder_config", "featurizer"):
        if key not in config:
            raise CheckpointError(f"{cfg_file} lacks the key {key!r}.")
    config.setdefault("domain", DEFAULT_DOMAIN)  # checkpoints without the field hold molecule models
    if not isinstance(config["domain"], str):
        raise CheckpointError(f"{cfg_file}: 'domain' must be a domain name, got {config['domain']!r}.")
    from sciml.checkpoint_schema import config_errors

    errors = config_errors(config)
    if errors:
        shown = "; ".join(errors[:8]) + (f"; and {len(errors) - 8} more" if len(errors) > 8 else "")
        raise CheckpointError(f"{cfg_file}: invalid checkpoint config: {shown}. Fix these keys or re-save the "
                              f"checkpoint with `sciml train`.")
    return config


def weights_header(path: str | Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{tensor name: (dtype, shape)}`` from the safetensors header of checkpoint ``path``, without reading tensors.

    A file that is not safetensors (a pickle, a truncated file, a header larger than the
    file) is a :class:`CheckpointError` that says so.
    """
    import struct

    f_path = Path(path) / WEIGHTS
    size = f_path.stat().st_size
    with open(f_path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{f_path} is not a safetensors file (shorter than its 8-byte header length).")
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, 100 << 20):
            raise CheckpointError(f"{f_path} is not a safetensors file (its first 8 bytes do not give a header "
                                  f"length that fits the file; a pickle or other format?). Checkpoints hold "
                                  f"weights as safetensors only.")
        raw = f.read(n)
    try:
        header = json.loads(raw)
        out = {k: (v["dtype"], tuple(int(x) for x in v["shape"])) for k, v in header.items() if k != "__metadata__"}
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise CheckpointError(f"{f_path} is not a safetensors file (unreadable header: {e}).") from e
    return out


def build_featurizer(config: dict, path: str | Path = "checkpoint"):
    """The featurizer described by a checkpoint config, from its domain (:data:`sciml.domains.DOMAINS`)."""
    from sciml.domains import get_domain

    try:
        return get_domain(config.get("domain", DEFAULT_DOMAIN)).featurizer(config["featurizer"])
    except KeyError as e:
        raise CheckpointError(f"{path}: {e}") from e
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: {e}") from e


def load_weights(path: str | Path, expected_sha256: str | None = None) -> dict:
    """The tensors of ``model.safetensors`` in checkpoint folder ``path`` (no unpickling).

    With ``expected_sha256`` (the config's ``weights_sha256``) a file with other bytes is
    refused: the weights were replaced or the save was interrupted.
    """
    from sciml.files import sha256_file

    path = Path(path)
    if expected_sha256 is not None:
        if not isinstance(expected_sha256, str):
            raise CheckpointError(f"{path / CONFIG}: 'weights_sha256' must be a hex string")
        if sha256_file(path / WEIGHTS) != expected_sha256:
            raise CheckpointError(f"{path / WEIGHTS} does not match the SHA-256 recorded in {CONFIG}: the weights "
                                  f"were changed or their save was interrupted; re-save or re-train the checkpoint")
    try:
        return load_file(str(path / WEIGHTS))
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{path / WEIGHTS} could not be read as safetensors: {e}") from e


def load_state_into(model: nn.Module, state: dict, path: str | Path = "checkpoint") -> nn.Module:
    """``model.load_state_dict(state, strict=True)`` with a :class:`CheckpointError` that names ``path``."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not match the model described in {CONFIG}: {e}") from e
    return model


def build_checkpoint_encoder(config: dict, path: str | Path = "checkpoint") -> nn.Module:
    """A fresh encoder from a checkpoint config's ``encoder`` / ``encoder_config``."""
    try:
        return build_encoder(config["encoder"], config["encoder_config"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot build encoder from its config: {e}") from e


def check_encoder_shapes(config: dict, path: str | Path) -> None:
    """Compare the encoder tensor shapes its config implies (the encoder built on the ``meta`` device: nothing
    allocated) with the safetensors header of ``path``; a :class:`CheckpointError` naming the first mismatches.

    The encoder holds nearly all of a model's weights, so a config whose sizes disagree with the
    file (``hidden = 200000`` beside a 2 MB file) is refused before any real tensor is allocated.
    """
    import torch

    with torch.device("meta"):
        enc = build_checkpoint_encoder(config, path)
    want = {f"encoder.{k}": tuple(v.shape) for k, v in enc.state_dict().items()}
    have = {k: shape for k, (_, shape) in weights_header(path).items() if k.startswith("encoder.")}
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    wrong = sorted(k for k in set(want) & set(have) if want[k] != have[k])
    if missing or extra or wrong:
        parts = []
        if wrong:
            parts.append("shapes differ: " + ", ".join(f"{k} config {want[k]} vs file {have[k]}" for k in wrong[:3]))
        if missing:
            parts.append(f"missing from the file: {', '.join(missing[:3])}")
        if extra:
            parts.append(f"not in the model: {', '.join(extra[:3])}")
        raise CheckpointError(f"{path}: {WEIGHTS} does not match the encoder described in {CONFIG} ("
                              + "; ".join(parts) + ")")
