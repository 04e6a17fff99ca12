"""The import rule: imports point one way, core <- assays <- pipelines <- front ends.

Layers, lowest first:

0. the library core: every ``sciml`` module except the front ends below;
1. ``assays`` (tasks, sources, splits, episodes);
2. ``pipelines`` (train, evaluate, select);
3. the front ends: ``sciml.cli``, ``sciml.api``, ``sciml.support_only`` (the support-only
   baselines behind the API's interface), the package root ``sciml`` (it only re-exports
   the public API, lazily) and ``app``.

A module may import modules of its own layer or lower ones, never higher ones; every
import counts, including those inside functions (lazy imports). Inside the core, the
subpackages and modules (``sciml.learners``, ``sciml.checkpoint``, ...) must not import
each other in a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sciml", "assays", "pipelines", "app")
FRONT_ENDS = ("sciml.cli", "sciml.api", "sciml.support_only", "app")
LAYER_NAMES = ("sciml core", "assays", "pipelines", "front ends")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> int | None:
    """Layer index of a project module, ``None`` for third-party modules."""
    top = module.split(".")[0]
    if top not in PACKAGES:
        return None
    if module == "sciml" or any(module == f or module.startswith(f + ".") for f in FRONT_ENDS):
        return 3
    return {"sciml": 0, "assays": 1, "pipelines": 2}[top]


def imports(path: Path) -> list[tuple[int, str]]:
    """``(line, imported module)`` of every import in ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # "from sciml import api" may name a submodule: keep the full name, _resolve finds the module
            out += [(node.lineno, f"{base}.{a.name}" if base else a.name) for a in node.names]
    return out


def project_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _resolve(name: str) -> str:
    """``sciml.api.FewShotModel`` -> ``sciml.api``: the longest prefix that is a project module."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        cand = ROOT.joinpath(*parts[:n])
        if cand.with_suffix(".py").is_file() or (cand / "__init__.py").is_file():
            return ".".join(parts[:n])
    return name


def test_imports_point_down_only():
    bad = []
    for path in project_files():
        mine = layer(module_name(path))
        for line, name in imports(path):
            theirs = layer(_resolve(name))
            if theirs is not None and theirs > mine:
                bad.append(f"{path.relative_to(ROOT)}:{line} ({LAYER_NAMES[mine]}) imports {name} "
                           f"({LAYER_NAMES[theirs]})")
    assert not bad, "imports that point up a layer:\n" + "\n".join(bad)


def _core_unit(module: str) -> str:
    """``sciml.learners.maml`` -> ``sciml.learners``; ``sciml.checkpoint`` -> ``sciml.checkpoint``."""
    return ".".join(module.split(".")[:2])


def test_core_subpackages_do_not_import_each_other_in_a_cycle():
    graph: dict[str, set[str]] = {}
    for path in project_files():
        me = module_name(path)
        if layer(me) != 0 or me == "sciml":
            continue
        for _, name in imports(path):
            target = _resolve(name)
            if layer(target) == 0 and target != "sciml" and _core_unit(target) != _core_unit(me):
                graph.setdefault(_core_unit(me), set()).add(_core_unit(target))
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles between core modules:\n" + "\n".join(cycles)


@pytest.mark.parametrize("module, expected", [("sciml.learners.maml", 0), ("sciml.cli", 3), ("sciml", 3),
                                              ("assays.task", 1), ("pipelines.train", 2), ("app.main", 3),
                                              ("numpy", None)])
def test_layer_of_module(module, expected):
    assert layer(module) == expected


def test_the_checker_sees_lazy_and_relative_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "sciml" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "sciml" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    f = pkg / "mod.py"
    f.write_text("def f():\n    from pipelines.train import meta_train\n    from . import other\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert imports(f) == [(2, "pipelines.train.meta_train"), (3, "sciml.sub.other")]
    assert layer(_resolve("sciml.sub.other")) == 0
    assert layer(_resolve("pipelines.train.meta_train")) == 2


def test_modules_stay_small():
    """Files stay small and single-purpose: none of the packages' modules is over 500 lines."""
    long = {str(p.relative_to(ROOT)): n for p in project_files() if (n := len(p.read_text().splitlines())) > 500}
    assert not long, f"modules over 500 lines (split them along their seams): {long}"
