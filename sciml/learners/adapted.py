"""Adapted learners on disk: what ``fit_features`` learned, reloaded without refitting.

A screening worker builds the learner from the same model (checkpoint) and loads the
adapted state that another process fitted on the support set. A folder holds two files:

* ``adapted.safetensors``: the arrays of :meth:`~sciml.learners.base.FewShotLearner.adapted_state`
  (written with ``safetensors.numpy``; nothing is ever pickled or unpickled);
* ``adapted.json``: what the arrays belong to: ``format`` / ``format_version``, the
  ``learner`` (registry name), its ``task``, ``n_support``, the ``sciml_version`` that
  wrote it, ``checkpoint`` (a fingerprint of the learner's checkpoint config, see
  :func:`checkpoint_fingerprint`; ``null`` for a learner not loaded from a checkpoint),
  ``arrays_sha256`` (of ``adapted.safetensors``) and the caller's ``meta``.

Writing is atomic: both files are written to temporary files in the same folder
(hidden names ending in ``.tmp``, removed on failure) and flushed to disk, then
``os.replace`` moves the arrays into place and the JSON last. The JSON is the commit
record: it names the SHA-256 of the arrays it describes, so an interrupted write (new
arrays under an old JSON, or arrays without any JSON) is refused by :func:`load_adapted`
instead of being read as a complete state.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from sciml._version import __version__
from sciml.files import sha256_file

__all__ = ["ARRAYS", "META", "FORMAT", "FORMAT_VERSION", "checkpoint_fingerprint", "save_adapted", "read_adapted_meta",
           "load_adapted"]

FORMAT = "sciml-adapted"
FORMAT_VERSION = 1
ARRAYS = "adapted.safetensors"
META = "adapted.json"
#: Checkpoint config keys written after training (test-time selection, post-hoc calibration); they do not
#: change the model, so the fingerprint leaves them out.
POST_HOC_KEYS = ("calibration", "test_time", "test_time_selection")


def checkpoint_fingerprint(config: dict | None) -> str | None:
    """``"sha256:<hex>"`` of a checkpoint config without its post-hoc keys (``None`` without a config).

    The config is serialised as canonical JSON (sorted keys, no spaces), so the same
    checkpoint gives the same fingerprint in every process; the keys in
    :data:`POST_HOC_KEYS` (written into ``config.json`` by test-time selection after
    training) are left out.
    """
    if config is None:
        return None
    model_part = {k: v for k, v in config.items() if k not in POST_HOC_KEYS}
    text = json.dumps(model_part, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()



def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # platforms without directory file descriptors
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_path(folder: Path, name: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def _arrays(state: dict) -> dict[str, np.ndarray]:
    if not isinstance(state, dict) or not state:
        raise ValueError(f"adapted_state() must return a non-empty dict of numpy arrays, got {type(state).__name__}")
    out = {}
    for k, v in state.items():
        if not isinstance(k, str) or not isinstance(v, np.ndarray):
            raise ValueError(f"adapted_state() entry {k!r} is not a numpy array under a string key "
                             f"({type(v).__name__})")
        out[k] = v if v.flags.c_contiguous else v.copy(order="C")  # (np.ascontiguousarray makes 0-d arrays 1-d)
    return out


def save_adapted(learner, folder: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write ``learner.adapted_state()`` and its description to ``folder`` (created if needed); returns it.

    Parameters
    ----------
    learner : FewShotLearner
        A fitted learner whose class exports its adapted state.
    folder : path
    meta : dict, optional
        JSON-serialisable information of the caller's (assay, support set, date), stored
        under ``"meta"``.

    Raises
    ------
    sciml.errors.NotFittedError
        If the learner is not fitted.
    NotImplementedError
        If the learner cannot export its state (the random forest).
    TypeError
        If ``meta`` is not JSON-serialisable.
    """
    from safetensors.numpy import save_file

    folder = Path(folder)
    arrays = _arrays(learner.adapted_state())
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    n_support = int(arrays["n_support"]) if "n_support" in arrays else int(getattr(learner, "n_support_", -1))
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "learner": learner.name,
        "task": learner.task,
        "n_support": n_support,
        "sciml_version": __version__,
        "checkpoint": checkpoint_fingerprint(getattr(learner, "config_", None)),
        "meta": meta or {},
    }
    json.dumps(header)  # a TypeError for meta that JSON cannot hold, before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    tmp_arrays, tmp_meta = _temp_path(folder, ARRAYS), _temp_path(folder, META)
    try:
        save_file(arrays, str(tmp_arrays))
        _fsync(tmp_arrays)
        header["arrays_sha256"] = sha256_file(tmp_arrays)
        with open(tmp_meta, "w", encoding="utf-8") as f:
            json.dump(header, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_arrays, folder / ARRAYS)
        os.replace(tmp_meta, folder / META)  # last: the JSON commits the arrays it names
        _fsync_dir(folder)
    finally:
        for tmp in (tmp_arrays, tmp_meta):
            tmp.unlink(missing_ok=True)
    return folder


