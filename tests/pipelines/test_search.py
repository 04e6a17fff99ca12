"""Hyperparameter search on validation tasks: Optuna study in SQLite, resumable, results written."""

from __future__ import annotations

import json
import sqlite3

import pytest

pytest.importorskip("optuna")

from pipelines.search import SEARCH_SPACES, Param, run_search, suggest, write_search_results  # noqa: E402
from pipelines.train import TrainConfig  # noqa: E402
from tests.pipelines.test_integration import TINY, _collection  # noqa: E402

SPACE = (Param("lr", "train", "log", 1e-3, 5e-3), Param("hidden", "encoder", "choice", choices=(16, 32)))


def test_params_are_checked_and_land_where_they_say():
    import optuna

    with pytest.raises(ValueError, match="low < high"):
        Param("lr", "train", "log", 0.0, 1.0)
    with pytest.raises(ValueError, match="target"):
        Param("x", "elsewhere", "float", 0.0, 1.0)
    base = TrainConfig(learner="maml", learner_config={"inner_lr": 0.05}, encoder_config={"depth": 2})
    trial = optuna.trial.FixedTrial({"lr": 1e-3, "dropout": 0.1, "hidden": 64, "depth": 3, "inner_lr": 0.2,
                                     "meta_sgd": True, "zero_init_head": False})
    cfg = suggest(trial, base, SEARCH_SPACES["maml"])
    assert cfg.lr == 1e-3 and cfg.encoder_config == {"depth": 3, "dropout": 0.1, "hidden": 64}
    assert cfg.learner_config == {"inner_lr": 0.2, "meta_sgd": True, "zero_init_head": False}
    assert base.learner_config == {"inner_lr": 0.05}  # the base is not changed
    assert set(SEARCH_SPACES) >= {"protonet", "maml", "fomaml", "bmaml", "dkgp"}


def test_search_resumes_from_its_study_file_and_writes_results(tmp_path):
    coll, _ = _collection()
    base = TrainConfig(**{**TINY, "steps": 10, "eval_every": 5})
    study_file = tmp_path / "search" / "protonet-syn.db"
    study = run_search(coll, base, study_file=study_file, out_dir=tmp_path / "trials", n_trials=2, dataset="syn",
                       space=SPACE, seed=0, device="cpu")
    assert len(study.trials) == 2 and all(t.state.name == "COMPLETE" for t in study.trials)
    assert all(0 <= t.value <= 1 for t in study.trials)
    assert (tmp_path / "trials" / "trial-0" / "config.json").is_file()
    # a trial left running by a killed search is marked failed, and the search tops up to 3 completed
    with sqlite3.connect(study_file) as con:
        con.execute("UPDATE trials SET state = 'RUNNING' WHERE number = 1")
    study = run_search(coll, base, study_file=study_file, out_dir=tmp_path / "trials", n_trials=3, dataset="syn",
                       space=SPACE, seed=0, device="cpu")
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") == 3 and states.count("FAIL") == 1
    again = run_search(coll, base, study_file=study_file, out_dir=tmp_path / "trials", n_trials=3, dataset="syn",
                       space=SPACE, seed=0, device="cpu")
    assert len(again.trials) == 4  # finished: nothing more runs
    out = tmp_path / "search.json"
    write_search_results(again, out, space=SPACE, command="pytest", dataset="syn", learner="protonet")
    rec = json.loads(out.read_text())
    assert rec["selection"] == "validation" and len(rec["trials"]) == 4
    assert rec["best"]["value"] == max(t.value for t in again.trials if t.state.name == "COMPLETE")
    assert "| trial | state | validation | lr | hidden |" in out.with_suffix(".md").read_text()
