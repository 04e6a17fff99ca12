"""MoleculeDomain: the molecule implementation of the Domain interface."""

from __future__ import annotations

import numpy as np
import pytest

from sciml.domains import DEFAULT_DOMAIN, DOMAINS, MoleculeDomain, get_domain
from sciml.domains.molecules import REASON_EMPTY, REASON_UNPARSEABLE
from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
from sciml.encoders import build_encoder


@pytest.fixture(scope="module")
def dom() -> MoleculeDomain:
    return get_domain("molecules")


def test_registry_and_default(dom):
    assert DEFAULT_DOMAIN == "molecules" and DOMAINS["molecules"] is MoleculeDomain
    assert isinstance(get_domain(), MoleculeDomain) and isinstance(dom, MoleculeDomain)
    with pytest.raises(KeyError, match="unknown domain 'crystal'; choose from molecules"):
        get_domain("crystal")


def test_parse_gives_a_record_or_a_reason(dom):
    mol, why = dom.parse(" CCO ")
    assert mol is not None and mol.GetNumAtoms() == 3 and why is None
    assert dom.parse("")[1] == REASON_EMPTY and dom.parse(None)[1] == REASON_EMPTY
    assert dom.parse(float("nan"))[1] == REASON_EMPTY and dom.parse(3)[1] == REASON_EMPTY
    assert dom.parse("C1CC")[1] == REASON_UNPARSEABLE and dom.problem("xyz") == REASON_UNPARSEABLE
    assert dom.problem("c1ccccc1") is None


def test_key_is_canonical(dom):
    assert dom.key("OCC") == dom.key("C(O)C") == "CCO"
    assert dom.key("c1ccccc1O") == dom.key("Oc1ccccc1")


def test_looks_like_needs_most_cells_to_parse(dom):
    assert dom.looks_like(["CCO", "c1ccccc1", "CCN", "CCCl", "nonsense"])  # 4 of 5 parse
    assert not dom.looks_like(["CCO", "c1ccccc1", "CCN", "nonsense"])  # 3 of 4 < 80 %
    assert not dom.looks_like(["a", "b", "CCO"]) and not dom.looks_like([1.0, 2.0]) and not dom.looks_like([])


def test_featurizer_round_trips_its_spec_and_refuses_another(dom):
    f = dom.featurizer(fingerprint_bits=64, cache=False)
    assert isinstance(f, MolGraphFeaturizer) and f.spec.fingerprint_bits == 64
    again = dom.featurizer(f.spec.to_dict(), cache=False)
    assert again.spec == f.spec
    with pytest.raises(ValueError, match="spec mismatch"):
        dom.featurizer({**f.spec.to_dict(), "atom_dim": ATOM_DIM + 1})
    res = f.featurize(["CCO", "bad(", "c1ccccc1"])
    assert list(res.errors) == [1] and res.items[1] is None and res.valid_index.tolist() == [0, 2]
    batch = f.collate([res.items[0], res.items[2]])
    assert batch.num_graphs == 2 and batch.gfeat.shape == (2, 64)
    assert f.encoder_dims() == {"atom_dim": ATOM_DIM, "bond_dim": BOND_DIM, "gfeat_dim": 64, "mfeat_dim": 0}


def test_default_encoder_fits_the_featurizer(dom):
    f = dom.featurizer(fingerprint_bits=32, cache=False)
    name, cfg = dom.default_encoder(f, hidden=32, depth=2, out_dim=16)
    assert name == "gine" and cfg["hidden"] == 32 and cfg["gfeat_dim"] == 32 and cfg["atom_dim"] == ATOM_DIM
    enc = build_encoder(name, cfg)
    out = enc(f.collate(f.featurize(["CCO", "CCN", "c1ccccc1"]).items))
    assert tuple(out.shape) == (3, 16)
    # input widths always come from the featurizer, never from the overrides
    assert dom.default_encoder(f, atom_dim=1)[1]["atom_dim"] == ATOM_DIM


def test_similarity_is_tanimoto(dom):
    sim = dom.similarity(["CCO", "c1ccccc1"], ["CCO", "c1ccccc1", "CCCCCCCC"])
    assert sim.shape == (2, 3)
    np.testing.assert_allclose(np.diag(sim[:, :2]), [1.0, 1.0])
    assert 0.0 <= sim.min() and sim.max() <= 1.0 and sim[1, 0] < 0.2


def test_describe_and_depict(dom):
    d = dom.describe("OCC")
    assert d["SMILES"] == "CCO" and d["formula"] == "C2H6O" and d["heavy atoms"] == 3
    assert abs(d["molecular weight"] - 46.07) < 0.01
    assert dom.describe("bad(")["error"] == REASON_UNPARSEABLE
    uri = dom.depict("c1ccccc1O")
    assert uri.startswith("data:image/png;base64,") and len(uri) < 40_000
    assert dom.depict("not a smiles") is None and dom.depict("") is None
