"""The app in a real browser: upload measured compounds and candidates, predict, download, screenshot.

Uses the harness of ``tests/e2e/conftest.py`` (system Chromium driven by Playwright; skips
with a reason where either is missing). The full-page screenshot of the result page goes
to ``$SCIML_SCREENSHOT`` when set (``SCIML_SCREENSHOT=docs/screenshot.png make test`` refreshes
the README's screenshot; ``SCIML_SCREENSHOT_CLASSIFICATION`` likewise for the classification
page), else to the test's temporary folder, so a test run never changes tracked files.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.streamlit_server import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "data" / "examples"
MAX_SCREENSHOT_BYTES = 1_000_000
#: Adapting, predicting and the leave-one-out check on a busy 2-core machine.
PREDICT_TIMEOUT_MS = 240_000


def _example() -> dict:
    return json.loads((EXAMPLES / "examples.json").read_text())["assays"][0]


def _save_screenshot(page, path: Path) -> None:
    """Full-page PNG of the app (Streamlit scrolls inside its main block: grow the viewport to fit it), < 1 MB."""
    page.mouse.move(0, 0)
    height = page.evaluate(
        "() => Math.max(...['[data-testid=\"stMain\"]', '[data-testid=\"stAppViewContainer\"]', 'body']"
        ".map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1400, "height": int(min(height + 40, 12_000))})
    page.wait_for_timeout(1500)  # charts re-layout
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    if path.stat().st_size > MAX_SCREENSHOT_BYTES:
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)


def _uploader(page, label: str):
    """The file input of the uploader whose label starts with ``label`` (the page has several)."""
    box = page.locator('[data-testid="stFileUploader"]').filter(has_text=label).first
    return box.locator('[data-testid="stFileUploaderDropzoneInput"]')


def _screenshot_path(env: str, tmp_path: Path, name: str) -> Path:
    return Path(os.environ[env]) if os.environ.get(env) else tmp_path / name


@pytest.mark.slow
def test_upload_predict_download_in_chromium(app_url, page, tmp_path):
    ex = _example()
    support = tmp_path / "measured.csv"
    support.write_bytes((EXAMPLES / ex["support"]).read_bytes())
    cands = pd.read_csv(EXAMPLES / ex["candidates"])
    cand_file = tmp_path / "candidates.csv"
    cands.to_csv(cand_file, index=False)

    page.set_default_timeout(120_000)  # first page load imports torch and loads the checkpoint
    page.goto(app_url)
    page.get_by_role("heading", name="2 · Measured compounds (support set)").wait_for()
    _uploader(page, "Measured compounds").set_input_files(str(support))
    page.get_by_text(f"{ex['n_support']} of {ex['n_support']} rows usable").wait_for()

    page.locator('[data-testid="stRadio"]').filter(has_text="Which structures?").get_by_text("Upload a file").click()
    upload = _uploader(page, "Candidates (CSV")
    upload.wait_for(state="attached")
    upload.set_input_files(str(cand_file))
    page.get_by_text(f"{len(cands)} candidates").wait_for()

    page.get_by_role("button", name="Predict", exact=True).click()
    page.get_by_role("heading", name="8 · Download").wait_for(timeout=PREDICT_TIMEOUT_MS)
    page.get_by_role("heading", name="5 · Check the model on your own data").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    predicted = page.locator('[data-testid="stMetric"]').filter(has_text="Predicted").first
    assert predicted.locator('[data-testid="stMetricValue"]').inner_text().strip() == str(len(cands))
    coverage = page.locator('[data-testid="stMetric"]').filter(has_text="Coverage of the 90% intervals").first
    assert coverage.locator('[data-testid="stMetricValue"]').inner_text().strip().endswith("%")
    assert page.locator('[data-testid="stDataFrame"]').count() >= 2  # predictions and ranking tables

    with page.expect_download() as info:
        page.get_by_role("button", name="Results (CSV)").click()
    path = tmp_path / "results.csv"
    info.value.save_as(str(path))
    out = pd.read_csv(path, keep_default_na=False)
    assert len(out) == len(cands)
    assert out["compound_id"].tolist() == cands["compound_id"].tolist()
    for col in ("prediction", "std", "lower", "upper"):
        assert all(math.isfinite(float(v)) for v in out[col]), col
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()
    assert (out["error"] == "").all() and out["run_support_sha256"].str.len().eq(64).all()

    assert {"baseline_prediction", "domain_level", "nearest_measured"} <= set(out.columns)

    shot = _screenshot_path("SCIML_SCREENSHOT", tmp_path, "screenshot.png")
    _save_screenshot(page, shot)
    assert 10_000 < shot.stat().st_size < MAX_SCREENSHOT_BYTES


@pytest.mark.slow
def test_classification_by_threshold_in_chromium(app_url, page, tmp_path):
    """The classification path: threshold the example's values, predict the MOSES library, read the check
    (ROC-AUC with its interval, baseline verdict, reliability diagram) and download the ranked SDF."""
    ex = _example()
    support = tmp_path / "measured.csv"
    support.write_bytes((EXAMPLES / ex["support"]).read_bytes())
    page.set_default_timeout(120_000)
    page.goto(app_url)
    page.get_by_role("heading", name="2 · Measured compounds (support set)").wait_for()
    _uploader(page, "Measured compounds").set_input_files(str(support))
    page.get_by_text(f"{ex['n_support']} of {ex['n_support']} rows usable").wait_for()
    page.get_by_text("Classification by an activity threshold").click()
    page.get_by_text("active,").first.wait_for()  # the counts of the thresholded labels
    page.get_by_role("button", name="Predict", exact=True).click()
    page.get_by_role("heading", name="8 · Download").wait_for(timeout=PREDICT_TIMEOUT_MS)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    metrics = page.locator('[data-testid="stMetric"]')
    assert metrics.filter(has_text="ROC-AUC").count() >= 1 and metrics.filter(has_text="PR-AUC").count() >= 1
    assert metrics.filter(has_text="Coverage").count() == 0  # no interval coverage of 0/1 labels
    page.get_by_text("Beside a support-only baseline: random forest").wait_for()
    page.get_by_role("tab", name="Reliability diagram").click()
    page.get_by_text("Points: the fraction of your compounds measured active").wait_for()

    with page.expect_download() as info:
        page.get_by_role("button", name="Ranked candidates (SDF)").click()
    path = tmp_path / "ranked.sdf"
    info.value.save_as(str(path))
    from rdkit import Chem

    mols = [m for m in Chem.SDMolSupplier(str(path))]
    assert len(mols) == 1000 and all(m is not None for m in mols)  # the MOSES library, one record each
    p = [float(m.GetProp("prediction")) for m in mols]
    assert all(0 <= v <= 1 for v in p) and int(mols[0].GetProp("acquisition_rank")) == 1

    shot = _screenshot_path("SCIML_SCREENSHOT_CLASSIFICATION", tmp_path, "screenshot-classification.png")
    _save_screenshot(page, shot)
    assert 10_000 < shot.stat().st_size < MAX_SCREENSHOT_BYTES
