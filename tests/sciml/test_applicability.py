"""The applicability domain: the domain's similarity to the support and the embedding distance."""

from __future__ import annotations

import numpy as np

from sciml.applicability import applicability_domain


def test_applicability_domain_flags_dissimilar_and_far_queries():
    support = ["c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "c1ccccc1Cl"]
    query = ["c1ccccc1CC", "CCCCCCCCCCCC(=O)O"]
    emb_s = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1]])
    emb_q = np.array([[0.05, 0.05], [5.0, 5.0]])
    dom = applicability_domain(support, query, support_emb=emb_s, query_emb=emb_q)
    assert list(dom["in_domain"]) == [True, False]
    assert dom.loc[0, "domain_reason"] == ""
    assert "Tanimoto" in dom.loc[1, "domain_reason"] and "embedding distance" in dom.loc[1, "domain_reason"]
    assert dom.loc[1, "nearest_similarity"] < 0.35 <= dom.loc[0, "nearest_similarity"]
    # without embeddings only the structural signal is used
    dom2 = applicability_domain(support, query)
    assert dom2["embedding_distance"].isna().all() and list(dom2["in_domain"]) == [True, False]
