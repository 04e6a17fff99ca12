"""Streamlit caches.

* The loaded checkpoint is read-only: one copy per process (``st.cache_resource``), shared by all sessions.
* Each session gets its own :class:`sciml.api.FewShotModel` (fitted state, per-SMILES feature cache)
  kept in ``st.session_state``: nothing mutable is shared between sessions.
* A run's results are cached by value (``st.cache_data``: SMILES and values tuples, checkpoint
  and settings), so repeating a run, or another user running the same inputs, is instant.
"""

from __future__ import annotations

import streamlit as st

from app import core

_MODELS_KEY = "_sciml_models"


@st.cache_resource(show_spinner="Loading the model (once per server)…", max_entries=4)
def load_checkpoint(path: str, stamp: tuple):
    """:func:`sciml.api.load` once per checkpoint version (``stamp`` changes when its files change)."""
    from sciml.api import load

    return load(path)


def session_model(loaded, task: str, level: float, hit_rate: float | None = None):
    """This session's model for (checkpoint, task, level, hit rate); features stay cached on it between runs."""
    models = st.session_state.setdefault(_MODELS_KEY, {})
    hit_rate = hit_rate if task == "classification" else None
    key = (loaded.path, task, round(float(level), 4), hit_rate)
    if key not in models:
        if len(models) >= 2:
            models.pop(next(iter(models)))
        models[key] = core.make_model(loaded, task, level, hit_rate)
    return models[key]


@st.cache_data(show_spinner=False, max_entries=16)
def cached_run(_model, checkpoint_key: tuple, task: str, level: float, support_smiles: tuple, support_y: tuple,
               cand_smiles: tuple, similarity: float | None, hit_rate: float | None = None,
               baseline: str | None = None) -> core.RunResult:
    """:func:`app.core.run`, cached on its inputs (``_model`` is this session's model, not hashed;
    ``hit_rate`` is only part of the key: the model applies it)."""
    return core.run(_model, support_smiles, support_y, cand_smiles, similarity=similarity, baseline=baseline)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_check(_model, checkpoint_key: tuple, task: str, level: float, support_smiles: tuple, support_y: tuple,
                 n_folds: int | None, grouped: bool = False):
    """:func:`app.core.check`, cached on its inputs (the check method is ``n_folds`` and ``grouped``)."""
    return core.check(_model, support_smiles, support_y, n_folds, grouped=grouped)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_baseline_check(baseline: str, task: str, level: float, support_smiles: tuple, support_y: tuple,
                          n_folds: int | None, grouped: bool = False):
    """:func:`app.core.check` of the support-only ``baseline`` with the same folds as the model's check."""
    return core.check(core.make_baseline(baseline, task, level), support_smiles, support_y, n_folds, grouped=grouped)


@st.cache_data(show_spinner=False, max_entries=20_000)
def depiction(raw: str, domain: str | None = None, width: int = 180, height: int = 120) -> str | None:
    """The domain's picture of one input (an image data URI; a 2D drawing for molecules), or ``None``."""
    from sciml.domains import get_domain

    return get_domain(domain).depict(raw, width, height)


@st.cache_data(show_spinner=False, max_entries=64)
def unreadable_count(smiles: tuple) -> int:
    """How many SMILES RDKit cannot read (cached: the candidate list is re-checked on every rerun)."""
    from sciml.domains import get_domain

    return sum(get_domain().problem(s) is not None for s in smiles)
