"""Applicability domain: flag queries that lie outside what the adapted model has seen.

Two signals, both relative to the support set the model was adapted on:

* **Structural**: the domain's similarity (:meth:`sciml.domains.base.Domain.similarity`;
  Tanimoto on Morgan fingerprints, radius 2, 2048 bits, for molecules) of a query to its
  nearest support input. Below ``similarity_threshold`` (default: the domain's, 0.35 for
  molecules, a common "same chemical series" boundary for these fingerprints) the query
  is flagged.
* **Embedding**: the Euclidean distance of the query's meta-learned embedding to its
  nearest support embedding, compared with the support's own leave-one-out nearest-
  neighbour distances: beyond their maximum times ``embedding_factor`` it is flagged.

A query is in domain when neither signal fires; ``domain_reason`` says which fired, with
the numbers, so the user can judge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sciml.domains import Domain, get_domain

__all__ = ["applicability_domain"]


def applicability_domain(support_smiles: list[str], query_smiles: list[str], *, support_emb=None, query_emb=None,
                         similarity_threshold: float | None = None, embedding_factor: float = 1.5,
                         domain: Domain | str | None = None) -> pd.DataFrame:
    """Domain check of valid ``query_smiles`` against valid ``support_smiles``.

    Parameters
    ----------
    support_smiles, query_smiles : list of str
        Valid inputs of ``domain`` (``[n_s]``, ``[n_q]``; SMILES for molecules).
    support_emb, query_emb : np.ndarray, optional
        Embeddings ``[n_s, d]`` and ``[n_q, d]``; the embedding signal is skipped without them.
    similarity_threshold : float, optional
        Default: the domain's ``similarity_threshold``.
    embedding_factor : float
    domain : Domain or str, optional
        Default: molecules.

    Returns
    -------
    pandas.DataFrame
        ``n_q`` rows: ``nearest_support`` (the input), ``nearest_similarity`` (the domain's similarity),
        ``embedding_distance`` (NaN without embeddings), ``in_domain`` (bool),
        ``domain_reason`` ('' when in domain).
    """
    n_q = len(query_smiles)
    if n_q == 0:
        return pd.DataFrame(columns=["nearest_support", "nearest_similarity", "embedding_distance", "in_domain",
                                     "domain_reason"])
    domain = domain if isinstance(domain, Domain) else get_domain(domain)
    if similarity_threshold is None:
        similarity_threshold = domain.similarity_threshold
    sim = domain.similarity(query_smiles, support_smiles)
    nn = sim.argmax(axis=1)
    best = sim[np.arange(n_q), nn]
    reasons = [[] for _ in range(n_q)]
    for i in np.flatnonzero(best < similarity_threshold):
        reasons[i].append(f"nearest measured compound has {domain.similarity_label} {best[i]:.2f} "
                          f"< {similarity_threshold:.2f}")
    dist = np.full(n_q, np.nan)
    if support_emb is not None and query_emb is not None and len(support_smiles) >= 2:
        s = np.asarray(support_emb, dtype=np.float64)
        q = np.asarray(query_emb, dtype=np.float64)
        d_ss = np.sqrt(((s[:, None, :] - s[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(d_ss, np.inf)
        limit = embedding_factor * d_ss.min(axis=1).max()
        dist = np.sqrt(((q[:, None, :] - s[None, :, :]) ** 2).sum(-1)).min(axis=1)
        for i in np.flatnonzero(dist > limit):
            reasons[i].append(f"embedding distance {dist[i]:.2f} to the support exceeds {limit:.2f} "
                              f"({embedding_factor:g} x the largest support nearest-neighbour distance)")
    return pd.DataFrame({
        "nearest_support": [support_smiles[j] for j in nn],
        "nearest_similarity": best.astype(np.float64),
        "embedding_distance": dist,
        "in_domain": [not r for r in reasons],
        "domain_reason": ["; ".join(r) for r in reasons],
    })
