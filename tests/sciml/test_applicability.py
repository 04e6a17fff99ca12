"""The applicability domain: the domain's similarity to the support and the embedding distance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sciml.applicability import applicability_domain


def test_applicability_domain_flags_dissimilar_and_far_queries():
    support = ["c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "c1ccccc1Cl"]
    query = ["c1ccccc1CC", "CCCCCCCCCCCC(=O)O"]
    emb_s = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1]])
    emb_q = np.array([[0.05, 0.05], [5.0, 5.0]])
    dom = applicability_domain(support, query, support_emb=emb_s, query_emb=emb_q)
    assert list(dom["in_domain"]) == [True, False]
    # Tanimoto 0.39: above the default outside threshold (0.35), below the default edge (0.50)
    assert dom["domain_level"].tolist() == ["edge", "outside"] and dom.loc[0, "domain_reason"].startswith("edge: ")
    assert "Tanimoto" in dom.loc[1, "domain_reason"] and "embedding distance" in dom.loc[1, "domain_reason"]
    assert dom.loc[1, "nearest_similarity"] < 0.35 <= dom.loc[0, "nearest_similarity"]
    # without embeddings only the structural signal is used
    dom2 = applicability_domain(support, query)
    assert dom2["embedding_distance"].isna().all() and list(dom2["in_domain"]) == [True, False]


def test_chunked_nearest_distances_match_brute_force(monkeypatch):
    import sciml.applicability as ad

    monkeypatch.setattr(ad, "CHUNK_ELEMENTS", 7)  # many small chunks
    rng = np.random.default_rng(0)
    s, q = rng.normal(size=(13, 5)), rng.normal(size=(29, 5))
    brute = np.sqrt(((q[:, None] - s[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(ad.nearest_embedding_distance(q, s), brute, rtol=1e-4, atol=1e-4)
    d_ss = np.sqrt(((s[:, None] - s[None]) ** 2).sum(-1))
    np.fill_diagonal(d_ss, np.inf)
    np.testing.assert_allclose(ad.nearest_embedding_distance(s, s, exclude_self=True), d_ss.min(1), rtol=1e-4,
                               atol=1e-4)
    smiles = ["CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCCl", "c1ccncc1", "OCCO"]
    full = applicability_domain(smiles[:3], smiles[3:], support_emb=s[:3], query_emb=q[:4])
    monkeypatch.setattr(ad, "CHUNK_ELEMENTS", 1 << 22)
    again = applicability_domain(smiles[:3], smiles[3:], support_emb=s[:3], query_emb=q[:4])
    pd.testing.assert_frame_equal(full, again)


def test_large_support_and_query_tables_complete_in_bounded_memory():
    """5,000 support rows x 100,000 queries with 128-d embeddings: the naive [n_q, n_s, d] array would need
    512 GB; the chunked computation completes (its memory is measured in benchmarks/applicability_memory.py)."""
    import tracemalloc

    from sciml.applicability import nearest_embedding_distance

    rng = np.random.default_rng(0)
    s = rng.normal(size=(5000, 128)).astype(np.float32)
    q = rng.normal(size=(100_000, 128)).astype(np.float32)
    tracemalloc.start()
    d = nearest_embedding_distance(q, s)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert d.shape == (100_000,) and np.isfinite(d).all()
    assert peak < 200 * 2**20  # chunks of at most 4 M entries, not 64 G


def test_graded_levels_in_edge_outside_with_reasons():
    support = ["c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "c1ccccc1Cl"]
    query = ["c1ccccc1O", "c1ccccc1CC", "CCCCCCCCCCCC(=O)O"]
    sim = applicability_domain(support, query, similarity_threshold=0.0)["nearest_similarity"].to_numpy()
    assert sim[0] == 1.0 and sim[0] > sim[1] > sim[2]
    edge = (sim[1] + sim[0]) / 2  # the second query sits between the thresholds
    dom = applicability_domain(support, query, similarity_threshold=(sim[1] + sim[2]) / 2, edge_similarity=edge)
    assert dom["domain_level"].tolist() == ["in", "edge", "outside"]
    assert dom["in_domain"].tolist() == [True, True, False]  # the edge is a caution, not a flag
    assert dom.loc[0, "domain_reason"] == "" and dom.loc[1, "domain_reason"].startswith("edge: ")
    # an edge threshold below the outside one leaves no edge band
    low = applicability_domain(support, query, similarity_threshold=(sim[1] + sim[2]) / 2, edge_similarity=0.0)
    assert low["domain_level"].tolist() == ["in", "in", "outside"]
    # embeddings: beyond the largest support nearest-neighbour distance is the edge, beyond 1.5 x it outside
    emb_s = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    emb_q = np.array([[0.0, 0.0], [0.0, -1.2], [0.0, -5.0]])
    dom = applicability_domain(support, ["c1ccccc1O"] * 3, support_emb=emb_s, query_emb=emb_q, edge_similarity=0.5)
    assert dom["domain_level"].tolist() == ["in", "edge", "outside"] and "embedding" in dom.loc[1, "domain_reason"]
