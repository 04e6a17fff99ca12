"""The pretraining run: held-out molecules never seen, resumable to the same weights, a loadable checkpoint."""

from __future__ import annotations

import gzip

import pytest
import torch

import pipelines.pretrain as pt
from pipelines.pretrain import PretrainConfig, pretrain

ROWS = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "not_a_smiles", "C1CCCCC1N", "O=C(O)c1ccccc1",
        "CCOC(=O)C", "Clc1ccccc1", "CC#N", "CS(=O)(=O)N"] * 4


@pytest.fixture()
def corpus(tmp_path):
    path = tmp_path / "corpus.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("SMILES\n" + "\n".join(ROWS) + "\n")
    return path


def _cfg(corpus, **kw):
    return PretrainConfig(corpus=str(corpus), steps=8, batch_size=6, chunk_size=12, save_every=3, log_every=2,
                          warmup_steps=2, encoder_config={"hidden": 16, "depth": 2, "out_dim": 8}, **kw)


def _weights(folder):
    from sciml.learners.loading import load_checkpoint

    return load_checkpoint(folder)[0].state_dict()


def test_excluded_and_invalid_rows_are_counted_and_the_checkpoint_loads(corpus, tmp_path):
    rec = pretrain(_cfg(corpus), tmp_path / "out", exclude={"CCO", "CC#N"}, command="sciml pretrain ...")
    c = rec["counts"]
    assert c["read"] == len(ROWS) and c["invalid"] == 4 and c["excluded"] == 8
    assert rec["steps"] == 8 and rec["curve"][-1]["step"] == 8
    from sciml.checkpoint import read_config

    cfg = read_config(tmp_path / "out")
    assert cfg["learner"] == "protonet" and cfg["training"]["train_tasks"] == []
    assert cfg["training"]["pretraining"]["counts"]["excluded"] == 8


def test_excluded_molecules_never_reach_the_model(corpus, tmp_path, monkeypatch):
    seen = []
    orig = pt._chunk_graphs

    def spy(featurizer, rows, exclude):
        graphs, counts = orig(featurizer, rows, exclude)
        seen.extend(g.num_nodes for g in graphs)
        return graphs, counts

    monkeypatch.setattr(pt, "_chunk_graphs", spy)
    pretrain(_cfg(corpus), tmp_path / "out", exclude={"CCO", "CC#N"})
    assert seen and 3 not in seen  # CCO and CC#N are the corpus's only 3-atom molecules


def test_an_interrupted_run_resumes_to_the_weights_of_an_uninterrupted_one(corpus, tmp_path, monkeypatch):
    pretrain(_cfg(corpus), tmp_path / "straight")
    orig, calls = pt._save_state, []

    def crash_after_first_save(*a, **kw):
        orig(*a, **kw)
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(pt, "_save_state", crash_after_first_save)
    with pytest.raises(KeyboardInterrupt):
        pretrain(_cfg(corpus), tmp_path / "resumed")
    assert not (tmp_path / "resumed" / "config.json").exists()  # no checkpoint that looks complete
    rec = pretrain(_cfg(corpus), tmp_path / "resumed")
    assert rec["steps"] == 8
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_resuming_with_other_settings_and_a_missing_column_are_refused(corpus, tmp_path):
    pretrain(_cfg(corpus), tmp_path / "out")
    with pytest.raises(ValueError, match="other settings"):
        pretrain(_cfg(corpus, mask_rate=0.3), tmp_path / "out")
    with pytest.raises(ValueError, match="no column 'smiles'"):
        pretrain(_cfg(corpus, smiles_column="smiles"), tmp_path / "other")
