"""GINE encoder: output shapes for every pooling, fingerprint fusion, registry, re-initialisation, eval determinism."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from sciml.encoders import ENCODERS, GINEConfig, GINEncoder, build_encoder
from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer

SMILES = ["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "[NH4+]", "C/C=C/C"]


def _batch(fingerprint_bits: int = 0) -> Batch:
    f = MolGraphFeaturizer(fingerprint_bits=fingerprint_bits, cache=False)
    return Batch.from_data_list([f.smiles_to_graph(s) for s in SMILES])


def _config(**kw) -> dict:
    base = dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8, dropout=0.0)
    base.update(kw)
    return base


@pytest.mark.parametrize("pooling", ["mean", "sum", "max", "mean+max", "attention"])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_output_shape_for_each_pooling(pooling, norm):
    torch.manual_seed(0)
    enc = build_encoder("gine", _config(pooling=pooling, norm=norm))
    assert isinstance(enc, GINEncoder) and enc.out_dim == 8
    batch = _batch()
    for mode in (True, False):
        enc.train(mode)
        out = enc(batch)
        assert out.shape == (len(SMILES), 8)
        assert torch.isfinite(out).all()
    # gradients reach the first layer
    enc.train()
    enc(batch).sum().backward()
    assert enc.atom_in.weight.grad is not None and enc.atom_in.weight.grad.abs().sum() > 0


def test_pooling_changes_graph_width():
    assert build_encoder("gine", _config(pooling="mean+max")).out[1].in_features == 32  # 2 * hidden
    assert build_encoder("gine", _config(pooling="mean")).out[1].in_features == 16


def test_sum_pooling_is_order_invariant_and_per_graph():
    torch.manual_seed(0)
    enc = build_encoder("gine", _config(pooling="sum")).eval()
    f = MolGraphFeaturizer(cache=False)
    graphs = [f.smiles_to_graph(s) for s in SMILES]
    together = enc(Batch.from_data_list(graphs))
    alone = torch.cat([enc(Batch.from_data_list([g])) for g in graphs])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)
    rev = enc(Batch.from_data_list(graphs[::-1]))
    torch.testing.assert_close(rev, together.flip(0), rtol=1e-5, atol=1e-5)


def test_gfeat_fusion():
    torch.manual_seed(0)
    enc = build_encoder("gine", _config(gfeat_dim=64, gfeat_hidden=12))
    assert enc.out[1].in_features == 2 * 16 + 12
    batch = _batch(fingerprint_bits=64)
    assert batch.gfeat.shape == (len(SMILES), 64)
    enc.eval()
    out = enc(batch)
    assert out.shape == (len(SMILES), 8)
    # the fingerprint really feeds the output
    batch2 = batch.clone()
    batch2.gfeat = torch.zeros_like(batch.gfeat)
    assert not torch.allclose(enc(batch2), out)
    # an encoder without fingerprint input ignores gfeat
    plain = build_encoder("gine", _config()).eval()
    torch.testing.assert_close(plain(batch), plain(_batch()))


def test_build_encoder_unknown_name():
    assert "gine" in ENCODERS
    with pytest.raises(ValueError, match="unknown encoder 'transformer'.*gine"):
        build_encoder("transformer", _config())


def test_bad_config_values():
    with pytest.raises(TypeError):
        build_encoder("gine", _config(not_a_field=1))
    with pytest.raises(ValueError, match="unknown norm"):
        GINEncoder(GINEConfig(**_config(norm="group")))
    enc = GINEncoder(GINEConfig(**_config(pooling="median")))
    with pytest.raises(ValueError, match="unknown pooling"):
        enc(_batch())


def test_reset_parameters_changes_weights():
    torch.manual_seed(0)
    enc = build_encoder("gine", _config(pooling="attention"))
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    with torch.no_grad():
        for block in enc.blocks:
            block.conv.eps.fill_(0.7)
    enc.reset_parameters()
    after = enc.state_dict()
    changed = [k for k in before if k.endswith("weight") and before[k].dim() > 1 and not torch.equal(before[k], after[k])]
    n_matrices = sum(1 for k in before if k.endswith("weight") and before[k].dim() > 1)
    assert changed and len(changed) == n_matrices  # every Linear weight matrix re-drawn
    for block in enc.blocks:  # GINE eps back to its initial value
        assert block.conv.eps.detach().item() == 0.0
    assert not torch.equal(before["atom_in.weight"], after["atom_in.weight"])


def test_eval_mode_deterministic_train_mode_stochastic():
    torch.manual_seed(0)
    enc = build_encoder("gine", _config(dropout=0.5))
    batch = _batch()
    enc.eval()
    a, b = enc(batch), enc(batch)
    assert torch.equal(a, b)
    enc.train()
    c, d = enc(batch), enc(batch)
    assert not torch.equal(c, d)  # dropout is active in training, so eval equality is not trivial


def test_repr_mentions_config():
    r = repr(build_encoder("gine", _config(pooling="max")))
    assert "hidden=16" in r and "pooling='max'" in r
