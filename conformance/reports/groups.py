"""Failures grouped by cause: the cases of a run that depart for the same reason, as one line
with its count, so one missing optional field or one regression reads as one finding, not as
a hundred failed cases.

Everything here reads the stored run report (its `cases`), so the terminal summary, the
Markdown/HTML reports, the matrix and the release history group the same way. A case's
signature is the `cause` of each of its primary problems (conformance.judge.verdict), joined
in the order found; a failure recorded without problems (a precondition the release departs
from) is signed by its message. Secondary problems never fail a case: they are `findings`,
grouped the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Outcomes whose cases form failure groups: a departure, baselined (xfailed) or not.
FAILING = ("failed", "xfailed")
AXES = ("auth", "locality", "device", "client", "role")
# Timings and ports differ from case to case without changing the cause.
_VOLATILE = re.compile(r"\(\d+(?:\.\d+)?\s?m?s\)|\b\d+(?:\.\d+)?\s?m?s\b|:\d{4,5}\b")


@dataclass(frozen=True)
class Group:
    signature: str
    cases: tuple[str, ...]
    refs: tuple[str, ...]  # the cases' upstream references, first seen first
    where: dict[str, str]  # the axes every case of the group shares (only for 2 cases or more)
    known: int = 0  # how many of the cases a baseline expects to fail (xfailed)

    @property
    def count(self) -> int:
        return len(self.cases)

    @property
    def label(self) -> str:
        """`signature (auth token, device none): N cases`, the line every rendering shows."""
        where = ", ".join(f"{axis} {value}" for axis, value in self.where.items())
        noun = "case" if self.count == 1 else "cases"
        return f"{self.signature}{f' ({where})' if where else ''}: {self.count} {noun}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "count": self.count,
            "cases": list(self.cases),
            "refs": list(self.refs),
            "where": dict(self.where),
            "known": self.known,
        }


def _first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    # Removing a volatile part can leave two spaces where it was.
    return " ".join(_VOLATILE.sub("", line).split()).strip(" ;:")


def _causes(case: dict[str, Any], check: str) -> list[str]:
    causes: list[str] = []
    for problem in case.get("problems") or []:
        # Reports written before checks existed: every problem was primary.
        if problem.get("check", "primary") == check:
            cause = problem.get("cause") or problem.get("text") or ""
            if cause and cause not in causes:
                causes.append(cause)
    return causes


def case_signature(case: dict[str, Any]) -> str | None:
    """Why a failing (or erroring) case failed, without its own values; None for others."""
    outcome = case.get("outcome")
    if outcome not in (*FAILING, "error"):
        return None
    causes = _causes(case, "primary") if outcome != "error" else []
    if causes:
        return " + ".join(causes)
    return _first_line(case.get("message") or "") or str(outcome)


def case_findings(case: dict[str, Any]) -> list[str]:
    """The secondary problems of a case that was judged."""
    if case.get("outcome") in ("skipped", "error"):
        return []
    return _causes(case, "secondary")


def _shared_axes(cases: Sequence[dict[str, Any]]) -> dict[str, str]:
    if len(cases) < 2:
        return {}
    first = cases[0].get("axes") or {}
    return {
        axis: first[axis]
        for axis in AXES
        if axis in first and all((c.get("axes") or {}).get(axis) == first[axis] for c in cases)
    }


def _group(by_signature: dict[str, list[dict[str, Any]]]) -> list[Group]:
    groups = []
    for signature, members in by_signature.items():
        refs = tuple(dict.fromkeys(r for c in members for r in c.get("refs") or []))
        groups.append(
            Group(
                signature=signature,
                cases=tuple(str(c.get("id")) for c in members),
                refs=refs,
                where=_shared_axes(members),
                known=sum(1 for c in members if c.get("outcome") == "xfailed"),
            )
        )
    # Largest first; ties by signature so the order is stable from run to run.
    return sorted(groups, key=lambda g: (-g.count, g.signature))


def failure_groups(cases: Iterable[dict[str, Any]]) -> list[Group]:
    """The failing cases (failed, and baselined xfailed) grouped by signature."""
    by: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        if case.get("outcome") in FAILING:
            by.setdefault(case_signature(case) or "?", []).append(case)
    return _group(by)


def error_groups(cases: Iterable[dict[str, Any]]) -> list[Group]:
    """The cases the harness could not judge, grouped by their reason."""
    by: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        if case.get("outcome") == "error":
            by.setdefault(case_signature(case) or "error", []).append(case)
    return _group(by)


def finding_groups(cases: Iterable[dict[str, Any]]) -> list[Group]:
    """Secondary problems: one group per cause, counting every judged case that shows it."""
    by: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        for cause in case_findings(case):
            by.setdefault(cause, []).append(case)
    return _group(by)


def security_flags(cases: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cases judged under an era that undoes a security fix with no recorded upstream decision:
    never silently accepted contract, so every report lists them, whatever their outcome."""
    by: dict[str, dict[str, Any]] = {}
    for case in cases:
        era = case.get("era") or {}
        text = era.get("security")
        if not text or case.get("outcome") == "skipped":
            continue
        entry = by.setdefault(text, {"security": text, "cases": [], "refs": []})
        entry["cases"].append(str(case.get("id")))
        for ref in [*(era.get("refs") or []), *(case.get("refs") or [])]:
            if ref not in entry["refs"]:
                entry["refs"].append(ref)
    return sorted(by.values(), key=lambda e: (-len(e["cases"]), e["security"]))


def report_groups(cases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run report's grouped view: `groups`, `errors`, `findings`, `security`."""
    return {
        "groups": [g.as_dict() for g in failure_groups(cases)],
        "errors": [g.as_dict() for g in error_groups(cases)],
        "findings": [g.as_dict() for g in finding_groups(cases)],
        "security": security_flags(cases),
    }


def group_from_dict(data: dict[str, Any]) -> Group:
    return Group(
        signature=str(data.get("signature")),
        cases=tuple(data.get("cases") or ()),
        refs=tuple(data.get("refs") or ()),
        where=dict(data.get("where") or {}),
        known=int(data.get("known") or 0),
    )


def grouped(report: dict[str, Any]) -> dict[str, Any]:
    """A stored report's grouped view; computed from its cases for a report written before
    groups were stored."""
    if "groups" in report:
        return {key: report.get(key) or [] for key in ("groups", "errors", "findings", "security")}
    return report_groups(list(report.get("cases") or []))


SECTIONS = (
    ("groups", "Failures by cause"),
    ("errors", "Errors: cases the harness could not judge"),
    ("findings", "Findings of secondary checks (never failing a case)"),
)
