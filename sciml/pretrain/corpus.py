"""An unlabelled corpus read in fixed-size chunks, never whole, with a position that makes a run resumable.

A corpus is a CSV (optionally gzip-compressed) with one input per row in column ``column``
(SMILES for molecules). :meth:`Corpus.chunks` yields ``(index, rows)`` of ``chunk_size`` rows from
chunk ``start`` on; :func:`chunk_order` is the seeded shuffle of one chunk, so a run stopped after
``batch`` batches of chunk ``chunk`` in epoch ``epoch`` (a :class:`CorpusPosition`) redraws exactly
the same batches when it resumes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

__all__ = ["Corpus", "CorpusPosition", "chunk_order"]


@dataclass
class CorpusPosition:
    """Where a pretraining run stands: ``epoch`` (passes over the corpus), ``chunk`` (index in the pass),
    ``batch`` (batches of that chunk already used)."""

    epoch: int = 0
    chunk: int = 0
    batch: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class Corpus:
    """Rows of one column of a CSV file, streamed in chunks.

    Parameters
    ----------
    path : path
        CSV or CSV.GZ file with a header row.
    column : str, default "SMILES"
    chunk_size : int, default 8192
    max_rows : int, optional
        Read at most this many rows per pass (a smaller corpus for a CPU run).
    """

    def __init__(self, path: str | Path, column: str = "SMILES", chunk_size: int = 8192, max_rows: int | None = None):
        import pandas as pd

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"corpus file not found: {self.path}")
        if chunk_size < 1 or (max_rows is not None and max_rows < 1):
            raise ValueError("chunk_size and max_rows must be >= 1")
        header = pd.read_csv(self.path, nrows=0).columns.tolist()
        if column not in header:
            raise ValueError(f"{self.path}: no column {column!r} (columns: {', '.join(header[:10])}); pass the "
                             "column that holds the inputs")
        self.column = column
        self.chunk_size = int(chunk_size)
        self.max_rows = max_rows

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({str(self.path)!r}, column={self.column!r}, chunk_size={self.chunk_size}, "
                f"max_rows={self.max_rows})")

    def chunks(self, start: int = 0) -> Iterator[tuple[int, list[str]]]:
        """``(chunk index, rows)`` from chunk ``start`` to the end of one pass (earlier chunks are parsed, not
        returned). Empty cells become empty strings, which the featurizer reports as invalid."""
        import pandas as pd

        read = 0
        with pd.read_csv(self.path, usecols=[self.column], dtype=str, keep_default_na=False,
                         chunksize=self.chunk_size) as reader:
            for i, df in enumerate(reader):
                rows = df[self.column].tolist()
                if self.max_rows is not None:
                    rows = rows[: max(0, self.max_rows - read)]
                read += len(rows)
                if not rows:
                    return
                if i >= start:
                    yield i, rows


def chunk_order(n: int, seed: int, epoch: int, chunk: int) -> np.ndarray:
    """The shuffled order ``int64 [n]`` of a chunk's ``n`` usable items, fixed by (seed, epoch, chunk)."""
    return np.random.default_rng([int(seed), int(epoch), int(chunk)]).permutation(n)
