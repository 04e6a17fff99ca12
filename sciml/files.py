"""Small file helpers shared by the library and its scripts: hashing, atomic writes, output locks.

Every file sciml writes goes through :func:`atomic_write` (or a helper on it): the bytes
go to a hidden temporary file in the destination's folder, are flushed to disk, and only
then take the final name (``os.replace``, or a hard link when an existing file must not be
overwritten). A killed run therefore leaves either no file or the previous complete one,
never a truncated file under the final name. :func:`output_lock` lets one run at a time
claim an output path, so concurrent runs on one ``--out`` are refused instead of silently
swapping each other's files.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator

__all__ = ["OutputExistsError", "OutputBusyError", "sha256_file", "sha256_bytes", "cache_signature", "atomic_write",
           "atomic_write_text", "atomic_write_bytes", "write_table", "output_lock", "shared_results_lock"]


class OutputExistsError(FileExistsError):
    """The output file exists and overwriting was not asked for."""


class OutputBusyError(RuntimeError):
    """Another process is writing the same output path."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(Path(path), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


#: File of the secret key that signs cache shards (default ``~/.config/sciml/cache-key``).
CACHE_KEY_ENV = "SCIML_CACHE_KEY_FILE"
_KEY: dict[str, bytes] = {}


def _cache_key() -> bytes:
    """This user's 32-byte cache-signing key, created (mode 0600) on first use."""
    path = Path(os.environ.get(CACHE_KEY_ENV) or Path.home() / ".config" / "sciml" / "cache-key").expanduser()
    if str(path) in _KEY:
        return _KEY[str(path)]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
    key = path.read_bytes()
    if len(key) < 16:
        raise RuntimeError(f"the cache-signing key {path} is shorter than 16 bytes; delete it to make a new one")
    _KEY[str(path)] = key
    return key


def cache_signature(data: bytes) -> str:
    """HMAC-SHA256 of ``data`` under this user's cache key (hex).

    Cache shards (graphs, MiniMol embeddings) are signed when written and checked when read,
    so a shard changed or added by anyone without the key file (kept outside the cache
    folder, under ``~/.config/sciml``) is ignored and recomputed, never trusted.
    """
    return hmac.new(_cache_key(), data, hashlib.sha256).hexdigest()


def signature_ok(data: bytes, signature: object) -> bool:
    """Whether ``signature`` is :func:`cache_signature` of ``data`` (constant-time comparison)."""
    return isinstance(signature, str) and hmac.compare_digest(cache_signature(data), signature)


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


#: Mode of published files: what ``open()`` would give under this process's umask (``mkstemp`` uses 0600).
FILE_MODE = 0o666 & ~_umask()


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    os.chmod(tmp, FILE_MODE)
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # atomic and never clobbers: fails if ``path`` appeared meanwhile
    except FileExistsError:
        raise OutputExistsError(f"{path} already exists; choose another output name or allow overwriting "
                                f"(--overwrite)") from None
    except OSError:  # a filesystem without hard links: check, then replace
        if path.exists():
            raise OutputExistsError(f"{path} already exists; choose another output name or allow overwriting "
                                    f"(--overwrite)") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, overwrite: bool = True,
                 encoding: str | None = "utf-8", newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on success it becomes ``path`` atomically.

    ``mode`` is ``"w"`` (text, ``encoding``) or ``"wb"``. On an exception inside the block
    the temporary file is removed and ``path`` is untouched. ``overwrite=False`` refuses an
    existing ``path`` (:class:`OutputExistsError`), checked again at the moment of publishing.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    if not overwrite and path.exists():
        raise OutputExistsError(f"{path} already exists; choose another output name or allow overwriting "
                                f"(--overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    tmp = Path(name)
    try:
        kw = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kw) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _publish(tmp, path, overwrite)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str, *, overwrite: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_write(path, "w", overwrite=overwrite) as f:
        f.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_write(path, "wb", overwrite=overwrite) as f:
        f.write(data)
    return Path(path)


def _writer(df, path: Path) -> Callable[[IO], None]:
    suffixes = "".join(path.suffixes[-2:]).lower()
    if path.suffix.lower() == ".parquet":
        return lambda f: df.to_parquet(f, index=False)
    if suffixes.endswith(".csv.gz"):
        return lambda f: df.to_csv(f, index=False, compression={"method": "gzip", "mtime": 0})
    if path.suffix.lower() in (".tsv", ".tab"):
        return lambda f: df.to_csv(f, index=False, sep="\t")
    return lambda f: df.to_csv(f, index=False)


def write_table(df, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write a DataFrame atomically: ``.parquet``, ``.csv.gz``, ``.tsv`` / ``.tab`` or CSV (anything else)."""
    path = Path(path)
    with atomic_write(path, "wb", overwrite=overwrite) as f:
        _writer(df, path)(f)
    return path


def _lock_file(path: str | os.PathLike, suffix: str):
    """``(fcntl, fd, lock path)`` of the hidden ``.<name><suffix>`` file beside ``path`` (opened, created if
    needed), or ``(None, None, None)`` where ``fcntl`` is missing (not POSIX)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None, None, None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}{suffix}"
    return fcntl, os.open(lock, os.O_RDWR | os.O_CREAT, 0o644), lock


@contextlib.contextmanager
def output_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive claim on output ``path`` for the block; :class:`OutputBusyError` if another process has it.

    The claim is an OS lock (``flock``) on a hidden ``.<name>.lock`` file beside ``path``:
    the OS drops it when the process dies, so a killed run never leaves ``path`` claimed.
    Where ``fcntl`` is missing (Windows) the block runs unlocked and only the no-clobber
    publish of :func:`atomic_write` protects the file.
    """
    fcntl, fd, lock = _lock_file(path, ".lock")
    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputBusyError(f"another sciml run is writing {path} right now; wait for it or choose "
                                  f"another output name") from None
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def shared_results_lock(path: str | os.PathLike) -> Iterator[None]:
    """Wait for, then hold, an exclusive claim on a results file that several runs update in turn.

    For read-merge-write updates (two ``sciml evaluate`` runs adding their records to the same
    ``<benchmark>.json``): the second waits until the first has written, so neither loses the
    other's records. An OS lock (``flock``, blocking) on ``.<name>.update-lock`` beside ``path``,
    released when the block ends or the process dies; the lock file stays (removing it would let
    a waiter and a newcomer lock different files). Where ``fcntl`` is missing it runs unlocked.
    """
    fcntl, fd, _ = _lock_file(path, ".update-lock")
    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
