"""Multitask pretraining: the label matrix keeps missing labels missing, the loss reads observed labels only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from assays.task import Task
from sciml.domains.molecules.graphs import MolGraphFeaturizer
from sciml.encoders import GINEConfig, GINEncoder
from sciml.pretrain import MultitaskPretrainer, label_matrix


def _task(name, inputs, labels, kind="classification"):
    return Task(name=name, inputs=list(inputs), labels=np.asarray(labels, dtype=float), kind=kind)


def test_label_matrix_masks_missing_averages_repeats_and_zscores_regression():
    a = _task("a", ["CCO", "CCN", "CCO"], [1, 0, 0])
    b = _task("b", ["CCN", "CCC", "CCCl"], [2.0, 4.0, 6.0], kind="regression")
    inputs, y, is_cls = label_matrix([a, b])
    assert inputs == ["CCO", "CCN", "CCC", "CCCl"]
    assert is_cls.tolist() == [True, False]
    assert y[0, 0] == pytest.approx(0.5) and y[1, 0] == 0.0  # CCO's two labels averaged
    assert np.isnan(y[2:, 0]).all() and np.isnan(y[0, 1])
    col = y[1:, 1]
    assert col.mean() == pytest.approx(0.0, abs=1e-6) and col.std() == pytest.approx(1.0, abs=1e-5)


def test_label_matrix_rejects_empty_input():
    with pytest.raises(ValueError, match="at least one task"):
        label_matrix([])
    with pytest.raises(ValueError, match="'e' has no labelled input"):
        label_matrix([_task("e", [], [])])


def _model(n_tasks_cls):
    torch.manual_seed(0)
    feat = MolGraphFeaturizer(cache=False)
    dims = feat.encoder_dims()
    enc = GINEncoder(GINEConfig(atom_dim=dims["atom_dim"], bond_dim=dims["bond_dim"], hidden=16, depth=2, out_dim=8,
                                dropout=0.0))
    return feat, MultitaskPretrainer(enc, n_tasks_cls, dropout=0.0)


def test_loss_ignores_missing_labels_and_counts_observed_ones():
    feat, model = _model([True, False])
    batch = feat.collate([feat.smiles_to_graph(s) for s in ["CCO", "CCN", "c1ccccc1"]])
    y = torch.tensor([[1.0, float("nan")], [float("nan"), 0.5], [0.0, -1.0]])
    out = model(batch, y)
    assert int(out["n_labels"]) == 4 and torch.isfinite(out["loss"])
    y2 = y.clone()
    y2[0, 1] = 123.0  # a value where the first had NaN changes the loss; the NaN itself never did
    assert float(model(batch, y2)["loss"].detach()) != pytest.approx(float(out["loss"].detach()))
    empty = model(batch, torch.full((3, 2), float("nan")))
    assert float(empty["loss"]) == 0.0
    empty["loss"].backward()  # still connected to the weights


def test_training_fits_a_learnable_label():
    feat, model = _model([True])
    smiles = ["CCO", "CCCO", "CCCCO", "c1ccccc1", "c1ccccc1C", "c1ccccc1CC"]
    batch = feat.collate([feat.smiles_to_graph(s) for s in smiles])
    y = torch.tensor([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])  # aromatic or not
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    first = float(model(batch, y)["loss"])
    for _ in range(60):
        loss = model(batch, y)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(model(batch, y)["loss"]) < 0.5 * first
    p = torch.sigmoid(model.predict(batch)).squeeze(1)
    assert (p[3:] > p[:3].max()).all()
    assert "n_tasks=1" in repr(model)
