"""The screening job on disk: an output folder with Parquet shards and a manifest that commits them.

``<out>/manifest.json`` names the job (its *identity*: hashes of the model, the adapted state,
the support file and the library, and every setting that changes output rows), and lists the
finished shards in order (file, first row, rows, failures, SHA-256). A shard is written to a
temporary file and renamed (:func:`sciml.files.write_table`), then the manifest is rewritten
atomically with it added: a shard the manifest does not list is not part of the job, so a crash
or ``kill -9`` at any moment loses at most the shard being written, and ``--resume`` redoes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sciml.files import atomic_write_text, sha256_file

__all__ = ["FORMAT", "MANIFEST", "JobMismatchError", "Manifest", "ShardRecord", "library_identity"]

FORMAT = "sciml-screen"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SHARDS = "shards"


class JobMismatchError(ValueError):
    """The output folder holds another job (other model, support, library or settings)."""


@dataclass
class ShardRecord:
    index: int
    file: str  # relative to the output folder
    first_row: int
    n_rows: int
    n_failed: int
    sha256: str


@dataclass
class Manifest:
    """What an output folder holds; :meth:`save` writes it atomically."""

    identity: dict
    shards: list[ShardRecord] = field(default_factory=list)
    complete: bool = False
    summary: dict = field(default_factory=dict)

    @property
    def rows_done(self) -> int:
        return sum(s.n_rows for s in self.shards)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "identity": self.identity,
                "complete": self.complete, "shards": [vars(s) for s in self.shards], "summary": self.summary}

    def save(self, out: Path) -> None:
        atomic_write_text(out / MANIFEST, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, out: Path) -> "Manifest":
        path = out / MANIFEST
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path} cannot be read ({e}); delete {out} to start the job again") from e
        if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path} is not a sciml screening manifest (format {FORMAT} v{FORMAT_VERSION}); choose "
                             "another --out")
        try:
            shards = [ShardRecord(**s) for s in d["shards"]]
            return cls(identity=d["identity"], shards=shards, complete=bool(d["complete"]),
                       summary=d.get("summary") or {})
        except (KeyError, TypeError) as e:
            raise ValueError(f"{path} lacks a field ({e}); delete {out} to start the job again") from e

    def check_identity(self, identity: dict, out: Path) -> None:
        """:class:`JobMismatchError` naming what differs between this job and ``identity``."""
        keys = sorted(set(self.identity) | set(identity))
        diff = [k for k in keys if self.identity.get(k) != identity.get(k)]
        if diff:
            detail = "; ".join(f"{k}: {self.identity.get(k)!r} there, {identity.get(k)!r} now" for k in diff[:4])
            raise JobMismatchError(f"{out} holds another screening job ({detail}); resume it with the same model, "
                                   "support, library and settings, or choose another --out")

    def verified_prefix(self, out: Path) -> int:
        """Drop listed shards from the first one that is missing or damaged on; returns how many were dropped."""
        for i, s in enumerate(self.shards):
            path = out / s.file
            if not path.is_file() or sha256_file(path) != s.sha256:
                dropped = len(self.shards) - i
                self.shards = self.shards[:i]
                return dropped
        return 0

    def shard_path(self, out: Path, index: int) -> tuple[Path, str]:
        rel = f"{SHARDS}/shard-{index:06d}.parquet"
        return out / rel, rel


def library_identity(path: Path) -> dict:
    """``{"library_sha256", "library_bytes"}`` of a library file (read once, streamed)."""
    return {"library_sha256": sha256_file(path), "library_bytes": path.stat().st_size}
