"""The Streamlit web app (``streamlit run app/main.py``): a thin layer over :mod:`sciml`.

Modules: ``config`` (paths, limits), ``assets`` (checkpoints, model cards, shipped
examples), ``user_tables`` (reading the user's tables), ``core`` (adapt / predict / check,
ranking, downloads; no Streamlit), ``cache`` (Streamlit caches and per-session models),
``depict`` (2D depictions), ``plots`` (Altair charts), ``guard`` (errors shown as
messages) and one ``ui_*`` module per step of the page.
"""
