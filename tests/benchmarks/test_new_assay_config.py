"""The new-assay benchmark's meta-training settings: MiniMol variants differ from their base learner only in inputs."""

from __future__ import annotations

from benchmarks.new_assay import VARIANTS, base_learner, train_config


def test_variants_are_their_base_learner_with_the_minimol_branch():
    for name, (learner, encoder) in VARIANTS.items():
        cfg, base = train_config(name, "classification", 0, None), train_config(learner, "classification", 0, None)
        assert base_learner(name) == learner and cfg.learner == learner
        assert cfg.minimol and not base.minimol and cfg.encoder == encoder
        assert (cfg.steps, cfg.k_shot, cfg.seed, cfg.learner_config) == (base.steps, base.k_shot, base.seed,
                                                                          base.learner_config)
        assert cfg.featurizer_options().get("minimol") is True
    assert base_learner("maml") == "maml"
    reg = train_config("dkgp", "regression", 0, None)
    assert reg.fingerprint_bits == 2048 and reg.learner_config["fingerprint_kernel"] is True
