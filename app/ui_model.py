"""Step 1: pick the domain and a shipped checkpoint, show its model card; plus the sidebar settings."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import sciml
from app import cache, core, guard
from app.assets import CheckpointInfo, list_checkpoints, model_card
from app.config import (
    CHECKPOINTS_DIR,
    DEFAULT_BY_TASK,
    DEFAULT_CHECKPOINT,
    DEFAULT_LEVEL,
    DEFAULT_ROWS_SHOWN,
    DEFAULT_SIMILARITY,
)
from sciml.learners import LEARNERS

#: Folds of the two K-fold checks.
CHECK_FOLDS = 5
#: Check methods of step 5: sidebar label -> (folds, grouped); ``None`` folds = leave-one-out, grouped = folds keep
#: each group of the checkpoint domain's ``group_kfold`` whole (molecules: Bemis–Murcko scaffolds).
CHECKS = {"Leave-one-out": (None, False), "K-fold (random)": (CHECK_FOLDS, False),
          "K-fold by scaffold (new chemotypes)": (CHECK_FOLDS, True)}


@dataclass(frozen=True)
class RunSettings:
    level: float
    #: nearest-support Tanimoto below which a candidate is outside; ``None``: the checkpoint's calibrated thresholds
    similarity: float | None
    check: str
    rows: int
    hit_rate: float | None = None
    #: the sidebar's baseline choice: a key of :data:`app.core.BASELINES` or ``"auto"`` (by task)
    baseline_choice: str = "auto"

    def baseline(self, task: str) -> str:
        """The support-only baseline shown beside the model for a ``task`` support."""
        from sciml.support_only import default_support_only_learner

        return default_support_only_learner(task) if self.baseline_choice == "auto" else self.baseline_choice

    @property
    def n_folds(self) -> int | None:
        return CHECKS[self.check][0]

    @property
    def grouped(self) -> bool:
        """Whether the check keeps each scaffold (the domain's group) in one fold."""
        return CHECKS[self.check][1]


def render_settings() -> RunSettings:
    sb = st.sidebar
    sb.header("Settings")
    level = sb.slider("Interval coverage", 0.50, 0.99, DEFAULT_LEVEL, 0.01, key="level", format="%.2f",
                      help="Coverage of the predictive interval (lower–upper) shown for every prediction: 0.90 means "
                           "the true value should fall inside for 90 % of compounds.")
    by_hand = sb.checkbox("Set the domain threshold by hand", key="similarity_by_hand",
                          help="Off (default): the checkpoint's thresholds, calibrated on validation assays "
                               "(benchmarks/domain_flag.py): a candidate is 'outside' when its most similar measured "
                               "compound is less similar than most queries were to their supports there, 'edge' "
                               "in between. On: pick the 'outside' threshold yourself.")
    similarity = None
    if by_hand:
        similarity = sb.slider("Domain threshold (Tanimoto similarity)", 0.10, 0.90, DEFAULT_SIMILARITY, 0.05,
                               key="similarity",
                               help="A candidate whose most similar measured compound (Morgan fingerprints, radius 2) "
                                    "is less similar than this is flagged as outside the applicability domain.")
    check = sb.selectbox("Check on your data", list(CHECKS), key="check",
                         help="How the model is checked on your own measurements (step 5): leave-one-out predicts "
                              f"each measured compound from all the others; K-fold ({CHECK_FOLDS} folds) is faster for "
                              "large support sets; K-fold by scaffold keeps compounds that share a ring scaffold in "
                              "one fold, so each is predicted from other chemotypes only (how the model does on new "
                              "chemical series).")
    rows = sb.number_input("Rows shown with structures", 10, 500, DEFAULT_ROWS_SHOWN, 10, key="rows",
                           help="Result tables show this many rows (with 2D depictions); the downloads hold every row.")
    sb.caption(f"sciml {sciml.__version__}. Everything runs on this server; nothing is sent elsewhere.")
    hit_rate = sb.number_input("Expected hit rate (classification, optional)", min_value=0.001, max_value=0.999,
                               value=None, step=0.01, format="%.3f", key="hit_rate", placeholder="not set",
                               help="The fraction of actives you expect among the candidates (e.g. 0.02 for a typical "
                                    "screen). Measured compounds are usually a balanced mix, which says nothing about "
                                    "how rare actives are; with this set, P(active) is shifted to that rate (Bayes' "
                                    "rule). The ranking does not change. Ignored for regression.")
    choices = {"auto": "random forest (classification), Tanimoto GP (regression)",
               **{k: v for k, v in core.BASELINES.items()}}
    baseline = sb.selectbox("Support-only baseline beside the model", list(choices), key="baseline",
                            format_func=lambda k: choices[k],
                            help="A simple model fitted on your measured compounds alone (Morgan fingerprints, no "
                                 "meta-training). The check (step 5) scores it on the same folds as the model and says "
                                 "whether the model is ahead, level or behind; its predictions are in the download.")
    return RunSettings(float(level), None if similarity is None else float(similarity), str(check), int(rows),
                       None if hit_rate is None else float(hit_rate), str(baseline))


def render() -> tuple[CheckpointInfo, object]:
    st.header("1 · Model")
    infos = list_checkpoints()
    if not infos:
        st.error(f"No checkpoint found in {CHECKPOINTS_DIR}: each checkpoint is a folder with config.json and "
                 "model.safetensors. Re-create the default one (see the README) or copy one there.")
        st.stop()
    domains = sorted({i.domain for i in infos}, key=lambda d: (d != "molecules", d))
    c1, c2 = st.columns([1, 2])
    domain = c1.selectbox("Domain", domains, format_func=str.capitalize, key="domain",
                          help="Molecules (SMILES structures). Materials checkpoints appear here once shipped.")
    names = [i.name for i in infos if i.domain == domain]
    if st.session_state.get("checkpoint") not in names:
        st.session_state["checkpoint"] = names[0]
    own = ", ".join(f"'{n}' for {k}" for k, n in DEFAULT_BY_TASK.items() if n in names)
    name = c2.selectbox("Checkpoint", names, key="checkpoint",
                        help="A meta-trained model shipped in data/checkpoints/; 'default' is the recommended one"
                             + (f" (it hands a support over to its task's own default: {own})." if own else "."))
    info = next(i for i in infos if i.name == name)
    if info.error:
        st.error(f"Checkpoint {info.name!r}: {info.error}. Choose another checkpoint.")
        st.stop()
    with guard.step(f"Loading checkpoint {info.name!r}",
                    "Choose another checkpoint, or re-create this one with the command in its model card."):
        loaded = cache.load_checkpoint(str(info.path), info.stamp())
    entry = LEARNERS.get(loaded.learner)
    description = entry.description if entry else "not in this version's learner registry"
    st.markdown(f"**Learner** `{loaded.learner}`: {description}. **Serves** {' and '.join(loaded.tasks)}. "
                f"Checkpoint made with sciml {info.config.get('package_version', '?')}.")
    with st.expander("Model card: what it was meta-trained on, its benchmark figures, data sources and licences"):
        st.markdown(model_card(info, description))
    return info, loaded


def for_task(info: CheckpointInfo, loaded, kind: str | None) -> tuple[CheckpointInfo, object]:
    """The checkpoint that serves a support of task ``kind``: with ``default`` chosen, the task's own shipped
    default (:data:`~app.config.DEFAULT_BY_TASK`) when it is there, said on the page; else the chosen one."""
    own = DEFAULT_BY_TASK.get(kind or "")
    if info.name != DEFAULT_CHECKPOINT or own is None:
        return info, loaded
    other = next((i for i in list_checkpoints() if i.name == own and not i.error), None)
    if other is None:
        return info, loaded
    if st.checkbox(f"Predict this {kind} assay with `{DEFAULT_CHECKPOINT}` instead of `{other.name}`",
                   key="keep_default", help=f"`{other.name}` is the shipped default for {kind}; `{DEFAULT_CHECKPOINT}` "
                                            "serves it too, with the likelihood of the task swapped."):
        return info, loaded
    with guard.step(f"Loading checkpoint {other.name!r}",
                    f"Choose a checkpoint other than {DEFAULT_CHECKPOINT!r} in step 1."):
        loaded = cache.load_checkpoint(str(other.path), other.stamp())
    entry = LEARNERS.get(loaded.learner)
    description = entry.description if entry else "not in this version's learner registry"
    st.info(f"Your measurements are a {kind} assay, so the shipped {kind} default **`{other.name}`** "
            f"(`{loaded.learner}`: {description}) makes the predictions: it was chosen for {kind} on the validation "
            f"tasks of the new-assay benchmark. Tick the box above to use `{DEFAULT_CHECKPOINT}`, or pick any other "
            "checkpoint in step 1.")
    with st.expander(f"Model card of `{other.name}`"):
        st.markdown(model_card(other, description))
    return other, loaded