def read_adapted_meta(folder: str | os.PathLike) -> dict:
    """The validated ``adapted.json`` of ``folder``.

    Raises
    ------
    ValueError
        Naming the file (and key) when it is missing, not JSON, of another format or
        version, or lacks a required key.
    """
    path = Path(folder) / META
    if not path.is_file():
        raise ValueError(f"{path} not found: {folder} holds no complete adapted state (write one with save_adapted)")
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path}: 'format' must be {FORMAT!r}, got "
                         f"{header.get('format') if isinstance(header, dict) else header!r}")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: 'format_version' {header.get('format_version')!r} is not supported "
                         f"(this sciml {__version__} reads version {FORMAT_VERSION})")
    for key in ("learner", "task", "n_support", "arrays_sha256"):
        if key not in header:
            raise ValueError(f"{path} lacks the key {key!r}")
    return header


def load_adapted(learner, folder: str | os.PathLike):
    """Load the adapted state in ``folder`` into ``learner`` (built from the same model); returns ``learner``.

    Checks, each a ``ValueError`` naming the file and key: ``adapted.json`` is complete
    and of this format (:func:`read_adapted_meta`); its ``learner`` and ``task`` are
    the learner's; its ``checkpoint`` fingerprint equals the learner's when both are
    known; ``adapted.safetensors`` is the file its ``arrays_sha256`` names; the arrays fit
    the learner (its ``load_adapted_state``).
    """
    from safetensors.numpy import load_file

    folder = Path(folder)
    meta_path, arrays_path = folder / META, folder / ARRAYS
    header = read_adapted_meta(folder)
    if header["learner"] != learner.name:
        raise ValueError(f"{meta_path}: 'learner' is {header['learner']!r} but the learner loading it is "
                         f"{learner.name!r}")
    if header["task"] != learner.task:
        raise ValueError(f"{meta_path}: 'task' is {header['task']!r} but the learner does {learner.task!r}")
    saved, current = header.get("checkpoint"), checkpoint_fingerprint(getattr(learner, "config_", None))
    if saved is not None and current is not None and saved != current:
        raise ValueError(f"{meta_path}: 'checkpoint' is {saved} but the learner's checkpoint is {current}: the state "
                         f"was adapted with another model")
    if not arrays_path.is_file():
        raise ValueError(f"{arrays_path} not found (named by {meta_path}): the adapted state is incomplete")
    digest = sha256_file(arrays_path)
    if digest != header["arrays_sha256"]:
        raise ValueError(f"{arrays_path} is not the file {meta_path} describes ('arrays_sha256' differs): an "
                         f"interrupted or mixed write; save the adapted state again")
    try:
        state = load_file(str(arrays_path))
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise ValueError(f"{arrays_path} could not be read as safetensors: {e}") from e
    try:
        learner.load_adapted_state(state)
    except ValueError as e:
        raise ValueError(f"{arrays_path}: {e}") from e
    return learner
