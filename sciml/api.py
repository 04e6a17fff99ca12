"""Notebook-friendly public API: a scikit-learn-like few-shot classifier over a meta-trained checkpoint.

>>> clf = FewShotClassifier.from_checkpoint("runs/protonet-tox21")       # doctest: +SKIP
>>> clf.fit(support_smiles, support_labels)                               # doctest: +SKIP
>>> clf.predict_proba(candidate_smiles)                                   # doctest: +SKIP
   smiles  p_active  error
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from sciml.learners.base import SupportSetError, check_binary_support

logger = logging.getLogger(__name__)


def _as_smiles_list(X, smiles_col: str | None) -> list:
    if isinstance(X, pd.DataFrame):
        if smiles_col is None:
            from assays.sources.user_csv import find_smiles_column

            smiles_col = find_smiles_column(X)
        if smiles_col not in X.columns:
            raise KeyError(f"column {smiles_col!r} not found; available: {list(X.columns)}")
        return X[smiles_col].tolist()
    if isinstance(X, str):
        return [X]
    return list(X)


class FewShotClassifier:
    """Adapt a meta-trained encoder to a new binary assay from a few labelled molecules.

    Parameters
    ----------
    checkpoint : str or Path
        Checkpoint folder written by ``sciml train``.
    device : str, optional
        ``"cpu"`` or ``"cuda"``; default CUDA when available.
    smiles_col : str, optional
        Column to read when ``fit``/``predict_proba`` receive a DataFrame (auto-detected otherwise).

    Attributes
    ----------
    support_errors_ : pandas.DataFrame
        Support rows that were left out of the fit (``row``, ``smiles``, ``error``).
    n_support_ : int
        Number of support molecules used.
    """

    def __init__(self, checkpoint: str | Path, device: str | None = None, smiles_col: str | None = None):
        self.checkpoint = checkpoint
        self.device = device
        self.smiles_col = smiles_col
        self._load()

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, device: str | None = None, **kw) -> "FewShotClassifier":
        return cls(checkpoint, device=device, **kw)

    def _load(self) -> None:
        import torch

        from sciml.checkpoint import load_checkpoint
        from sciml.learners.protonet import ProtoNetLearner

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        model, featurizer, config = load_checkpoint(self.checkpoint, device=device)
        self.config_ = config
        self._featurizer = featurizer
        self._learner = ProtoNetLearner(model, featurizer, device=device)

    def _embed(self, smiles: list) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """Embeddings of the valid inputs, their positions, and errors by input position."""
        from sciml.graphs import embed_graphs

        res = self._featurizer.featurize(smiles)
        ok = res.valid_index
        emb = embed_graphs(self._learner.model.encoder, [res.graphs[i] for i in ok], self._learner.device)
        return emb, ok, res.errors

    def fit(self, X, y) -> "FewShotClassifier":
        """Adapt on support molecules ``X`` (SMILES list/Series or DataFrame) with 0/1 labels ``y``.

        Invalid SMILES and missing labels are left out (listed in ``support_errors_``);
        a support set without both classes raises :class:`SupportSetError`.
        """
        smiles = _as_smiles_list(X, self.smiles_col)
        y = np.asarray(pd.to_numeric(pd.Series(list(y)), errors="coerce"), dtype=np.float64)
        if len(y) != len(smiles):
            raise ValueError(f"fit got {len(smiles)} molecules but {len(y)} labels")
        emb, ok, errors = self._embed(smiles)
        errors = dict(errors)
        for i in np.flatnonzero(~np.isfinite(y)):
            errors.setdefault(int(i), "missing or non-numeric label")
        keep = np.array([j for j, i in enumerate(ok) if i not in errors], dtype=np.int64)
        self.support_errors_ = pd.DataFrame(
            [{"row": i, "smiles": smiles[i], "error": e} for i, e in sorted(errors.items())],
            columns=["row", "smiles", "error"])
        for _, r in self.support_errors_.head(10).iterrows():
            logger.warning("support row %d (%r) left out: %s", r["row"], r["smiles"], r["error"])
        if keep.size == 0:
            raise SupportSetError(f"none of the {len(smiles)} support rows is usable; see support_errors_")
        yk = check_binary_support(y[ok[keep]])
        self._learner.fit_features(emb[keep], yk)
        self.n_support_ = int(keep.size)
        return self

    def predict_proba(self, X) -> pd.DataFrame:
        """P(active) for every input row: columns ``smiles``, ``p_active`` (NaN on error), ``error`` ('' when ok)."""
        if not hasattr(self, "n_support_"):
            raise RuntimeError("FewShotClassifier is not fitted: call fit(support_smiles, labels) first.")
        smiles = _as_smiles_list(X, self.smiles_col)
        emb, ok, errors = self._embed(smiles)
        p = np.full(len(smiles), np.nan)
        if ok.size:
            p[ok] = self._learner.predict_proba_features(emb)
        return pd.DataFrame({"smiles": smiles, "p_active": p,
                             "error": [errors.get(i, "") for i in range(len(smiles))]})

    def predict(self, X, threshold: float = 0.5) -> pd.DataFrame:
        """``predict_proba`` plus ``label`` (1 if ``p_active >= threshold``; missing where the row failed)."""
        df = self.predict_proba(X)
        df["label"] = pd.array(np.where(df["p_active"] >= threshold, 1, 0), dtype="Int64")
        df.loc[df["error"] != "", "label"] = pd.NA
        return df

    def __repr__(self) -> str:
        return f"FewShotClassifier(checkpoint={str(self.checkpoint)!r})"
