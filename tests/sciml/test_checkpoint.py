"""Checkpoints: safetensors + JSON round trip, and clear errors for tampered or broken folders."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

import sciml
from sciml.checkpoint import CONFIG, WEIGHTS, CheckpointError, read_config, save_checkpoint
from sciml.learners.loading import load_checkpoint
from sciml.encoders import build_encoder
from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, FEATURIZER_VERSION, MolGraphFeaturizer
from sciml.graphs import embed_inputs
from sciml.learners.protonet import ProtoNet

SMILES = ["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "C[C@H](N)O", "[NH4+]"]


def _tiny_model(fingerprint_bits: int = 0):
    torch.manual_seed(0)
    feat = MolGraphFeaturizer(fingerprint_bits=fingerprint_bits)
    enc_cfg = dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8, dropout=0.1,
                   norm="batch", pooling="mean+max", gfeat_dim=fingerprint_bits, gfeat_hidden=8)
    model = ProtoNet(build_encoder("gine", enc_cfg), learn_scale=True)
    # move BatchNorm running statistics and the scale away from their initial values, so that the
    # round trip has to restore buffers and every parameter, not just re-create a fresh model
    model.train()
    with torch.no_grad():
        model.encoder(Batch.from_data_list([feat.smiles_to_graph(s) for s in SMILES]))
        model.log_scale.fill_(-1.234)
    model.eval()
    return model, feat, model.encoder.config.to_dict()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    # keep embedding calls from reading the large session-wide test cache
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def ckpt(tmp_path):
    model, feat, enc_cfg = _tiny_model()
    path = save_checkpoint(tmp_path / "ckpt", model, feat, encoder="gine", encoder_config=enc_cfg,
                           learner_config={"learn_scale": True}, training={"dataset": "toy", "steps": 3})
    return path, model, feat


def _config(path) -> dict:
    return json.loads((path / CONFIG).read_text())


def _edit_config(path, drop: str | None = None, **changes):
    """Rewrite the checkpoint's config with ``changes`` and without the key ``drop``."""
    cfg = _config(path)
    cfg.update(changes)
    if drop is not None:
        del cfg[drop]
    (path / CONFIG).write_text(json.dumps(cfg))
    return cfg


def test_round_trip_gives_identical_embeddings(ckpt):
    path, model, feat = ckpt
    loaded, lfeat, config = load_checkpoint(path)
    assert not loaded.training  # eval mode
    assert lfeat.spec == feat.spec
    assert loaded.scale.item() == pytest.approx(np.exp(-1.234))
    before = embed_inputs(model.encoder, feat, SMILES)
    after = embed_inputs(loaded.encoder, lfeat, SMILES)
    assert before.shape == (len(SMILES), 8)
    np.testing.assert_array_equal(before, after)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert config["training"] == {"dataset": "toy", "steps": 3}
    assert config["package_version"] == sciml.__version__
    assert config["featurizer"]["version"] == FEATURIZER_VERSION


def test_round_trip_with_fingerprint(tmp_path):
    model, feat, enc_cfg = _tiny_model(fingerprint_bits=32)
    save_checkpoint(tmp_path, model, feat, encoder="gine", encoder_config=enc_cfg)
    loaded, lfeat, _ = load_checkpoint(tmp_path)
    assert lfeat.spec.fingerprint_bits == 32
    np.testing.assert_array_equal(embed_inputs(model.encoder, feat, SMILES), embed_inputs(loaded.encoder, lfeat, SMILES))


def test_folder_holds_only_safetensors_and_json_and_loading_never_unpickles(ckpt, monkeypatch):
    path, _, _ = ckpt
    assert sorted(p.name for p in path.iterdir()) == sorted([WEIGHTS, CONFIG])
    assert (path / WEIGHTS).read_bytes()[8:9] == b"{"  # safetensors: u64 header length, then a JSON header

    def no_pickle(*a, **k):
        raise AssertionError("checkpoint loading must not unpickle")

    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(pickle, "Unpickler", no_pickle)
    monkeypatch.setattr(torch, "load", no_pickle)
    model, _, _ = load_checkpoint(path)
    assert isinstance(model, ProtoNet)


def test_featurizer_version_mismatch(ckpt):
    path, _, _ = ckpt
    _edit_config(path, featurizer=dict(_config(path)["featurizer"], version="0.9"))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    msg = str(e.value)
    assert "v0.9" in msg and f"v{FEATURIZER_VERSION}" in msg and "version" in msg
    assert str(path) in msg


def test_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope")


