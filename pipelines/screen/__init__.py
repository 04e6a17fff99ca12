"""Batch screening of large libraries: chunked readers, a resumable sharded job, top-k (see :mod:`.run`)."""

from pipelines.screen.manifest import JobMismatchError, Manifest
from pipelines.screen.readers import LibraryError, read_chunks
from pipelines.screen.run import SCORE_COLUMNS, ScorerSpec, ScreenInterrupted, ScreenSettings, run_screen, top_k

__all__ = ["SCORE_COLUMNS", "JobMismatchError", "LibraryError", "Manifest", "ScorerSpec", "ScreenInterrupted",
           "ScreenSettings", "read_chunks", "run_screen", "top_k"]
