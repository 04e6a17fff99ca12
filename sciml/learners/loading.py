"""Rebuild a meta-trained model from a checkpoint folder through the learner registry."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from sciml.checkpoint import (CheckpointError, build_checkpoint_encoder, build_featurizer, check_encoder_shapes,
                              load_state_into,
                              load_weights, read_config)
from sciml.learners.registry import LEARNERS, meta_learner_names

__all__ = ["load_checkpoint"]


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[nn.Module, object, dict]:
    """Rebuild ``(model, featurizer, config)`` from a checkpoint folder; the model is in eval mode.

    ``config["learner"]`` names the registered learner whose ``build_model`` rebuilds the
    model from ``config["learner_config"]``; the featurizer comes from ``config["domain"]``.
    """
    path = Path(path)
    config = read_config(path)
    cls = LEARNERS.get(config["learner"])
    if cls is None or not cls.needs_checkpoint:
        raise CheckpointError(f"{path}: learner {config['learner']!r} is not a meta-learner this sciml version "
                              f"knows (known: {', '.join(meta_learner_names())}).")
    featurizer = build_featurizer(config, path)
    check_encoder_shapes(config, path)  # on the meta device: a wrong size costs no memory
    encoder = build_checkpoint_encoder(config, path)
    try:
        model = cls.build_model(encoder, dict(config.get("learner_config", {})))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot build the {config['learner']} model from its learner_config: {e}") from e
    load_state_into(model, load_weights(path, config.get("weights_sha256")), path)
    model.to(device).eval()
    return model, featurizer, config

