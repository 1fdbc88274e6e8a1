"""The package's architecture, enforced: imports point down the layers only, and no module
imports another that (directly or not) imports it back.

Layers, bottom to top. A module may import its own layer or any lower one, never a higher one;
the reference gateway never imports the harness. Lazy imports inside functions count too: an
upward import hidden in a function is still an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS: tuple[tuple[str, ...], ...] = (
    ("conformance.versions",),
    ("conformance.protocol",),
    ("conformance.cases",),
    ("conformance.targets",),
    ("conformance.judge",),
    ("conformance.reports",),
    ("conformance.plugin",),
    ("conformance.commands", "conformance.test_handshake", "conformance.test_cli"),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `name` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            # `from pkg import mod` is an import of pkg.mod; `from pkg import name` of pkg
            targets = subs or [base]
        for t in targets:
            # `from conformance.protocol import client` names the module conformance.protocol.client
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def _graph() -> dict[str, set[str]]:
    mods = {**_modules("conformance"), **_modules("reference_gateway")}
    known = set(mods)
    return {name: _imports(name, path, known) for name, path in mods.items()}


def _layer(module: str) -> int | None:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


GRAPH = _graph()


def test_every_harness_module_has_a_layer() -> None:
    homeless = [m for m in GRAPH if m.startswith("conformance.") and _layer(m) is None]
    assert homeless == [], "add these modules to a layer in tests/test_layers.py"


def test_imports_point_down_only() -> None:
    upward = [
        f"{src} (layer {_layer(src)}) imports {dst} (layer {_layer(dst)})"
        for src, dsts in sorted(GRAPH.items())
        for dst in sorted(dsts)
        if _layer(src) is not None and _layer(dst) is not None and _layer(dst) > _layer(src)
    ]
    assert upward == []


def test_the_reference_never_imports_the_harness() -> None:
    leaks = [
        f"{src} imports {dst}"
        for src, dsts in sorted(GRAPH.items())
        if src.startswith("reference_gateway")
        for dst in sorted(dsts)
        if dst.startswith("conformance")
    ]
    assert leaks == []


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle() -> None:
    cycle = _cycle()
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from conformance.judge import runner\n", {"conformance.judge.runner"}),
        ("from ..judge.runner import Observation\n", {"conformance.judge.runner"}),
        ("def f():\n    import conformance.plugin.hooks\n", {"conformance.plugin.hooks"}),
    ],
)
def test_the_checker_sees_every_import_form(
    tmp_path: Path, source: str, expected: set[str]
) -> None:
    # A checker that misses an import form would pass having checked nothing.
    path = tmp_path / "m.py"
    path.write_text(source)
    found = _imports("conformance.targets.m", path, set(GRAPH))
    assert found == expected
    assert any(_layer(d) > _layer("conformance.targets.m") for d in found)
