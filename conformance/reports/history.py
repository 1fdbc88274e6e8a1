"""The contract's history across releases: the matrix's columns read in release order, each
failure group (and each security flag, finding and error group) with the ranges of releases
where it shows, and the releases where a group appears or goes away.

Built from the stored run reports only (conformance.reports.groups), so a history rendered
from reused reports is the same as one rendered right after the runs. A column that could not
be judged (the run crashed, or pytest ended for its own trouble) breaks every range: nothing
is known there, so no range runs through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conformance.reports.groups import grouped
from conformance.reports.layout import summary

# The kinds of group a history follows, in the order they are shown, and how each is named.
KINDS = ("security", "failure", "error", "finding")
KIND_LABEL = {
    "security": "SECURITY-RELEVANT",
    "failure": "failure",
    "error": "error (not judged)",
    "finding": "finding (secondary)",
}
_PASSING = ("passed", "skipped", None)


@dataclass(frozen=True)
class Column:
    """One release of the history: its report, or why there is none worth reading."""

    name: str
    report: dict[str, Any] | None
    problem: str | None = None  # set: not judged
    reused: bool = False

    @property
    def judged(self) -> bool:
        return self.report is not None and self.problem is None

    @property
    def label(self) -> str:
        version = ((self.report or {}).get("target") or {}).get("version")
        return str(version or self.name.removeprefix("openclaw@"))


def _column_groups(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, signature) -> {"cases": [...], "refs": [...]} for one report."""
    view = grouped(report)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, key in (("failure", "groups"), ("error", "errors"), ("finding", "findings")):
        for g in view[key]:
            out[(kind, str(g.get("signature")))] = {
                "cases": list(g.get("cases") or []),
                "refs": list(g.get("refs") or []),
            }
    for flag in view["security"]:
        out[("security", str(flag.get("security")))] = {
            "cases": list(flag.get("cases") or []),
            "refs": list(flag.get("refs") or []),
        }
    return out


def _spans(present: list[int | None]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive columns with a count; None (not judged) and 0 both end a
    run."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for i, n in enumerate([*present, None]):
        if n:
            start = i if start is None else start
        elif start is not None:
            spans.append((start, i - 1))
            start = None
    return spans


def _count_text(counts: Sequence[int]) -> str:
    lo, hi = min(counts), max(counts)
    noun = "case" if hi == 1 else "cases"
    return f"{lo} {noun}" if lo == hi else f"{lo}\u2013{hi} {noun}"


def range_text(first: str, last: str) -> str:
    return first if first == last else f"{first}\u2013{last}"


def history_from_columns(columns: Sequence[Column]) -> dict[str, Any]:
    """The `history` section of the matrix: `releases`, `groups` (with `spans`), `changes`."""
    per_column = [_column_groups(c.report) if c.judged and c.report else None for c in columns]
    releases = []
    for column, groups in zip(columns, per_column, strict=True):
        entry: dict[str, Any] = {
            "name": column.name,
            "label": column.label,
            "judged": column.judged,
            "problem": column.problem,
            "reused": column.reused,
        }
        if column.report is not None:
            entry["summary"] = summary(column.report, column.report.get("cases") or [])
            entry["duration_s"] = column.report.get("duration_s")
        if groups is not None:
            entry["groups"] = sum(1 for kind, _ in groups if kind == "failure")
            entry["security"] = [sig for kind, sig in groups if kind == "security"]
        releases.append(entry)

    keys: dict[tuple[str, str], list[str]] = {}  # first seen first, with the refs seen
    for groups in per_column:
        for key, data in (groups or {}).items():
            refs = keys.setdefault(key, [])
            refs.extend(r for r in data["refs"] if r not in refs)
    history_groups = []
    for (kind, signature), refs in keys.items():
        counts = [
            None if groups is None else len((groups.get((kind, signature)) or {}).get("cases", []))
            for groups in per_column
        ]
        spans = []
        for first, last in _spans(counts):
            ids: list[str] = []
            for groups in per_column[first : last + 1]:
                ids.extend(i for i in groups[(kind, signature)]["cases"] if i not in ids)  # type: ignore[index]
            span_counts = [n for n in counts[first : last + 1] if n]
            spans.append(
                {
                    "from": columns[first].name,
                    "until": columns[last].name,
                    "text": range_text(columns[first].label, columns[last].label),
                    "releases": last - first + 1,
                    "counts": span_counts,
                    "count_text": _count_text(span_counts),
                    "cases": ids,
                }
            )
        history_groups.append(
            {
                "kind": kind,
                "signature": signature,
                "refs": refs,
                "releases": sum(1 for n in counts if n),
                "spans": spans,
            }
        )
    order = {kind: i for i, kind in enumerate(KINDS)}
    history_groups.sort(key=lambda g: (order[g["kind"]], -g["releases"], g["signature"]))

    changes = []
    previous: int | None = None
    for i, groups in enumerate(per_column):
        if groups is None:
            continue
        if previous is not None:
            before = per_column[previous] or {}
            appeared = [k for k in groups if k not in before]
            gone = [k for k in before if k not in groups]
            if appeared or gone:
                changes.append(
                    {
                        "release": columns[i].name,
                        "label": columns[i].label,
                        "previous": columns[previous].name,
                        "appeared": [{"kind": k, "signature": s} for k, s in appeared],
                        "gone": [{"kind": k, "signature": s} for k, s in gone],
                    }
                )
        previous = i
    return {"releases": releases, "groups": history_groups, "changes": changes}


def quiet_row(row: dict[str, Any], judged: Sequence[str]) -> bool:
    """A case every judged release passed (or could not offer): hidden from the history table,
    which shows where behaviour differs or departs."""
    results = row.get("results") or {}
    return all((results.get(name) or {}).get("outcome") in _PASSING for name in judged)
