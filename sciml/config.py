"""Paths and runtime settings shared by the library, the CLI and the pipelines."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that points at the folder holding ``molecules/`` and ``materials/``.
DATA_DIR_ENV = "SCIML_DATA_DIR"
#: Environment variable for the on-disk featurization cache.
CACHE_DIR_ENV = "SCIML_CACHE_DIR"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DataDirError(FileNotFoundError):
    """Raised when the shared data folder cannot be found."""


def default_data_dir() -> Path:
    """``$SCIML_DATA_DIR`` if set, else ``../shared/data`` seen from the project root."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return (PROJECT_ROOT.parent / "shared" / "data").resolve()


def resolve_data_dir(path: str | os.PathLike | None = None, *, must_exist: bool = True) -> Path:
    """Return the data folder, raising a :class:`DataDirError` that names the expected path."""
    p = Path(path).expanduser() if path is not None else default_data_dir()
    if must_exist and not p.is_dir():
        raise DataDirError(
            f"Data folder not found: {p}. Put the shared data there, set ${DATA_DIR_ENV}, "
            f"or pass --data-dir."
        )
    return p


def default_cache_dir() -> Path:
    """``$SCIML_CACHE_DIR`` if set, else ``~/.cache/sciml``."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "sciml"


def default_device() -> str:
    """CUDA when available, otherwise CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str) -> str:
    """``device`` if torch can use it here: ``cpu``, ``cuda`` / ``cuda:N`` (with a GPU) or ``mps``;
    otherwise a ``ValueError`` that lists what this machine has."""
    import re

    import torch

    have = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (
        ["mps"] if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available() else [])
    if not isinstance(device, str) or not re.fullmatch(r"cpu|mps|cuda(:\d+)?", device):
        raise ValueError(f"device {device!r} is not one sciml runs on; choose from {', '.join(have)}")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: no CUDA GPU is available here; use cpu")
        idx = int(device.split(":")[1]) if ":" in device else 0
        if idx >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device == "mps" and "mps" not in have:
        raise ValueError("device 'mps': Apple's Metal backend is not available here; use cpu")
    return device

