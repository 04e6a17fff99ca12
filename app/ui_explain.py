"""Step 4, below the table: one candidate in detail (large drawing, full SMILES, its nearest measured compounds
and what it shares with the nearest one)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import cache, core
from app import user_tables as ut
from app.ui_model import RunSettings
from app.ui_predict import LEVEL_LABELS


@st.cache_data(show_spinner=False, max_entries=256)
def _shared(raw: str, reference: str) -> str | None:
    from sciml.domains import get_domain

    return get_domain().explain_picture(raw, reference)


def render(cands: ut.Candidates, stored: dict, ranking: pd.DataFrame, support: ut.SupportSet, s: RunSettings) -> None:
    preds = stored["result"].predictions
    base = stored["result"].baseline_predictions
    ok = preds.index[preds["error"].eq("")]
    if not len(ok):
        return
    top = ranking.loc[ok].sort_values("acquisition_rank", na_position="last").index.tolist()
    ident = [c for c in cands.df.columns if c != cands.smiles_col][:1]
    label = {i: f"row {i}" + (f" · {cands.df.iloc[i][ident[0]]}" if ident else "") + f" · {preds.loc[i, 'smiles']}"
             for i in top}
    with st.expander("Look at one candidate: large drawing, full SMILES, nearest measured compounds"):
        i = st.selectbox("Candidate (in ranking order)", top, format_func=lambda k: label[k][:120], key="explain_row",
                         help="Any predicted candidate; the list follows the ranking of step 6.")
        row = preds.loc[i]
        c1, c2 = st.columns(2)
        with c1:
            pic = cache.depiction(row["smiles"], width=420, height=320)
            if pic:
                st.image(pic, caption=f"Candidate row {i}")
            st.code(row["smiles"], language=None)
            what = "P(active)" if support.kind == "classification" else f"Prediction ({support.units})"
            lines = [f"**{what}** {row['prediction']:.2f} (std. dev. {row['std']:.2f})"]
            if base is not None and pd.notna(base.loc[i, "prediction"]):
                lines.append(f"**Baseline** ({core.BASELINES.get(stored['result'].baseline, '')}) "
                             f"{base.loc[i, 'prediction']:.2f}")
            level = row.get("domain_level")
            lines.append(f"**Domain** {LEVEL_LABELS.get(level, '–')}"
                         + (f": {row['domain_reason']}" if row.get("domain_reason") else ""))
            st.markdown("  \n".join(lines))
        near = core.nearest_measured(support.smiles, support.y, row["smiles"], k=5)
        with c2:
            shared = _shared(row["smiles"], near.iloc[0]["smiles"])
            if shared:
                st.image(shared, caption="Shared with the nearest measured compound (green: atom environments it "
                                         "has in common with it; red: environments it lacks)")
            near.insert(1, "structure", [cache.depiction(smi) for smi in near["smiles"]])
            st.dataframe(near, hide_index=True, row_height=64, key="explain_nearest", column_config={
                "structure": st.column_config.ImageColumn("Structure", width="small"),
                "measured": st.column_config.NumberColumn("Measured" if support.kind == "regression" else
                                                          "Measured (1 = active)", format="%.2f"),
                "similarity": st.column_config.NumberColumn("Tanimoto", format="%.2f")})
        st.caption("A guide to what the prediction leans on, not a mechanism: few-shot models predict a candidate "
                   "mostly from its most similar measured compounds, so these and the atoms it shares with them "
                   "are the first things to check before trusting a number.")
