"""Paths, limits and defaults of the app (no Streamlit import)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Shipped checkpoints: one folder each (config.json + model.safetensors [+ MODEL_CARD.md]).
CHECKPOINTS_DIR = Path(os.environ.get("SCIML_APP_CHECKPOINTS", ROOT / "data" / "checkpoints"))
#: Shipped example assays and candidate libraries (described by examples.json).
EXAMPLES_DIR = Path(os.environ.get("SCIML_APP_EXAMPLES", ROOT / "data" / "examples"))
#: The checkpoint listed first.
DEFAULT_CHECKPOINT = "default"
#: With the default chosen, a support of this task kind is served by its own shipped default (when present).
DEFAULT_BY_TASK = {"classification": "default-classification"}

#: Fewest usable support rows per task (classification also needs both classes).
MIN_SUPPORT = {"regression": 5, "classification": 2}
#: Most candidates predicted in one run.
MAX_CANDIDATES = 10_000
#: Default coverage of the predictive interval.
DEFAULT_LEVEL = 0.9
#: Default Tanimoto threshold of the applicability-domain check.
DEFAULT_SIMILARITY = 0.35
#: Rows shown (with depictions) in the result tables by default.
DEFAULT_ROWS_SHOWN = 50
#: The upload widgets let files up to this size through to the page, which refuses any over
#: ``tables.MAX_UPLOAD_MB`` with an error in the page naming the limit (a file the browser
#: refuses itself gets only a small icon). Beyond this, Streamlit's own refusal is all the user sees;
#: 200 MB is also Streamlit's server-side cap (``server.maxUploadSize``), which the server enforces anyway.
UPLOAD_WIDGET_MB = 200
#: File types the upload widgets accept.
UPLOAD_TYPES = ["csv", "tsv", "tab", "txt", "smi", "xlsx", "sdf", "sd", "gz"]
