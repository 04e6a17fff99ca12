"""Attribute masking + graph contrastive pretraining: the heads learn, masks are what they claim, bad settings fail."""

from __future__ import annotations

import pytest
import torch

from sciml.domains.molecules.graphs import ELEMENT_COLUMNS, MolGraphFeaturizer
from sciml.encoders import GINEConfig, GINEncoder
from sciml.pretrain import MaskedGraphPretrainer

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "C1CCCCC1N", "O=C(O)c1ccccc1", "Clc1ccccc1",
          "CC#N", "CS(=O)(=O)N", "FC(F)(F)c1ccccc1"]


def _setup(**kw):
    torch.manual_seed(0)
    feat = MolGraphFeaturizer(cache=False)
    dims = feat.encoder_dims()
    enc = GINEncoder(GINEConfig(atom_dim=dims["atom_dim"], bond_dim=dims["bond_dim"], hidden=32, depth=2, out_dim=16,
                                dropout=0.0))
    batch = feat.collate([feat.smiles_to_graph(s) for s in SMILES])
    return MaskedGraphPretrainer(enc, ELEMENT_COLUMNS, **kw), batch


def test_masked_view_zeros_the_masked_rows_only_and_leaves_the_batch_alone():
    model, batch = _setup(mask_rate=0.3)
    x0 = batch.x.clone()
    view, mask = model.masked_view(batch, torch.Generator().manual_seed(1))
    assert mask.any() and not mask.all()
    assert torch.all(view.x[mask] == 0) and torch.equal(view.x[~mask], x0[~mask])
    assert torch.equal(batch.x, x0)


def test_training_lowers_both_losses_and_raises_masked_atom_accuracy():
    model, batch = _setup()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        first = model(batch, gen)
    for _ in range(100):
        out = model(batch, gen)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        last = [model(batch, torch.Generator().manual_seed(s)) for s in range(5)]
    assert sum(float(o["mask_loss"]) for o in last) / 5 < 0.5 * float(first["mask_loss"])
    assert sum(float(o["mask_accuracy"]) for o in last) / 5 > 0.8  # most masked atoms are carbons, N, O: learnable
    assert sum(float(o["contrastive_loss"]) for o in last) / 5 < float(first["contrastive_loss"])


def test_without_the_contrastive_weight_only_masking_counts():
    model, batch = _setup(contrastive_weight=0.0)
    out = model(batch, torch.Generator().manual_seed(0))
    assert float(out["contrastive_loss"]) == 0.0
    assert torch.allclose(out["loss"], out["mask_loss"])


@pytest.mark.parametrize("kw", [{"mask_rate": 0.0}, {"mask_rate": 1.0}, {"temperature": 0.0},
                                {"contrastive_weight": -1.0}])
def test_bad_settings_are_refused(kw):
    with pytest.raises(ValueError):
        _setup(**kw)


def test_an_encoder_without_node_states_is_refused():
    with pytest.raises(ValueError, match="node_embeddings"):
        MaskedGraphPretrainer(torch.nn.Linear(4, 4), (0, 2))
