"""Molecules: SMILES in, RDKit graphs out (the first :class:`~sciml.domains.base.Domain`).

* inputs: SMILES strings (tables) and SD files;
* :meth:`MoleculeDomain.key`: RDKit canonical SMILES;
* featurizer: :class:`~sciml.domains.molecules.graphs.MolGraphFeaturizer` (atom / bond
  graphs, optional Morgan count fingerprint), encoder: GINE;
* similarity: Tanimoto on Morgan fingerprints (radius 2, 2048 bits);
* groups: Bemis–Murcko scaffolds (:mod:`sciml.domains.molecules.scaffolds`, deepchem).
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np

from sciml.domains.base import DOMAINS, Domain

__all__ = ["MoleculeDomain", "SMILES_COLUMN_NAMES", "REASON_EMPTY", "REASON_UNPARSEABLE"]

#: Column names read as SMILES, in order of preference (normalised: lower case, ``_`` for spaces/hyphens).
SMILES_COLUMN_NAMES: tuple[str, ...] = (
    "smiles",
    "canonical_smiles",
    "isomeric_smiles",
    "smi",
    "structure",
    "mol",
    "molecule",
)
#: Reason given for an empty / missing SMILES cell.
REASON_EMPTY = "empty SMILES"
#: Reason given for a SMILES that RDKit rejects (syntax or sanitization error).
REASON_UNPARSEABLE = "RDKit could not parse SMILES"


@functools.lru_cache(maxsize=1 << 17)
def _mol(smiles: str):
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        return Chem.MolFromSmiles(smiles)
    except Exception:  # noqa: BLE001 - RDKit raises for a few pathological inputs
        return None


def _is_empty(value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return not isinstance(value, str) or not value.strip()


@DOMAINS.register()
class MoleculeDomain(Domain):
    """Small molecules given as SMILES."""

    name = "molecules"
    label = "SMILES"
    input_columns = SMILES_COLUMN_NAMES
    column_hint = "smiles"
    file_suffixes = (".sdf", ".sd")
    similarity_name = "Tanimoto (Morgan radius 2, 2048 bits)"
    similarity_label = "Tanimoto"
    output_column = "smiles"
    similarity_threshold = 0.35
    structure_file_suffix = ".sdf"
    pattern_name = "SMARTS"

    def parse(self, raw: object):
        if _is_empty(raw):
            return None, REASON_EMPTY
        mol = _mol(raw.strip())  # type: ignore[union-attr]
        if mol is None:
            return None, REASON_UNPARSEABLE
        return mol, None

    def key(self, raw: object) -> str:
        from rdkit import Chem

        mol, _ = self.parse(raw)
        return Chem.MolToSmiles(mol) if mol is not None else str(raw)

    def featurizer(self, spec: dict | None = None, **options):
        from sciml.domains.molecules.graphs import FeaturizerSpec, MolGraphFeaturizer

        if spec is None:
            return MolGraphFeaturizer(**options)
        return MolGraphFeaturizer.from_spec(FeaturizerSpec.from_dict(spec), **options)

    def default_encoder(self, featurizer, **overrides) -> tuple[str, dict]:
        from dataclasses import asdict

        from sciml.encoders.gin import GINEConfig

        dims = featurizer.encoder_dims()
        config = asdict(GINEConfig(atom_dim=dims["atom_dim"], bond_dim=dims["bond_dim"]))
        config.update(overrides)
        config.update(dims)
        return "gine", config

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        return self.similarity_between(self.similarity_features(a), self.similarity_features(b))

    def similarity_features(self, inputs: Sequence[str]) -> np.ndarray:
        """Morgan fingerprints (radius 2, 2048 bits) ``[n, 2048]``."""
        from sciml.domains.molecules.fingerprints import morgan_fingerprints

        return morgan_fingerprints(list(inputs))

    def similarity_between(self, fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
        from sciml.domains.molecules.fingerprints import tanimoto_matrix

        return tanimoto_matrix(fa, fb)

    group_name = "scaffold"

    def group_keys(self, inputs: Sequence[str]) -> list[str]:
        from sciml.domains.molecules.scaffolds import murcko_scaffolds

        return murcko_scaffolds(inputs)

    def group_kfold(self, inputs: Sequence[str], n_folds: int, seed: int = 0) -> np.ndarray:
        """Scaffold K-fold: deepchem's scaffold sets dealt whole to folds (:func:`~sciml.domains.molecules.scaffolds.scaffold_kfold`)."""
        from sciml.domains.molecules.scaffolds import scaffold_kfold

        return scaffold_kfold(inputs, n_folds, seed)

    def describe(self, raw: object) -> dict[str, object]:
        from rdkit.Chem import Descriptors, rdMolDescriptors

        mol, reason = self.parse(raw)
        if mol is None:
            return {"SMILES": raw, "error": reason}
        return {"SMILES": self.key(raw), "formula": rdMolDescriptors.CalcMolFormula(mol),
                "molecular weight": round(Descriptors.MolWt(mol), 2), "heavy atoms": mol.GetNumHeavyAtoms()}

    def matches(self, inputs: Sequence[str], pattern: str) -> np.ndarray:
        """Substructure search: whether each SMILES contains the SMARTS ``pattern`` (unreadable SMILES: False)."""
        from rdkit import Chem

        query = Chem.MolFromSmarts(pattern) if isinstance(pattern, str) and pattern.strip() else None
        if query is None:
            raise ValueError(f"{pattern!r} is not a SMARTS pattern RDKit can read (e.g. c1ccccc1 for a benzene ring, "
                             "[NX3;H2] for a primary amine)")
        out = np.zeros(len(inputs), dtype=bool)
        for i, raw in enumerate(inputs):
            mol, _ = self.parse(raw)
            out[i] = mol is not None and mol.HasSubstructMatch(query)
        return out

    def explain_picture(self, raw: object, reference: object, width: int = 420, height: int = 320) -> str | None:
        """RDKit similarity map of ``raw`` against ``reference`` (:mod:`sciml.domains.molecules.explain`)."""
        from sciml.domains.molecules.explain import shared_atoms_map

        if self.problem(raw) is not None or self.problem(reference) is not None:
            return None
        return shared_atoms_map(str(raw), str(reference), width, height)

    def write_structures(self, inputs: Sequence[str], properties) -> bytes:
        """SDF (RDKit) with one record per SMILES and its row of ``properties`` as SD properties."""
        from sciml.domains.molecules.sdf import write_sdf

        return write_sdf(inputs, properties)

    def depict(self, raw: object, width: int = 180, height: int = 120) -> str | None:
        """``data:image/png;base64,...`` of one molecule drawn by RDKit, or ``None`` when it cannot be drawn."""
        import base64

        from rdkit.Chem.Draw import rdMolDraw2D

        mol, _ = self.parse(raw)
        if mol is None or mol.GetNumAtoms() == 0:
            return None
        try:
            drawer = rdMolDraw2D.MolDraw2DCairo(width, height)
            drawer.drawOptions().clearBackground = False
            rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
            drawer.FinishDrawing()
            png = drawer.GetDrawingText()
        except (RuntimeError, ValueError):
            return None
        return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
