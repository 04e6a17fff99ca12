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

Each query gets a graded ``domain_level``: ``outside`` when a signal fires; ``edge`` when its
nearest-support similarity lies between ``similarity_threshold`` and ``edge_similarity`` or its
embedding distance between the largest support nearest-neighbour distance and the outside
limit; else ``in``. ``in_domain`` is ``level != "outside"``, and ``domain_reason`` says what
put the query at the edge or outside, with the numbers, so the user can judge. A
checkpoint may carry both similarity thresholds, calibrated on validation tasks
(``config["applicability"]``, written by ``benchmarks/domain_flag.py``); the domain's
defaults apply otherwise.

Memory stays bounded whatever the table sizes: the support's similarity features are
computed once, queries are compared chunk by chunk (at most :data:`CHUNK_ELEMENTS`
pairwise entries at a time), and embedding distances are float32 matrix products
(``|q|^2 + |s|^2 - 2 q.s``) over the same chunks, never a ``[n_q, n_s, d]`` array.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sciml.domains import Domain, get_domain

__all__ = ["CHUNK_ELEMENTS", "LEVELS", "applicability_domain", "nearest_embedding_distance"]

#: The graded domain levels, nearest first.
LEVELS = ("in", "edge", "outside")

#: Pairwise entries (query x support) held at once: 4 M float32 = 16 MiB per matrix.
CHUNK_ELEMENTS = 1 << 22
#: At most this many inputs featurized at once (fingerprints of one chunk).
MAX_CHUNK = 4096


def _chunk_rows(n_other: int) -> int:
    return int(max(1, min(MAX_CHUNK, CHUNK_ELEMENTS // max(1, n_other))))


def nearest_embedding_distance(q: np.ndarray, s: np.ndarray, *, exclude_self: bool = False) -> np.ndarray:
    """Euclidean distance of each row of ``q`` ``[n_q, d]`` to its nearest row of ``s`` ``[n_s, d]`` -> ``[n_q]``.

    Float32 matrix products in chunks of rows. ``exclude_self`` (``q`` is ``s``): each row's
    distance to itself is left out (leave-one-out nearest neighbour).
    """
    q = np.ascontiguousarray(q, dtype=np.float32)
    s = np.ascontiguousarray(s, dtype=np.float32)
    s_sq = np.einsum("ij,ij->i", s, s)
    out = np.empty(len(q), dtype=np.float64)
    step = _chunk_rows(len(s))
    for start in range(0, len(q), step):
        qc = q[start:start + step]
        d2 = np.einsum("ij,ij->i", qc, qc)[:, None] + s_sq[None, :] - 2.0 * (qc @ s.T)
        if exclude_self:
            idx = np.arange(start, start + len(qc))
            d2[idx - start, idx] = np.inf
        out[start:start + len(qc)] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def applicability_domain(support_smiles: list[str], query_smiles: list[str], *, support_emb=None, query_emb=None,
                         similarity_threshold: float | None = None, edge_similarity: float | None = None,
                         embedding_factor: float = 1.5, domain: Domain | str | None = None) -> pd.DataFrame:
    """Domain check of valid ``query_smiles`` against valid ``support_smiles``.

    Parameters
    ----------
    support_smiles, query_smiles : list of str
        Valid inputs of ``domain`` (``[n_s]``, ``[n_q]``; SMILES for molecules).
    support_emb, query_emb : np.ndarray, optional
        Embeddings ``[n_s, d]`` and ``[n_q, d]``; the embedding signal is skipped without them.
    similarity_threshold : float, optional
        Below it a query is outside. Default: the domain's ``similarity_threshold``.
    edge_similarity : float, optional
        Below it (and not below ``similarity_threshold``) a query is at the edge. Default: the
        domain's ``edge_similarity``; never below ``similarity_threshold``.
    embedding_factor : float
    domain : Domain or str, optional
        Default: molecules.

    Returns
    -------
    pandas.DataFrame
        ``n_q`` rows: ``nearest_support`` (the input), ``nearest_similarity`` (the domain's similarity),
        ``embedding_distance`` (NaN without embeddings), ``domain_level`` (:data:`LEVELS`),
        ``in_domain`` (bool, not outside), ``domain_reason`` ('' when in).
    """
    n_q = len(query_smiles)
    if n_q == 0:
        return pd.DataFrame(columns=["nearest_support", "nearest_similarity", "embedding_distance", "domain_level",
                                     "in_domain", "domain_reason"])
    domain = domain if isinstance(domain, Domain) else get_domain(domain)
    if similarity_threshold is None:
        similarity_threshold = domain.similarity_threshold
    edge = domain.edge_similarity if edge_similarity is None else edge_similarity
    edge = max(float(edge), float(similarity_threshold))
    fs = domain.similarity_features(support_smiles)
    nn = np.empty(n_q, dtype=np.int64)
    best = np.empty(n_q, dtype=np.float64)
    step = _chunk_rows(len(support_smiles))
    for start in range(0, n_q, step):
        sim = domain.similarity_between(domain.similarity_features(query_smiles[start:start + step]), fs)
        nn[start:start + len(sim)] = sim.argmax(axis=1)
        best[start:start + len(sim)] = sim.max(axis=1)
    reasons = [[] for _ in range(n_q)]
    outside = best < similarity_threshold
    at_edge = ~outside & (best < edge)
    for i in np.flatnonzero(outside):
        reasons[i].append(f"nearest measured compound has {domain.similarity_label} {best[i]:.2f} "
                          f"< {similarity_threshold:.2f}")
    for i in np.flatnonzero(at_edge):
        reasons[i].append(f"edge: nearest measured compound has {domain.similarity_label} {best[i]:.2f} "
                          f"< {edge:.2f}")
    dist = np.full(n_q, np.nan)
    if support_emb is not None and query_emb is not None and len(support_smiles) >= 2:
        s = np.asarray(support_emb, dtype=np.float32)
        largest = nearest_embedding_distance(s, s, exclude_self=True).max()
        limit = embedding_factor * largest
        dist = nearest_embedding_distance(np.asarray(query_emb, dtype=np.float32), s)
        for i in np.flatnonzero(dist > limit):
            reasons[i].append(f"embedding distance {dist[i]:.2f} to the support exceeds {limit:.2f} "
                              f"({embedding_factor:g} x the largest support nearest-neighbour distance)")
        far = (dist > largest) & (dist <= limit)
        for i in np.flatnonzero(far & ~outside):
            reasons[i].append(f"edge: embedding distance {dist[i]:.2f} beyond the largest support "
                              f"nearest-neighbour distance {largest:.2f}")
        outside |= dist > limit
        at_edge = ~outside & (at_edge | far)
    level = np.where(outside, "outside", np.where(at_edge, "edge", "in"))
    return pd.DataFrame({
        "nearest_support": [support_smiles[j] for j in nn],
        "nearest_similarity": best.astype(np.float64),
        "embedding_distance": dist,
        "domain_level": level,
        "in_domain": ~outside,
        "domain_reason": ["; ".join(r) for r in reasons],
    })
