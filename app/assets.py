"""Shipped assets: checkpoints (with their model cards) and example assays / candidate libraries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from app.config import CHECKPOINTS_DIR, DEFAULT_CHECKPOINT, EXAMPLES_DIR

#: Featurizer names of molecular checkpoints; anything else is a materials checkpoint.
_MOLECULAR_FEATURIZERS = ("mol_graph",)
#: Data sources the app can name when a checkpoint has no model card (collection -> text).
_KNOWN_SOURCES = {
    "moleculeace": "MoleculeACE 3.0.0 (van Tilborg et al., 2022; MIT licence), bioactivities curated from ChEMBL.",
    "fsmol": "FS-Mol (Stanley et al., 2021), bioactivities from ChEMBL.",
}


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint folder as listed in the app (its config read, the model not loaded)."""

    name: str
    path: Path
    config: dict = field(default_factory=dict)
    error: str = ""

    @property
    def domain(self) -> str:
        if self.config.get("domain"):
            return str(self.config["domain"])
        featurizer = (self.config.get("featurizer") or {}).get("name", "mol_graph")
        return "molecules" if featurizer in _MOLECULAR_FEATURIZERS else "materials"

    @property
    def card_path(self) -> Path:
        return self.path / "MODEL_CARD.md"

    def stamp(self) -> tuple:
        """Changes when the checkpoint's files change (cache key)."""
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(self.path.iterdir()) if p.is_file())


def list_checkpoints(root: Path = CHECKPOINTS_DIR) -> list[CheckpointInfo]:
    """Every folder of ``root`` holding a config.json, the default first, then by name."""
    found = []
    if not root.is_dir():
        return found
    for d in sorted(p for p in root.iterdir() if p.is_dir() and (p / "config.json").is_file()):
        try:
            config = json.loads((d / "config.json").read_text())
            found.append(CheckpointInfo(d.name, d, config))
        except (OSError, ValueError) as exc:
            found.append(CheckpointInfo(d.name, d, {}, f"config.json could not be read ({exc})"))
    return sorted(found, key=lambda c: (c.name != DEFAULT_CHECKPOINT, c.name))


def _fmt(x, digits: int = 3) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    return f"{x:,.0f}" if abs(x) >= 10 ** digits else f"{x:.{digits}g}"


def _task_list(tasks: list, n: int = 12) -> str:
    shown = ", ".join(f"`{t}`" for t in tasks[:n])
    return shown + (f", … ({len(tasks)} in all)" if len(tasks) > n else "")


def build_card(info: CheckpointInfo, learner_description: str = "") -> str:
    """A model card in Markdown built from the checkpoint's config.json (used when MODEL_CARD.md is absent)."""
    c = info.config
    tr = c.get("training") or {}
    lines = [f"#### Checkpoint `{info.name}` (built from config.json; no MODEL_CARD.md shipped)", ""]
    learner = c.get("learner", "?")
    lines.append(f"- **Learner**: `{learner}`" + (f" — {learner_description}" if learner_description else ""))
    enc = c.get("encoder_config") or {}
    if enc:
        lines.append(f"- **Encoder**: {c.get('encoder', '?')} (" + ", ".join(f"{k} {v}" for k, v in enc.items()) + ")")
    dataset = tr.get("dataset") or tr.get("collection")
    if dataset:
        lines.append(f"- **Meta-trained on**: `{dataset}`, {tr.get('task', '')} tasks: "
                     f"{len(tr.get('train_tasks', []))} training tasks, {len(tr.get('val_tasks', []))} validation "
                     "tasks (early stopping and calibration only)")
    if tr.get("train_tasks"):
        lines.append(f"  - training tasks: {_task_list(tr['train_tasks'])}")
    if tr.get("val_tasks"):
        lines.append(f"  - validation tasks: {_task_list(tr['val_tasks'])}")
    if tr.get("test_tasks_never_used"):
        lines.append(f"  - held-out test tasks, never used in training: {_task_list(tr['test_tasks_never_used'])}")
    if tr.get("steps_run") is not None:
        lines.append(f"- **Training**: {tr.get('steps_run')} steps (best at step {tr.get('best_step')}, validation "
                     f"{tr.get('val_metric', 'score')} {_fmt(tr.get('best_val_score'))})")
    cost = tr.get("cost") or {}
    if cost:
        lines.append(f"- **Training cost**: {_fmt(cost.get('train_seconds'))} s on {cost.get('device', '?')}, "
                     f"peak memory {_fmt(cost.get('peak_rss_mb'))} MB")
    if tr.get("command"):
        lines.append(f"- **Command**: `{tr['command']}`")
    cal = c.get("calibration") or {}
    if cal:
        lines.append(f"- **Calibration**: {cal.get('method')} fitted on {cal.get('n_points', '?')} validation points "
                     "(" + ", ".join(f"{k} {_fmt(v)}" for k, v in cal.items() if k not in ("method", "n_points")) + ")")
    bench = c.get("benchmark") or c.get("evaluation") or tr.get("benchmark")
    lines.append("- **Benchmark figures**: " + (f"`{json.dumps(bench)[:600]}`" if bench else
                                                "none recorded in config.json (a MODEL_CARD.md gives them when shipped)."))
    sources = c.get("data_sources") or _KNOWN_SOURCES.get(str(dataset).lower())
    lines.append("- **Data sources and licences**: " + (str(sources) if sources else
                                                        f"dataset `{dataset}`; see the data MANIFEST.md for its licence."))
    lines.append(f"- **Package version**: {c.get('package_version', '?')}; featurizer "
                 f"{(c.get('featurizer') or {}).get('name', '?')} v{(c.get('featurizer') or {}).get('version', '?')}")
    return "\n".join(lines)


def model_card(info: CheckpointInfo, learner_description: str = "") -> str:
    """MODEL_CARD.md when shipped, else a card built from config.json."""
    if info.card_path.is_file():
        try:
            return info.card_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass
    return build_card(info, learner_description)


# ------------------------------------------------------------------------------ examples


def load_examples(root: Path = EXAMPLES_DIR) -> dict:
    """examples.json (``{"assays": [...], "libraries": [...]}``); empty lists when absent or unreadable."""
    try:
        data = json.loads((root / "examples.json").read_text())
    except (OSError, ValueError):
        return {"assays": [], "libraries": []}
    data["assays"] = [a for a in data.get("assays", []) if (root / a.get("support", "")).is_file()]
    data["libraries"] = [lib for lib in data.get("libraries", []) if (root / lib.get("file", "")).is_file()]
    return data


def example_file(name: str, root: Path = EXAMPLES_DIR) -> tuple[bytes, str]:
    """Bytes and SHA-256 of a shipped example file."""
    data = (root / name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()
