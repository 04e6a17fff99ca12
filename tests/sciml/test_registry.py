"""ClassRegistry: decorator registration, lookups, errors; the shipped registries feed the CLI."""

from __future__ import annotations

import pytest

from sciml.registry import ClassRegistry, UnknownNameError


def test_register_by_name_attribute_or_explicit_names():
    reg = ClassRegistry("widget")

    @reg.register()
    class A:
        name = "a"

    @reg.register("b", "bee")
    class B:
        pass

    assert reg["a"] is A and reg["b"] is reg["bee"] is B
    assert list(reg) == ["a", "b", "bee"] and len(reg) == 3 and "a" in reg and reg.get("zzz") is None
    assert "widget" in repr(reg) and "bee" in repr(reg)


def test_unknown_and_clashing_names():
    reg = ClassRegistry("widget")
    reg.register("a")(type("A", (), {}))
    with pytest.raises(KeyError, match=r"^unknown widget 'x'; choose from a$") as e:
        reg["x"]
    assert isinstance(e.value, UnknownNameError) and isinstance(e.value, ValueError)
    with pytest.raises(ValueError, match="widget 'a' is already registered to A"):
        reg.register("a")(type("Other", (), {}))


def test_shipped_registries():
    from sciml.domains import DOMAINS
    from sciml.encoders import ENCODERS, GINEncoder
    from sciml.learners import LEARNERS, meta_learner_names

    assert list(DOMAINS) == ["molecules"] and ENCODERS["gine"] is GINEncoder
    assert set(LEARNERS) == {"protonet", "maml", "fomaml", "reptile", "bmaml", "dkgp", "cnp", "rf", "knn", "gp_tanimoto",
                             "minimol_lr", "minimol_gp", "multitask_ridge", "multitask_minimol"}
    assert set(meta_learner_names()) == {"protonet", "maml", "fomaml", "reptile", "bmaml", "dkgp", "cnp"}
    for name, cls in LEARNERS.items():
        assert cls.name == name and cls.description and set(cls.tasks) <= {"classification", "regression"}
    assert LEARNERS["dkgp"].serves_other_task and not LEARNERS["maml"].serves_other_task
    assert LEARNERS["protonet"].tasks == ("classification",)
