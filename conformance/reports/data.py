"""The machine-readable run report: schema `openclaw-conformance/report/v1` of DESIGN.md."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.cases.model import Case, CliCase
from conformance.reports import html, markdown
from conformance.reports.groups import case_findings, case_signature, report_groups
from conformance.reports.layout import coverage_text
from conformance.reports.schema import DIFFERENTIAL_SCHEMA, RUN_SCHEMA


@dataclass
class CaseRecord:
    case: Case | CliCase
    outcome: str
    observed: dict[str, Any] | None = None
    message: str = ""
    duration_s: float = 0.0
    differential: dict[str, Any] | None = None  # kept out of the v1 report; see write()
    need: str | None = None  # for a skipped case: what would let it run (a Need's value)
    # The verdict's problems (conformance.judge.verdict.Problem.as_dict), None when not judged.
    problems: list[dict[str, Any]] | None = None
    # The era of the contract the case was judged by (conformance.cases.model.Era.as_dict) and
    # that era's expectation; None: the current contract.
    era: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "id": self.case.id,
            "title": self.case.title,
            "axes": self.case.axes,
            "severity": self.case.severity.value,
            "refs": list(self.case.refs),
            "outcome": self.outcome,
            "expected": self.expected if self.expected is not None else self.case.expected_dict(),
            "era": self.era,
            "observed": self.observed,
            "message": self.message,
            "problems": self.problems,
            "duration_s": round(self.duration_s, 4),
        }
        out["signature"] = case_signature(out)
        out["findings"] = case_findings(out)
        return out


@dataclass
class RunReport:
    target_kind: str
    target_name: str
    target_version: str | None = None
    target_protocol: int | None = None
    duration_s: float = 0.0
    records: dict[str, CaseRecord] = field(default_factory=dict)
    matrix_size: int = 0  # handshake cases in the matrix, selected or not
    hint: str = ""  # how to run what this target could not

    def coverage(self) -> dict[str, Any]:
        """How much of the matrix this run judged, and what the rest needs."""
        handshake = [r for r in self.records.values() if isinstance(r.case, Case)]
        ran = [r for r in handshake if r.outcome != "skipped"]
        needs: dict[str, int] = {}
        for rec in handshake:
            if rec.outcome == "skipped":
                key = rec.need or "something else"
                needs[key] = needs.get(key, 0) + 1
        return {
            "matrix": self.matrix_size or len(handshake),
            "selected": len(handshake),
            "ran": len(ran),
            "not_run": dict(sorted(needs.items(), key=lambda kv: (-kv[1], kv[0]))),
            "hint": self.hint,
        }

    def coverage_line(self) -> str:
        return coverage_text(self.coverage())

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(("passed", "failed", "xfailed", "xpassed", "skipped"), 0)
        counts["errors"] = 0
        for rec in self.records.values():
            counts["errors" if rec.outcome == "error" else rec.outcome] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        cases = [rec.as_dict() for rec in self.records.values()]
        return {
            "schema": RUN_SCHEMA,
            "target": {
                "kind": self.target_kind,
                "name": self.target_name,
                "version": self.target_version,
                "protocol": self.target_protocol,
            },
            "duration_s": round(self.duration_s, 3),
            "summary": self.summary(),
            "coverage": self.coverage(),
            "cases": cases,
            **report_groups(cases),
        }

    def differential(self) -> dict[str, Any] | None:
        rows = [
            {"id": rec.case.id, **rec.differential}
            for rec in self.records.values()
            if rec.differential is not None
        ]
        if not rows:
            return None
        return {
            "schema": DIFFERENTIAL_SCHEMA,
            "target": self.target_name,
            "differing": [r["id"] for r in rows if r["differs"]],
            "cases": rows,
        }

    def write(self, path: Path) -> None:
        """The v1 report at `path`, its Markdown and HTML renderings beside it (`.md`, `.html`);
        a differential run also writes `<path stem>.differential.json`, so the v1 schema stays
        exactly as documented."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.as_dict()
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        path.with_suffix(".md").write_text(markdown.run_markdown(data), encoding="utf-8")
        path.with_suffix(".html").write_text(html.run_html(data), encoding="utf-8")
        diff = self.differential()
        if diff is not None:
            side = path.with_name(path.stem + ".differential.json")
            side.write_text(json.dumps(diff, indent=2) + "\n", encoding="utf-8")
