"""The new-assay benchmark's meta-training settings: MiniMol variants differ from their base learner only in inputs."""

from __future__ import annotations

from benchmarks.new_assay import VARIANTS, base_learner, train_config


def test_variants_are_their_base_learner_with_only_the_named_differences():
    for name, v in VARIANTS.items():
        cfg, base = train_config(name, "classification", 0, None), train_config(v.learner, "classification", 0, None)
        assert base_learner(name) == v.learner and cfg.learner == v.learner
        assert cfg.minimol == v.minimol and not base.minimol and cfg.encoder == v.encoder
        assert (cfg.steps, cfg.k_shot, cfg.seed) == (base.steps, base.k_shot, base.seed)
        assert cfg.learner_config == {**base.learner_config, **v.learner_config}
        assert cfg.fingerprint_bits == v.fingerprint_bits
        assert bool(cfg.featurizer_options().get("minimol")) is v.minimol
    adkf = train_config("adkf_minimol", "classification", 0, None)
    assert adkf.learner_config["prior_mean"] and adkf.learner_config["minimol_kernel"] and adkf.fingerprint_bits
    assert base_learner("maml") == "maml"
    reg = train_config("dkgp", "regression", 0, None)
    assert reg.fingerprint_bits == 2048 and reg.learner_config["fingerprint_kernel"] is True


def test_report_keeps_committed_records_of_pairs_without_episode_files(tmp_path):
    import json

    from benchmarks.new_assay import kept_records

    committed = [{"dataset": "tox21", "learner": "rf", "metric": "roc_auc", "mean": 0.6},
                 {"dataset": "tox21", "learner": "protonet", "metric": "roc_auc", "mean": 0.7},
                 {"dataset": "muv", "learner": "protonet", "metric": "roc_auc", "mean": 0.65}]
    path = tmp_path / "new_assay.json"
    path.write_text(json.dumps(committed))
    fresh = [{"dataset": "tox21", "learner": "protonet", "metric": "roc_auc", "mean": 0.72}]
    kept = kept_records(path, fresh)
    assert [(r["dataset"], r["learner"]) for r in kept] == [("tox21", "rf"), ("muv", "protonet")]
    assert kept_records(tmp_path / "absent.json", fresh) == []


def test_default_test_time_grids_name_settings_their_learners_accept():
    import inspect

    from benchmarks.new_assay_select import DEFAULT_GRIDS
    from sciml.learners import LEARNERS

    for name, grid in DEFAULT_GRIDS.items():
        params = inspect.signature(LEARNERS[name].__init__).parameters
        assert set(grid) <= set(params), (name, grid)
        assert all(isinstance(v, list) and v for v in grid.values())
