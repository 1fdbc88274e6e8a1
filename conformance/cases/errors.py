"""The problems of a file, collected: pydantic's errors and the loader's own checks alike become
`file:line: case 'id': field: what is wrong`, each once, all reported together."""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from conformance.cases.yamlfile import CaseFileError, line_at

Loc = tuple[str | int, ...]
# Splits a loc into what it names ("case 'x'", "matrix #2") and the path inside that.
Locator = Callable[[Loc], tuple[str, Loc]]


def dotted(loc: Sequence[str | int]) -> str:
    """`('expect', 'scopes', 1)` -> `expect.scopes[1]`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class Problem:
    line: int
    what: str  # the case, matrix, entry or file the problem is in
    field: str  # the dotted path inside it; "" for the thing itself
    text: str

    def render(self, path: Path) -> str:
        field = f"{self.field}: " if self.field else ""
        return f"{path}:{self.line}: {self.what}: {field}{self.text}"


class Problems:
    """The problems of one or more files, in the order found, each once.

    A matrix fragment is part of many cases; a broken one would otherwise be reported for
    every combination. Problems are the same when they are on the same line, about the same
    key (the last part of the field path) and say the same thing."""

    def __init__(self) -> None:
        self._found: dict[tuple[Path, int, str, str], str] = {}
        self._files: dict[Path, int] = {}  # the order files were first seen in

    def add(self, path: Path, line: int, what: str, loc: Sequence[str | int], text: str) -> None:
        key = (path, line, str(loc[-1]) if loc else "", text)
        self._files.setdefault(path, len(self._files))
        self._found.setdefault(key, Problem(line, what, dotted(loc), text).render(path))

    def add_error(self, error: CaseFileError) -> None:
        """Problems already written out (a file that cannot be read, a duplicate id)."""
        for message in error.problems:
            self._found.setdefault((Path(), 0, message, ""), message)
            self._files.setdefault(Path(), len(self._files))

    def validate(
        self,
        path: Path,
        model: type[BaseModel],
        data: Any,
        locate: Locator,
        default_line: int = 0,
    ) -> Any:
        """`data` validated as `model`, or None with its errors added."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            self.add_validation(path, exc, data, model, locate, default_line)
            return None

    def add_validation(
        self,
        path: Path,
        exc: ValidationError,
        data: Any,
        model: type[BaseModel],
        locate: Locator,
        default_line: int = 0,
    ) -> None:
        """pydantic's errors for `data` (validated as `model`), at the lines of `data`."""
        for err in exc.errors(include_url=False):
            loc, text = _explain(err, model)
            line = line_at(data, err["loc"], default_line)
            what, inner = locate(loc)
            self.add(path, line, what, inner, text)

    def __bool__(self) -> bool:
        return bool(self._found)

    def raise_if_any(self) -> None:
        """One CaseFileError with every problem, file by file, in the order of the lines."""
        if self._found:
            order = sorted(self._found, key=lambda k: (self._files[k[0]], k[1]))
            raise CaseFileError([self._found[key] for key in order])


_TYPE_TEXT = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "list_type": "must be a list",
}


def _explain(err: Any, model: type[BaseModel]) -> tuple[Loc, str]:
    """The loc a message is about and what it says, in the words of the case files."""
    kind, loc, value, ctx = err["type"], tuple(err["loc"]), err.get("input"), err.get("ctx", {})
    if kind == "missing":
        return loc[:-1], f"missing required field {loc[-1]!r}"
    if kind == "extra_forbidden":
        allowed = ", ".join(sorted(_fields_at(model, loc[:-1])))
        return loc[:-1], f"unknown field {loc[-1]!r} (allowed: {allowed})"
    if kind in ("enum", "literal_error"):
        return loc, f"{value!r} is not one of {ctx['expected']}"
    if kind == "string_pattern_mismatch":
        return loc, f"{value!r} must match {ctx['pattern']}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return loc, f"must be a mapping, got {_kind(value)}"
    if kind == "greater_than":
        return loc, f"must be greater than {ctx['gt']}"
    if kind == "too_short":
        return loc, "must not be empty"
    if kind in _TYPE_TEXT:
        return loc, _TYPE_TEXT[kind]
    return loc, err["msg"]  # our own validators' messages, and whatever else pydantic says


def _kind(value: Any) -> str:
    """What a YAML value is, in YAML's words."""
    for tp, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number")):
        if isinstance(value, tp):
            return name
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else type(value).__name__


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names (aliases) of the model at `loc` inside `model`, for "allowed: ..."."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {info.alias or name: info for name, info in tp.model_fields.items()}
            if part not in fields:
                return []
            tp = fields[part].annotation
        elif get_origin(tp) in (list, dict):
            tp = get_args(tp)[-1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [info.alias or name for name, info in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """`Annotated[X, ...]` and `X | None` -> X."""
    if get_origin(tp) is Annotated:
        return _unwrap(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else tp
    return tp
