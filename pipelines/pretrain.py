"""Self-supervised pretraining of the molecular GNN on an unlabelled SMILES corpus (e.g. the 1.58 M MOSES molecules).

:func:`pretrain` streams the corpus in chunks (:class:`sciml.pretrain.Corpus`), featurizes each chunk
(without the graph cache: a corpus of millions would fill it), drops molecules in ``exclude``
(canonical SMILES, e.g. the test molecules of the new-assay split, so pretraining never sees a
molecule the benchmark scores) and trains :class:`sciml.pretrain.MaskedGraphPretrainer`
(attribute masking + graph contrastive). Every ``save_every`` steps the run state goes to
``<out>/resume/`` (weights, the mask generator and the global CPU generator that dropout draws from, in safetensors, the optimiser state read back
with ``torch.load(weights_only=True)``, the position and counts in ``progress.json``, written
last); a run started again with the same settings continues from there and draws the same
batches. At the end ``<out>`` is a sciml checkpoint of a ProtoNet around the pretrained encoder
(fixed metric scale, no meta-training), usable by ``sciml train --init-encoder <out>`` and as a
support-only learner; ``<out>/pretraining.json`` holds the loss curve and the counts.
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from sciml.files import atomic_write_bytes, atomic_write_text

logger = logging.getLogger(__name__)

__all__ = ["PretrainConfig", "pretrain"]

RESUME = "resume"


@dataclass
class PretrainConfig:
    """Settings of a pretraining run (all stored in the checkpoint's ``training.pretraining``)."""

    corpus: str
    smiles_column: str = "SMILES"
    max_molecules: int | None = None  # corpus rows read per pass (None: all)
    steps: int = 2000
    batch_size: int = 128
    chunk_size: int = 8192
    lr: float = 1e-3
    weight_decay: float = 1e-5
    warmup_steps: int = 100
    mask_rate: float = 0.15
    contrastive_weight: float = 1.0
    temperature: float = 0.2
    encoder_config: dict = field(default_factory=lambda: {"hidden": 128, "depth": 4, "out_dim": 128})
    save_every: int = 200
    log_every: int = 50
    seed: int = 0
    device: str | None = None
    exclude_source: str = ""  # what ``exclude`` holds, for the record (e.g. "new_assay test molecules")

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 2 or self.save_every < 1 or self.log_every < 1:
            raise ValueError("steps, save_every and log_every must be >= 1 and batch_size >= 2")
        if self.chunk_size < self.batch_size:
            raise ValueError(f"chunk_size ({self.chunk_size}) must be at least batch_size ({self.batch_size})")


def _chunk_graphs(featurizer, rows: list[str], exclude: set[str]) -> tuple[list, dict[str, int]]:
    """Graphs of the rows RDKit reads and ``exclude`` lacks, and the counts of rows read / invalid / excluded."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    graphs, invalid, excluded = [], 0, 0
    for s in rows:
        mol = Chem.MolFromSmiles(s.strip()) if s.strip() else None
        if mol is None or mol.GetNumAtoms() == 0:
            invalid += 1
            continue
        if exclude and Chem.MolToSmiles(mol) in exclude:
            excluded += 1
            continue
        graphs.append(featurizer.mol_to_graph(mol))
    return graphs, {"read": len(rows), "invalid": invalid, "excluded": excluded}


def _save_state(folder: Path, model, opt, generator: torch.Generator, progress: dict) -> None:
    from safetensors.torch import save as save_bytes

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    state["__mask_generator__"] = generator.get_state()
    state["__torch_rng__"] = torch.get_rng_state()  # dropout draws from the global generator
    atomic_write_bytes(folder / "pretrainer.safetensors", save_bytes(state))
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    atomic_write_bytes(folder / "optimizer.pt", buf.getvalue())
    atomic_write_text(folder / "progress.json", json.dumps(progress, indent=1))  # last: commits the state


def _load_state(folder: Path, model, opt, generator: torch.Generator, settings: dict) -> dict | None:
    from safetensors.torch import load_file

    if not (folder / "progress.json").is_file():
        return None
    progress = json.loads((folder / "progress.json").read_text())
    if progress.get("settings") != settings:
        raise ValueError(f"{folder}: a pretraining run with other settings is there; use another --out or delete "
                         "that folder to start over")
    state = load_file(folder / "pretrainer.safetensors")
    generator.set_state(state.pop("__mask_generator__"))
    torch.set_rng_state(state.pop("__torch_rng__"))
    model.load_state_dict(state)
    opt.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    return progress


def pretrain(cfg: PretrainConfig, out: str | Path, exclude: set[str] | None = None, command: str = "") -> dict:
    """Run (or resume) pretraining; write the checkpoint to ``out``; return the ``pretraining.json`` record."""
    from sciml.checkpoint import save_checkpoint
    from sciml.config import default_device
    from sciml.domains import get_domain
    from sciml.domains.molecules.graphs import ELEMENT_COLUMNS
    from sciml.encoders import build_encoder
    from sciml.learners.protonet import ProtoNet
    from sciml.pretrain import Corpus, CorpusPosition, MaskedGraphPretrainer, chunk_order

    from pipelines.train import lr_lambda

    out, exclude = Path(out), exclude or set()
    lr_factor = lr_lambda(cfg)
    device = cfg.device or default_device()
    torch.manual_seed(cfg.seed)
    domain = get_domain("molecules")
    featurizer = domain.featurizer(cache=False)
    enc_name, enc_cfg = domain.default_encoder(featurizer, **cfg.encoder_config)
    model = MaskedGraphPretrainer(build_encoder(enc_name, enc_cfg), ELEMENT_COLUMNS, mask_rate=cfg.mask_rate,
                                  contrastive_weight=cfg.contrastive_weight, temperature=cfg.temperature).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    settings = {**asdict(cfg), "device": None, "n_exclude": len(exclude)}
    progress = _load_state(out / RESUME, model, opt, generator, settings)
    if progress is None:
        progress = {"settings": settings, "step": 0, "position": CorpusPosition().to_dict(), "curve": [],
                    "counts": {"read": 0, "invalid": 0, "excluded": 0, "dropped_tail": 0}, "seconds": 0.0}
    else:
        logger.info("resuming pretraining at step %d (%s)", progress["step"], progress["position"])
    pos = CorpusPosition(**progress["position"])
    corpus = Corpus(cfg.corpus, cfg.smiles_column, cfg.chunk_size, cfg.max_molecules)
    step, t0, window = progress["step"], time.perf_counter() - progress["seconds"], []
    model.train()
    while step < cfg.steps:
        n_chunks = 0
        for ci, rows in corpus.chunks(start=pos.chunk):
            n_chunks += 1
            graphs, counts = _chunk_graphs(featurizer, rows, exclude)
            n_batches = len(graphs) // cfg.batch_size
            if pos.epoch == 0 and pos.batch == 0:  # counted once, on the first visit of the chunk
                for k, v in counts.items():
                    progress["counts"][k] += v
                progress["counts"]["dropped_tail"] += len(graphs) - n_batches * cfg.batch_size
            order = chunk_order(len(graphs), cfg.seed, pos.epoch, ci)
            for b in range(pos.batch, n_batches):
                batch = featurizer.collate([graphs[j] for j in order[b * cfg.batch_size:(b + 1) * cfg.batch_size]])
                for g in opt.param_groups:
                    g["lr"] = cfg.lr * lr_factor(step)
                losses = model(batch.to(device), generator)
                opt.zero_grad(set_to_none=True)
                losses["loss"].backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                step += 1
                pos.chunk, pos.batch = ci, b + 1
                window.append({k: float(v.detach()) for k, v in losses.items()})
                if step % cfg.log_every == 0 or step == cfg.steps:
                    mean = {k: float(np.mean([w[k] for w in window])) for k in window[0]}
                    progress["curve"].append({"step": step, **mean})
                    logger.info("step %d: loss %.4f, masked-atom accuracy %.3f, contrastive %.4f", step,
                                mean["loss"], mean["mask_accuracy"], mean["contrastive_loss"])
                    window = []
                if step % cfg.save_every == 0 or step == cfg.steps:
                    progress.update(step=step, position=pos.to_dict(), seconds=time.perf_counter() - t0)
                    _save_state(out / RESUME, model, opt, generator, progress)
                if step >= cfg.steps:
                    break
            if step >= cfg.steps:
                break
            pos.chunk, pos.batch = ci + 1, 0
        else:
            if n_chunks == 0 and pos.chunk == 0:
                raise ValueError(f"{cfg.corpus}: the corpus gave no batch of {cfg.batch_size} usable molecules")
            pos.epoch, pos.chunk, pos.batch = pos.epoch + 1, 0, 0
    seconds = time.perf_counter() - t0
    c = progress["counts"]
    import resource

    record = {"config": asdict(cfg), "command": command, "steps": step, "epochs_started": pos.epoch + 1,
              "seconds": seconds, "device": device, "counts": c,
              "molecules_per_second": step * cfg.batch_size / max(seconds, 1e-9),  # featurizing included
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "molecules_used_first_pass": c["read"] - c["invalid"] - c["excluded"] - c["dropped_tail"],
              "final": progress["curve"][-1] if progress["curve"] else {}, "curve": progress["curve"]}
    protonet = ProtoNet(model.encoder.cpu(), learn_scale=False)
    training = {"pretraining": {k: v for k, v in record.items() if k != "curve"}, "train_tasks": [], "val_tasks": [],
                "test_tasks": [], "command": command}
    save_checkpoint(out, protonet, featurizer, encoder=enc_name, encoder_config=enc_cfg, learner="protonet",
                    learner_config={"learn_scale": False}, training=training)
    atomic_write_text(out / "pretraining.json", json.dumps(record, indent=1) + "\n")
    logger.info("pretrained %d steps in %.0f s; checkpoint %s", step, seconds, out)
    return record
