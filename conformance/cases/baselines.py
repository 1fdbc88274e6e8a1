"""Baselines: the known departures of a target from the contract the cases state, run as
strict xfail. `load_baseline(path, known_ids)`; `extends: other.yaml` takes that file's entries
first, so a release that departs like its emulation lists only what differs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from conformance.cases import schema
from conformance.cases.errors import Loc, Problems
from conformance.cases.yamlfile import CaseFileError, line_of, read_document


@dataclass(frozen=True)
class BaselineEntry:
    id: str
    reason: str
    refs: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Baseline:
    target: str
    entries: Mapping[str, BaselineEntry]
    path: Path


def _locate(loc: Loc) -> tuple[str, Loc]:
    if len(loc) > 1 and loc[0] == "entries":
        return "baseline entry", loc[2:]
    return "baseline", loc


def load_baseline(
    path: Path | str, known_ids: Iterable[str] | None = None, _seen: tuple[Path, ...] = ()
) -> Baseline:
    """A baseline; with `known_ids`, every entry must name one of them. Every problem of the
    file (and of the files it extends) is reported in one CaseFileError."""
    path = Path(path)
    if path.resolve() in _seen:
        raise CaseFileError(f"{path}: baseline extends itself (through {_seen[-1]})")
    known = None if known_ids is None else set(known_ids)
    data = read_document(path, schema.BASELINE_SCHEMA, "baseline")
    problems = Problems()
    model = problems.validate(path, schema.BaselineFileModel, data, _locate, 1)
    entries: dict[str, BaselineEntry] = {}
    extends = data.get("extends")
    if isinstance(extends, str):
        entries.update(_parent_entries(path, data, known, _seen, problems))
    entries.update(_own_entries(path, data.get("entries"), known, problems))
    problems.raise_if_any()
    assert model is not None  # a file pydantic refuses has problems
    return Baseline(target=model.target, entries=entries, path=path)


def _parent_entries(
    path: Path, data: dict, known: set[str] | None, seen: tuple[Path, ...], problems: Problems
) -> Mapping[str, BaselineEntry]:
    parent = path.parent / data["extends"]
    if not parent.exists():
        line = line_of(data, "extends", 1)
        problems.add(path, line, "baseline", ("extends",), f"no such baseline {parent}")
        return {}
    try:
        return load_baseline(parent, known, (*seen, path.resolve())).entries
    except CaseFileError as exc:
        problems.add_error(exc)
        return {}


def _own_entries(
    path: Path, raw_entries: object, known: set[str] | None, problems: Problems
) -> dict[str, BaselineEntry]:
    """The entries of this file; one pydantic refuses is already reported, and left out."""
    own: dict[str, BaselineEntry] = {}
    for raw in raw_entries if isinstance(raw_entries, list) else ():
        try:
            entry = schema.BaselineEntryModel.model_validate(raw)
        except ValidationError:
            continue
        line = line_of(raw)
        if entry.id in own:
            problems.add(path, line, "baseline entry", (), f"duplicate entry for {entry.id!r}")
        elif known is not None and entry.id not in known:
            text = f"unknown case id {entry.id!r} (no loaded case has it)"
            problems.add(path, line, "baseline entry", (), text)
        else:
            own[entry.id] = BaselineEntry(
                id=entry.id,
                reason=entry.reason.strip(),
                refs=tuple(entry.refs),
                source=f"{path}:{line}",
            )
    return own
