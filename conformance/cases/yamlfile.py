"""YAML with line numbers: every mapping and list read from a case file remembers where it
starts and where each of its keys is written, so an error names the line to fix.

pydantic validates plain data and reports a `loc` (a path of keys and indexes); `line_at` maps
that path back to the YAML line through the `LineDict`/`LineList` this loader builds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


class CaseFileError(ValueError):
    """A case or baseline file is malformed. The message has one line per problem, each
    `file:line: what is wrong`; `problems` holds them one by one."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__("\n".join(self.problems))


class LineDict(dict):
    """A mapping with the line it starts on and the line of each of its keys."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list):
    """A list with the line it starts on and the line of each item (scalars have no line of
    their own)."""

    line: int = 0
    item_lines: tuple[int, ...] = ()


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when present: 5x faster
    pass


class _DuplicateKey(Exception):
    def __init__(self, line: int, key: Any) -> None:
        self.line, self.key = line, key


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    # A key written twice is a mistake; a key that overrides one brought in by `<<:` is not.
    own_keys: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in own_keys:
            raise _DuplicateKey(key_node.start_mark.line + 1, key)
        own_keys.add(key)
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = tuple(child.start_mark.line + 1 for child in node.value)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_yaml(path: Path) -> Any:
    """The document of `path`; a file that cannot be read or parsed is a CaseFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        loader = _Loader(text)
        loader.name = str(path)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _DuplicateKey as exc:
        raise CaseFileError(f"{path}:{exc.line}: duplicate key {exc.key!r}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        where = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            where = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise CaseFileError(f"{path}:{line}: invalid YAML: {exc.problem or exc}{where}") from exc
    except yaml.YAMLError as exc:
        raise CaseFileError(f"{path}: invalid YAML: {exc}") from exc


def read_document(path: Path, kind: str, what: str = "file") -> Any:
    """The YAML document of `path`, a mapping whose `schema` is `kind`; anything else is one
    error (a file of another kind has nothing else worth reporting)."""
    data = read_yaml(path)
    if data is None:
        raise CaseFileError(f"{path}:1: {what}: empty file")
    if not isinstance(data, dict):
        raise CaseFileError(f"{path}:{line_of(data, default=1)}: {what}: must be a mapping")
    if "schema" not in data:
        raise CaseFileError(f"{path}:1: {what}: missing required field 'schema'")
    if data["schema"] != kind:
        raise CaseFileError(
            f"{path}:{line_of(data, 'schema', 1)}: {what}: schema: expected {kind!r}, "
            f"got {data['schema']!r}"
        )
    return data


def line_of(obj: Any, key: Any = None, default: int = 0) -> int:
    """The line of `key` in the mapping `obj`, else the line `obj` starts on, else `default`."""
    if isinstance(obj, LineDict) and key is not None and key in obj.key_lines:
        return obj.key_lines[key]
    return getattr(obj, "line", 0) or default


def line_at(data: Any, loc: Sequence[str | int], default: int = 0) -> int:
    """The line of the deepest part of `loc` that `data` has: the key's line for a mapping
    entry, the item's line for a list entry. A path into something absent (a missing field)
    stops at its parent."""
    line = line_of(data, default=default)
    for part in loc:
        if isinstance(data, dict) and part in data:
            line = line_of(data, part, line)
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            items = getattr(data, "item_lines", ())
            line = items[part] if part < len(items) else line
            data = data[part]
        else:
            break
    return line
