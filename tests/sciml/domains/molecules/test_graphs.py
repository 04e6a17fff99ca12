"""Molecular graph featurizer: feature layout on known molecules, error handling, and the on-disk cache."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from sciml.domains.molecules import graphs as M
from sciml.featurize.cache import GraphCache
from sciml.domains.molecules.graphs import (
    ATOM_DIM,
    BOND_DIM,
    FEATURIZER_VERSION,
    FeaturizerSpec,
    MolGraphFeaturizer,
)

# --- offsets of the atom feature blocks, derived from the documented layout -------------------------
EL = 0
DEG = EL + len(M.ELEMENTS) + 1
CHG = DEG + len(M.DEGREES) + 1
CHI = CHG + len(M.CHARGES) + 1
NH = CHI + len(M.CHIRALITY) + 1
HYB = NH + len(M.NUM_HS) + 1
AROM = HYB + len(M.HYBRIDIZATION) + 1
INRING = AROM + 1
RINGS = INRING + 1
MASS = RINGS + len(M.RING_SIZES)
# --- bond feature blocks ------------------------------------------------------------------------------
BT = 0
CONJ = len(M.BOND_TYPES)
BRING = CONJ + 1
BST = BRING + 1


def block(x: torch.Tensor, start: int, n_choices: int) -> torch.Tensor:
    """The one-hot block (``n_choices`` + "other" slot) of every row."""
    return x[..., start : start + n_choices + 1]


def hot(x: torch.Tensor, start: int, n_choices: int) -> list[int]:
    """Index of the hot slot of a one-hot block, per row (asserting exactly one hot slot)."""
    b = block(x, start, n_choices)
    assert torch.all(b.sum(-1) == 1), b
    return b.argmax(-1).tolist()


@pytest.fixture
def feat():
    return MolGraphFeaturizer(cache=False)


def test_dimensions_match_layout():
    assert MASS + 1 == ATOM_DIM
    assert BST + len(M.BOND_STEREO) == BOND_DIM


def test_ethanol_shapes_and_atom_slots(feat):
    g = feat.smiles_to_graph("CCO")
    assert g.x.shape == (3, ATOM_DIM) and g.x.dtype == torch.float32
    assert g.edge_index.shape == (2, 4) and g.edge_index.dtype == torch.long
    assert g.edge_attr.shape == (4, BOND_DIM)
    # each bond appears in both directions
    pairs = set(map(tuple, g.edge_index.T.tolist()))
    assert pairs == {(0, 1), (1, 0), (1, 2), (2, 1)}

    x = g.x
    assert hot(x, EL, len(M.ELEMENTS)) == [M.ELEMENTS.index("C"), M.ELEMENTS.index("C"), M.ELEMENTS.index("O")]
    assert hot(x, DEG, len(M.DEGREES)) == [1, 2, 1]  # heavy-atom degree
    assert hot(x, CHG, len(M.CHARGES)) == [M.CHARGES.index(0)] * 3
    assert hot(x, NH, len(M.NUM_HS)) == [3, 2, 1]  # CH3, CH2, OH
    sp3 = M.HYBRIDIZATION.index(M.Chem.rdchem.HybridizationType.SP3)
    assert hot(x, HYB, len(M.HYBRIDIZATION)) == [sp3] * 3
    assert hot(x, CHI, len(M.CHIRALITY)) == [0] * 3  # unspecified
    assert x[:, AROM].tolist() == [0, 0, 0] and x[:, INRING].tolist() == [0, 0, 0]
    assert x[:, RINGS:MASS].sum() == 0
    # mass / 100: C 12.011, O 15.999
    assert x[:, MASS].tolist() == pytest.approx([0.12011, 0.12011, 0.15999], abs=1e-4)

    single = M.BOND_TYPES.index(M.Chem.rdchem.BondType.SINGLE)
    ea = g.edge_attr
    assert (ea[:, BT + single] == 1).all() and ea[:, BT:CONJ].sum() == 4
    assert (ea[:, CONJ] == 0).all() and (ea[:, BRING] == 0).all()
    assert (ea[:, BST + M.BOND_STEREO.index(M.Chem.rdchem.BondStereo.STEREONONE)] == 1).all()


def test_benzene_aromatic_ring_of_six(feat):
    g = feat.smiles_to_graph("c1ccccc1")
    assert g.x.shape == (6, ATOM_DIM) and g.edge_index.shape == (2, 12)
    x = g.x
    assert (x[:, AROM] == 1).all() and (x[:, INRING] == 1).all()
    six = RINGS + M.RING_SIZES.index(6)
    assert (x[:, six] == 1).all()
    assert x[:, RINGS:MASS].sum() == 6  # no other ring size
    sp2 = M.HYBRIDIZATION.index(M.Chem.rdchem.HybridizationType.SP2)
    assert hot(x, HYB, len(M.HYBRIDIZATION)) == [sp2] * 6
    assert hot(x, NH, len(M.NUM_HS)) == [1] * 6
    aromatic = M.BOND_TYPES.index(M.Chem.rdchem.BondType.AROMATIC)
    ea = g.edge_attr
    assert (ea[:, BT + aromatic] == 1).all()
    assert (ea[:, CONJ] == 1).all() and (ea[:, BRING] == 1).all()


def test_cyclopropane_ring_size_three(feat):
    x = feat.smiles_to_graph("C1CC1").x
    assert (x[:, RINGS + M.RING_SIZES.index(3)] == 1).all()
    assert x[:, AROM].sum() == 0


def test_ammonium_formal_charge_and_no_bonds(feat):
    g = feat.smiles_to_graph("[NH4+]")
    assert g.x.shape == (1, ATOM_DIM)
    assert g.edge_index.shape == (2, 0) and g.edge_attr.shape == (0, BOND_DIM)
    assert hot(g.x, CHG, len(M.CHARGES)) == [M.CHARGES.index(1)]
    assert hot(g.x, NH, len(M.NUM_HS)) == [4]
    assert hot(g.x, DEG, len(M.DEGREES)) == [0]
    # a charge outside the list goes to the "other" slot
    g3 = feat.smiles_to_graph("[Fe+3]")
    assert hot(g3.x, CHG, len(M.CHARGES)) == [len(M.CHARGES)]


def test_chirality_tags(feat):
    cw = M.CHIRALITY.index(M.Chem.rdchem.ChiralType.CHI_TETRAHEDRAL_CW)
    ccw = M.CHIRALITY.index(M.Chem.rdchem.ChiralType.CHI_TETRAHEDRAL_CCW)
    # atom 1 is the stereocentre: '@' = counter-clockwise, '@@' = clockwise (RDKit convention)
    assert hot(feat.smiles_to_graph("C[C@H](N)O").x, CHI, len(M.CHIRALITY)) == [0, ccw, 0, 0]
    assert hot(feat.smiles_to_graph("C[C@@H](N)O").x, CHI, len(M.CHIRALITY)) == [0, cw, 0, 0]
    # the two enantiomers differ only in that slot
    a, b = feat.smiles_to_graph("C[C@H](N)O").x, feat.smiles_to_graph("C[C@@H](N)O").x
    diff = (a != b).nonzero().tolist()
    assert diff == [[1, CHI + cw], [1, CHI + ccw]]


def test_double_bond_stereo(feat):
    e = M.BOND_STEREO.index(M.Chem.rdchem.BondStereo.STEREOE)
    z = M.BOND_STEREO.index(M.Chem.rdchem.BondStereo.STEREOZ)
    double = M.BOND_TYPES.index(M.Chem.rdchem.BondType.DOUBLE)
    for smi, slot in (("C/C=C/C", e), ("C/C=C\\C", z)):
        g = feat.smiles_to_graph(smi)
        ea = g.edge_attr
        is_double = ea[:, BT + double] == 1
        assert is_double.sum() == 2  # one bond, two directions
        assert (ea[is_double, BST + slot] == 1).all()
        assert ea[is_double, BST:].sum() == 2
        # the single bonds have no stereo
        assert (ea[~is_double, BST + M.BOND_STEREO.index(M.Chem.rdchem.BondStereo.STEREONONE)] == 1).all()


def test_unknown_element_goes_to_other_slot(feat):
    assert "U" not in M.ELEMENTS
    x = feat.smiles_to_graph("[U]").x
    assert hot(x, EL, len(M.ELEMENTS)) == [len(M.ELEMENTS)]
    x = feat.smiles_to_graph("[Xe]").x
    assert hot(x, EL, len(M.ELEMENTS)) == [len(M.ELEMENTS)]


def test_invalid_inputs_reported_in_place(feat):
    smiles = ["CCO", "not a smiles", "c1ccccc1", "", "C1CC", "[NH4+]"]
    res = feat.featurize(smiles)
    assert len(res.graphs) == len(smiles)
    assert sorted(res.errors) == [1, 3, 4]
    assert "not a smiles" in res.errors[1]
    assert "empty" in res.errors[3]
    assert [g is None for g in res.graphs] == [False, True, False, True, True, False]
    np.testing.assert_array_equal(res.valid_index, [0, 2, 5])
    assert res.valid_index.dtype == np.int64
    # valid rows keep their order: graphs match a one-by-one featurization
    for i in res.valid_index:
        torch.testing.assert_close(res.graphs[i].x, feat.smiles_to_graph(smiles[i]).x)
    with pytest.raises(ValueError, match="could not parse"):
        feat.smiles_to_graph("C1CC")
    with pytest.raises(ValueError, match="empty"):
        feat.smiles_to_graph("   ")


def test_all_invalid_gives_empty_valid_index(feat):
    res = feat.featurize(["", "###"])
    assert res.graphs == [None, None] and set(res.errors) == {0, 1}
    assert res.valid_index.shape == (0,)


def test_duplicates_featurized_consistently(feat):
    res = feat.featurize(["CCN", "c1ccccc1", "CCN", "CCN"])
    assert not res.errors
    for i in (2, 3):
        torch.testing.assert_close(res.graphs[i].x, res.graphs[0].x)
        torch.testing.assert_close(res.graphs[i].edge_index, res.graphs[0].edge_index)
        torch.testing.assert_close(res.graphs[i].edge_attr, res.graphs[0].edge_attr)
    assert res.graphs[1].x.shape[0] == 6


def test_fingerprint_option_adds_gfeat(feat):
    assert "gfeat" not in feat.smiles_to_graph("CCO")
    fp = MolGraphFeaturizer(fingerprint_bits=128, cache=False)
    assert fp.spec.fingerprint_bits == 128
    g = fp.smiles_to_graph("CCO")
    assert g.gfeat.shape == (1, 128) and g.gfeat.dtype == torch.uint8
    # count fingerprint: radius-2 Morgan of ethanol has 3 atoms x up to 3 environments, so the counts
    # add up to between 3 (radius 0 only) and 9 - and the node features are unchanged
    assert 3 <= int(g.gfeat.sum()) <= 9
    torch.testing.assert_close(g.x, feat.smiles_to_graph("CCO").x)
    # different molecules give different fingerprints
    assert not torch.equal(g.gfeat, fp.smiles_to_graph("c1ccccc1").gfeat)


# --------------------------------------------------------------------------- cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("SCIML_CACHE_DIR", str(d))
    return d


def _assert_same_graphs(a, b):
    assert len(a) == len(b)
    for ga, gb in zip(a, b):
        assert (ga is None) == (gb is None)
        if ga is None:
            continue
        assert set(ga.keys()) == set(gb.keys())
        for k in ga.keys():
            assert torch.equal(ga[k], gb[k]), k


SMILES = ["CCO", "c1ccccc1O", "C[C@H](N)O", "[NH4+]", "C/C=C/C", "CC(=O)Nc1ccc(O)cc1"]


def test_second_call_reads_from_cache(cache_dir, monkeypatch):
    f = MolGraphFeaturizer(fingerprint_bits=64)
    first = f.featurize(SMILES)
    assert not first.errors
    shards = list((cache_dir / "graphs" / f.spec.key()).glob("shard-*.pt"))
    assert len(shards) == 1

    def boom(self, smiles):
        raise AssertionError(f"{smiles} was featurized again instead of read from the cache")

    monkeypatch.setattr(MolGraphFeaturizer, "smiles_to_graph", boom)
    second = MolGraphFeaturizer(fingerprint_bits=64).featurize(list(reversed(SMILES)))
    _assert_same_graphs(second.graphs, list(reversed(first.graphs)))
    # nothing new was written
    assert len(list((cache_dir / "graphs" / f.spec.key()).glob("shard-*.pt"))) == 1


def test_cache_only_featurizes_new_molecules(cache_dir, monkeypatch):
    MolGraphFeaturizer().featurize(SMILES[:3])
    seen = []
    orig = MolGraphFeaturizer.smiles_to_graph

    def spy(self, smiles):
        seen.append(smiles)
        return orig(self, smiles)

    monkeypatch.setattr(MolGraphFeaturizer, "smiles_to_graph", spy)
    res = MolGraphFeaturizer().featurize(SMILES + ["bad("])
    assert sorted(seen) == sorted(SMILES[3:] + ["bad("])
    assert list(res.errors) == [len(SMILES)]
    _assert_same_graphs(res.graphs[:-1], MolGraphFeaturizer(cache=False).featurize(SMILES).graphs)


def test_cache_disabled_writes_nothing(cache_dir):
    MolGraphFeaturizer(cache=False).featurize(SMILES)
    assert not cache_dir.exists()


def test_corrupt_shard_is_skipped_with_warning(cache_dir, caplog):
    f = MolGraphFeaturizer()
    expected = f.featurize(SMILES).graphs
    folder = cache_dir / "graphs" / f.spec.key()
    shard = next(folder.glob("shard-*.pt"))
    shard.write_bytes(b"this is not a torch file")  # its listing's signature no longer matches
    GraphCache._instances.clear()  # a fresh process
    with caplog.at_level(logging.WARNING, logger="sciml.featurize.cache"):
        res = MolGraphFeaturizer().featurize(SMILES)
    assert not res.errors
    _assert_same_graphs(res.graphs, expected)
    assert any(shard.name in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_only_corrupt_shard_recomputes(cache_dir, caplog):
    f = MolGraphFeaturizer()
    folder = cache_dir / "graphs" / f.spec.key()
    folder.mkdir(parents=True)
    (folder / "shard-1-1.pt").write_bytes(b"\x00garbage")
    (folder / "shard-1-1.json").write_text('["CCO"]')  # an unsigned (older) listing
    with caplog.at_level(logging.WARNING, logger="sciml.featurize.cache"):
        res = f.featurize(["CCO"])
    assert not res.errors and res.graphs[0].x.shape == (3, ATOM_DIM)
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_different_spec_different_folder(cache_dir):
    a, b = MolGraphFeaturizer(), MolGraphFeaturizer(fingerprint_bits=32)
    c = MolGraphFeaturizer(fingerprint_bits=32, fingerprint_radius=3)
    keys = {a.spec.key(), b.spec.key(), c.spec.key()}
    assert len(keys) == 3
    assert all(k.startswith(f"mol_graph-v{FEATURIZER_VERSION}-") for k in keys)
    assert MolGraphFeaturizer().spec.key() == a.spec.key()  # stable
    a.featurize(["CCO"])
    b.featurize(["CCO"])
    folders = sorted(p.name for p in (cache_dir / "graphs").iterdir())
    assert folders == sorted([a.spec.key(), b.spec.key()])
    # a graph cached under one spec is not visible under another
    assert GraphCache.for_spec(c.spec).get_many(["CCO"]) == {}
    assert set(GraphCache.for_spec(b.spec).get_many(["CCO", "CCC"])) == {"CCO"}
    assert "gfeat" in GraphCache.for_spec(b.spec).get_many(["CCO"])["CCO"]


def test_from_spec_round_trip_and_version_mismatch():
    f = MolGraphFeaturizer(fingerprint_bits=16, fingerprint_radius=3)
    g = MolGraphFeaturizer.from_spec(f.spec.to_dict())
    assert g.spec == f.spec
    assert MolGraphFeaturizer.from_spec(f.spec).spec == f.spec
    old = dict(f.spec.to_dict(), version="0.1")
    with pytest.raises(ValueError) as e:
        MolGraphFeaturizer.from_spec(old)
    msg = str(e.value)
    assert "v0.1" in msg and f"v{FEATURIZER_VERSION}" in msg
    with pytest.raises(ValueError, match="atom_dim=10"):
        MolGraphFeaturizer.from_spec(dict(f.spec.to_dict(), atom_dim=10))
    assert FeaturizerSpec.from_dict(f.spec.to_dict()) == f.spec


def test_a_tampered_graph_is_not_trusted(cache_dir):
    """Changing a cached graph (same shapes, other numbers) without the user's key changes nothing."""
    import io

    import torch

    f = MolGraphFeaturizer()
    expected = f.featurize(["CCO"]).graphs
    folder = cache_dir / "graphs" / f.spec.key()
    shard = next(folder.glob("shard-*.pt"))
    blob = torch.load(io.BytesIO(shard.read_bytes()), weights_only=True)
    blob["x"] = torch.zeros_like(blob["x"])
    torch.save(blob, shard)
    GraphCache._instances.clear()
    _assert_same_graphs(MolGraphFeaturizer().featurize(["CCO"]).graphs, expected)

