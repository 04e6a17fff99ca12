"""Analysis JSONs keep the (dataset, learner) rows a run does not redo, with their own provenance."""

from __future__ import annotations

import json

from pipelines.evaluate import keep_not_redone


def test_rows_not_redone_are_kept_with_the_old_files_command_and_date(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"command": "python old.py", "date": "2026-11-23", "records": [
        {"dataset": "tox21", "learner": "maml", "mean": 0.8},
        {"dataset": "sider", "learner": "maml", "mean": 0.7},
        {"dataset": "sider", "learner": "bmaml", "mean": 0.6, "date": "2026-11-24", "command": "python mid.py"}]}))
    new = [{"dataset": "sider", "learner": "maml", "mean": 0.79, "command": "python new.py", "date": "2026-11-30"}]
    out = keep_not_redone(path, new)
    assert [(r["dataset"], r["learner"]) for r in out] == [("tox21", "maml"), ("sider", "bmaml"), ("sider", "maml")]
    assert out[0] == {"dataset": "tox21", "learner": "maml", "mean": 0.8, "command": "python old.py",
                      "date": "2026-11-23"}
    assert out[1]["date"] == "2026-11-24" and out[1]["command"] == "python mid.py"  # its own provenance wins
    assert out[2]["mean"] == 0.79
    only_date = keep_not_redone(path, new, inherit=("date",))
    assert "command" not in only_date[0] and only_date[0]["date"] == "2026-11-23"


def test_no_file_means_just_the_new_records(tmp_path):
    new = [{"dataset": "muv", "learner": "rf"}]
    assert keep_not_redone(tmp_path / "missing.json", new) == new


def test_script_command_is_the_quoted_python_command_line():
    from pipelines.evaluate import script_command

    assert script_command(["benchmarks/x.py", "--pairs", "bmaml:maml", "--note", "a b"]) == \
        "python benchmarks/x.py --pairs bmaml:maml --note 'a b'"
