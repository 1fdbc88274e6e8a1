"""Matrices to cases: deep merge of defaults, base, axis fragments and rules, one raw case per
combination of axis values. Works on the raw YAML data (`LineDict`), so each expanded case keeps
the lines its keys were written on; conformance.cases.schema validates the result."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from conformance.cases.errors import Loc
from conformance.cases.yamlfile import LineDict, LineList, line_of

_APPENDED = ("refs", "tags")


def deep_merge(base: Any, over: Any, *, top: bool = False) -> Any:
    """Mappings merge key by key; everything else is replaced. At the case's top level, `refs`
    and `tags` accumulate, so a rule can add a reference without repeating the others."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    out = LineDict(base)
    out.line = getattr(over, "line", getattr(base, "line", 0))
    out.key_lines = {**getattr(base, "key_lines", {}), **getattr(over, "key_lines", {})}
    for key, value in over.items():
        if top and key in _APPENDED and isinstance(out.get(key), list) and isinstance(value, list):
            merged = LineList([*out[key], *(v for v in value if v not in out[key])])
            merged.line = getattr(value, "line", 0)
            out[key] = merged
        elif key in out:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def inside_fragment(loc: Loc) -> bool:
    """Whether `loc` (inside a matrix) points into one of its case fragments: a problem there
    is the case's, and does not stop the matrix from expanding."""
    if loc[:1] == ("axes",):
        return len(loc) > 3
    if loc[:1] == ("rules",):
        return len(loc) > 3 and loc[2] == "merge"
    return loc[:1] == ("base",) and len(loc) > 1


def _when_values(wanted: Any) -> list[Any]:
    return wanted if isinstance(wanted, list) else [wanted]


def matrix_problems(matrix: dict) -> Iterator[tuple[Loc, str]]:
    """What a matrix of the right shape (schema.MatrixModel) can still get wrong: its id
    template or a rule naming an axis or value it does not have."""
    axes = matrix["axes"]
    try:
        matrix["id"].format(**{a: "x" for a in axes})
    except (KeyError, IndexError, AttributeError, ValueError) as exc:
        yield ("id",), f"template {matrix['id']!r} names an unknown axis: {exc}"
    for r, rule in enumerate(matrix.get("rules") or ()):
        for axis, wanted in rule["when"].items():
            loc = ("rules", r, "when", axis)
            if axis not in axes:
                yield loc, f"unknown axis {axis!r} (axes: {', '.join(axes)})"
                continue
            for value in _when_values(wanted):
                if value not in axes[axis]:
                    yield loc, f"unknown value {value!r} (values: {', '.join(axes[axis])})"


def expand_matrix(matrix: dict, defaults: Any) -> Iterator[tuple[LineDict, str]]:
    """Every combination of a valid matrix as a raw case, with the combination's name
    (`auth=token, device=none`). Fragments merge in axis order, then every matching rule."""
    axes: dict[str, dict[str, Any]] = matrix["axes"]
    rules = matrix.get("rules") or []
    base = matrix.get("base") or {}
    for combo in itertools.product(*(list(values.items()) for values in axes.values())):
        chosen = dict(zip(axes, (name for name, _ in combo), strict=True))
        raw = deep_merge(defaults, base, top=True)
        for _, frag in combo:
            raw = deep_merge(raw, frag, top=True)
        for rule in rules:
            if all(chosen[a] in _when_values(w) for a, w in rule["when"].items()):
                raw = deep_merge(raw, rule["merge"], top=True)
        raw = deep_merge(raw, {"id": matrix["id"].format(**chosen)})
        raw.line = line_of(matrix)
        yield raw, ", ".join(f"{a}={v}" for a, v in chosen.items())
