"""Step 3: the candidates to predict (a built-in library, the example's candidates, an upload or pasted SMILES)."""

from __future__ import annotations

import streamlit as st

from app import cache, guard, ui_project
from app import user_tables as ut
from app.assets import example_file
from app.config import EXAMPLES_DIR, MAX_CANDIDATES, UPLOAD_TYPES, UPLOAD_WIDGET_MB
from app.ui_support import example_by_name
from assays.sources import tables

EXAMPLE = "Candidates of the example assay"
UPLOAD = "Upload a file"
PASTE = "Paste SMILES"
_LIBRARY = "Built-in library: "
_FIX = "Fix the file or paste the structures again."


def modes(examples: dict) -> list[str]:
    libs = [_LIBRARY + lib["name"] for lib in examples.get("libraries", [])]
    return libs + ([EXAMPLE] if examples.get("assays") else []) + [UPLOAD, PASTE]


def _from_shipped(file: str, smiles_col: str, note: str) -> ut.Candidates:
    data, _ = example_file(file)
    table = ut.table_from_bytes(data, file, origin="example")
    st.caption(note)
    return ut.candidates_from_table(table, smiles_col)


def _candidates(mode: str, examples: dict) -> ut.Candidates | None:
    if mode == ui_project.PROJECT:
        project = ui_project.opened()
        return None if project is None else project.candidates
    if mode.startswith(_LIBRARY):
        lib = next(lib for lib in examples["libraries"] if _LIBRARY + lib["name"] == mode)
        return _from_shipped(lib["file"], lib["smiles_col"],
                             f"{lib['n']:,} molecules. Source: {lib['source']}; licence: "
                             f"`{EXAMPLES_DIR.name}/{lib['licence']}`.")
    if mode == EXAMPLE:
        ex = example_by_name(examples, st.session_state.get("example_assay"))
        if ex is None:
            return None
        return _from_shipped(ex["candidates"], ex["smiles_col"],
                             f"Other compounds of the example assay {ex['name']}, without their measured values. "
                             f"Source: {ex['source']}.")
    if mode == UPLOAD:
        f = st.file_uploader("Candidates (CSV, TSV, Excel .xlsx, SDF or .smi)", type=UPLOAD_TYPES, key="cand_file",
                             max_upload_size=UPLOAD_WIDGET_MB,
                             help=f"One row per structure with a SMILES column; other columns (IDs, notes) are kept "
                                  f"in the download. At most {MAX_CANDIDATES:,} rows and "
                                  f"{tables.MAX_UPLOAD_MB:g} MB.")
        st.caption(f"Up to {tables.MAX_UPLOAD_MB:g} MB and {MAX_CANDIDATES:,} rows per file; larger libraries: "
                   "`sciml screen --support <assay.csv> --library <library.smi.gz> --out <folder>` on the command "
                   "line (any size, streamed, resumable, several cores).")
        if f is None:
            return None
        table = ut.table_from_bytes(f.getvalue(), f.name)
        cols = [c for c in table.df.columns if c != tables.RECORD_ERROR_COLUMN]
        auto = ut.guess_smiles_column(table.df)
        col = st.selectbox("Structure column (SMILES)", cols, index=cols.index(auto) if auto in cols else 0,
                           key=f"cand_smiles:{table.sha256[:12]}", help="The column holding the candidates' SMILES.")
        return ut.candidates_from_table(table, col)
    text = st.text_area("SMILES, one per line (optionally followed by a name)", key="cand_text", height=160,
                        placeholder="CCOc1ccc(N)cc1 cpd-1\nO=C(O)c1ccccc1 cpd-2",
                        help="Or paste a table whose header names a SMILES column.")
    return ut.candidates_from_text(text) if text and text.strip() else None


def render(examples: dict) -> ut.Candidates:
    st.header("3 · Candidates")
    st.caption("The structures to predict; every row you give comes back in the results, with a reason where a "
               "structure could not be predicted.")
    options = modes(examples) + ([ui_project.PROJECT] if ui_project.opened() is not None else [])
    if st.session_state.get("cand_mode") not in options:
        st.session_state["cand_mode"] = options[0]
    mode = st.radio("Which structures?", options, key="cand_mode", horizontal=True,
                    help="A shipped library of drug-like molecules, the example assay's other compounds, your own "
                         "file, or SMILES pasted as text.")
    with guard.step("Reading the candidates", _FIX):
        cands = _candidates(mode, examples)
    if cands is None:
        st.info("Add candidate structures above, or choose a built-in library.")
        st.stop()
    bad = cache.unreadable_count(tuple(cands.smiles))
    st.markdown(f"**{len(cands.smiles):,} candidates** from {cands.name}"
                + (f"; {bad} whose structure RDKit cannot read (kept, with the reason in the error column)." if bad
                   else "."))
    return cands