#: id -> (how the checkpoint folder is broken, the function that must refuse it, what the error says)
BROKEN = {
    "missing-weights": (lambda p: (p / WEIGHTS).unlink(), load_checkpoint, f"needs {CONFIG} and {WEIGHTS}"),
    "corrupt-weights": (lambda p: (p / WEIGHTS).write_bytes(b"\x00" * 20), load_checkpoint, "safetensors"),
    "non-json-config": (lambda p: (p / CONFIG).write_text("{not json"), load_checkpoint, "not valid JSON"),
    "json-not-an-object": (lambda p: (p / CONFIG).write_text("[1, 2]"), load_checkpoint,
                           "not a sciml checkpoint config"),
    "wrong-format": (lambda p: _edit_config(p, format="something-else"), read_config, "format"),
    "format-version": (lambda p: _edit_config(p, format_version=99), load_checkpoint, "format version 99"),
    "missing-key": (lambda p: _edit_config(p, drop="encoder_config"), load_checkpoint, "encoder_config"),
    "other-architecture": (lambda p: _edit_config(p, encoder_config=dict(_config(p)["encoder_config"], hidden=24)),
                           load_checkpoint, "does not match the encoder"),
    "unknown-encoder": (lambda p: _edit_config(p, encoder="transformer"), load_checkpoint,
                        "unknown encoder 'transformer'"),
    "unknown-learner": (lambda p: _edit_config(p, learner="transformer_net"), load_checkpoint,
                        "learner 'transformer_net'"),
    # a registered learner, but not a meta-learner
    "not-a-meta-learner": (lambda p: _edit_config(p, learner="rf"), load_checkpoint, "not a meta-learner"),
    # a ProtoNet learner_config cannot build a MAML
    "other-learner-config": (lambda p: _edit_config(p, learner="maml"), load_checkpoint,
                             "cannot build the maml model"),
    "unknown-domain": (lambda p: _edit_config(p, domain="crystals"), load_checkpoint,
                       "unknown domain 'crystals'; choose from molecules"),
    "domain-not-a-name": (lambda p: _edit_config(p, domain=3), read_config, "'domain' must be a domain name"),
    # typed-schema cases: each message names the key and what is allowed
    "negative-interval-scale": (lambda p: _edit_config(p, calibration={"method": "interval_scale", "scale": -1.0}),
                                read_config, r"calibration\.scale: Input should be greater than 0"),
    "nan-platt-slope": (lambda p: _edit_config(p, calibration={"method": "platt", "slope": float("nan"),
                                                                "bias": 0.0}), read_config,
                        r"calibration\.slope: Input should be a finite number"),
    "unknown-calibration": (lambda p: _edit_config(p, calibration={"method": "isotonic"}), read_config,
                            r"calibration\.method: must be 'platt' or 'interval_scale'"),
    "calibration-a-string": (lambda p: _edit_config(p, calibration="platt"), read_config,
                             "calibration: Input should be a valid dictionary"),
    "training-a-string": (lambda p: _edit_config(p, training="x"), read_config,
                          "training: Input should be a valid dictionary"),
    "huge-adapt-steps": (lambda p: _edit_config(p, test_time={"adapt_steps": 10**12}), read_config,
                         r"test_time\.adapt_steps: must be between 0 and 10000"),
    "huge-hidden": (lambda p: _edit_config(p, encoder_config=dict(_config(p)["encoder_config"], hidden=200000)),
                    read_config, r"encoder_config\.hidden: must be between 1 and 8192"),
    "hidden-a-string": (lambda p: _edit_config(p, encoder_config=dict(_config(p)["encoder_config"], hidden="8")),
                        read_config, r"encoder_config\.hidden: must be int"),
    "unknown-encoder-key": (lambda p: _edit_config(p, encoder_config=dict(_config(p)["encoder_config"], width=3)),
                            read_config, r"encoder_config\.width: not a setting of the gine encoder"),
    "missing-featurizer-version": (lambda p: _edit_config(p, featurizer={k: v for k, v in _config(p)[
        "featurizer"].items() if k != "version"}), read_config, r"featurizer\.version: Field required"),
    "bad-fingerprint-bits": (lambda p: _edit_config(p, featurizer=dict(_config(p)["featurizer"],
                                                                         fingerprint_bits="2048")),
                             read_config, r"featurizer\.fingerprint_bits: Input should be a valid integer"),
    "format-version-a-string": (lambda p: _edit_config(p, format_version="1"), read_config,
                                "'format_version' must be the integer 1, got '1' \\(str\\)"),
    "bad-weights-hash": (lambda p: _edit_config(p, weights_sha256="0" * 64), load_checkpoint, "SHA-256"),
    "pickle-as-weights": (lambda p: (p / WEIGHTS).write_bytes(b"\x80\x04\x95" + b"\x00" * 64), load_checkpoint,
                          "not a safetensors file"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_checkpoint_is_refused(ckpt, case):
    path, _, _ = ckpt
    breaks, reader, message = BROKEN[case]
    breaks(path)
    with pytest.raises(CheckpointError, match=message):
        reader(path)


def test_domain_is_recorded_and_a_config_without_it_reads_as_molecules(ckpt):
    path, model, _ = ckpt
    assert _config(path)["domain"] == "molecules"
    _edit_config(path, drop="domain")
    assert read_config(path)["domain"] == "molecules"
    loaded, feat, config = load_checkpoint(path)
    assert isinstance(feat, MolGraphFeaturizer) and config["domain"] == "molecules"


def test_shipped_default_has_no_domain_field_and_loads_as_molecules():
    from pathlib import Path

    from sciml.api import load

    default = Path(__file__).resolve().parents[2] / "data" / "checkpoints" / "default"
    assert "domain" not in json.loads((default / CONFIG).read_text())  # the shipped config lacks the field
    loaded = load(default, device="cpu")
    assert loaded.domain.name == "molecules" and loaded.tasks == ("regression", "classification")


def test_default_checkpoint_per_task_falls_back_to_default(tmp_path):
    from sciml.checkpoint import DEFAULT_BY_TASK, SHIPPED_DIR, default_checkpoint

    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "config.json").write_text("{}")
    assert default_checkpoint(None, tmp_path) == tmp_path / "default"
    assert default_checkpoint("classification", tmp_path) == tmp_path / "default"  # not shipped: the default serves it
    own = tmp_path / DEFAULT_BY_TASK["classification"]
    own.mkdir()
    (own / "config.json").write_text("{}")
    assert default_checkpoint("classification", tmp_path) == own
    assert default_checkpoint("regression", tmp_path) == tmp_path / "default"
    with pytest.raises(ValueError, match="task must be"):
        default_checkpoint("ranking", tmp_path)
    assert (SHIPPED_DIR / "default" / "config.json").is_file()
