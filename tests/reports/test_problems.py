"""The verdict's problems stored in the report are what the Markdown and HTML show: the
renderers display them and never judge the observation again."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from conformance.cases.gateway import GatewaySpec
from conformance.cases.model import Case, ClientSpec, Expectation, Severity
from conformance.judge.runner import Observation
from conformance.judge.verdict import judge
from conformance.protocol.client import GatewayError, HandshakeOutcome
from conformance.reports import render
from conformance.reports.data import CaseRecord, RunReport
from tests.reports._dom import parse

EXPECT = Expectation(
    False,
    error="NOT_PAIRED",
    details_code="PAIRING_REQUIRED",
    details_code_given=True,
    details=(("reason", "not-paired"),),
    close=1008,
)


def _case() -> Case:
    return Case(
        id="t.rejected",
        severity=Severity.MUST,
        gateway=GatewaySpec(),
        client=ClientSpec("cli", "cli"),
        expect=EXPECT,
        scopes=("operator.read",),
    )


def _observation() -> Observation:
    error = GatewayError("NOT_PAIRED", "pairing required", {"code": "X", "reason": "other"})
    return Observation(outcome=HandshakeOutcome(response=True, error=error, close_code=1008))


def _report_case(tmp_path: Path) -> dict[str, Any]:
    """One judged case, recorded and written the way the plugin does, read back as JSON."""
    case, obs = _case(), _observation()
    verdict = judge(case, obs)
    run = RunReport("reference", "reference")
    run.records[case.id] = CaseRecord(
        case,
        "failed",
        observed=obs.as_dict(),
        message=verdict.headline,
        problems=verdict.problems_dicts(),
    )
    run.write(tmp_path / "report.json")
    return json.loads((tmp_path / "report.json").read_text())["cases"][0]


def test_the_report_stores_the_verdicts_problems(tmp_path: Path) -> None:
    stored = _report_case(tmp_path)
    assert stored["problems"] == [
        {
            "field": "error.details_code",
            "rule": "equal",
            "expected": "PAIRING_REQUIRED",
            "observed": "X",
            "text": "error.details.code X != expected PAIRING_REQUIRED",
            "cause": "error.details.code X instead of PAIRING_REQUIRED",
            "check": "primary",
        },
        {
            "field": "error.details.reason",
            "rule": "equal",
            "expected": "not-paired",
            "observed": "other",
            "text": "error.details.reason 'other' != expected 'not-paired'",
            "cause": "error.details.reason 'other' instead of 'not-paired'",
            "check": "secondary",
        },
    ]
    assert stored["message"] == (
        "error.details.code X != expected PAIRING_REQUIRED; "
        "secondary: error.details.reason 'other' != expected 'not-paired'"
    )
    assert stored["signature"] == "error.details.code X instead of PAIRING_REQUIRED"
    assert stored["findings"] == ["error.details.reason 'other' instead of 'not-paired'"]


def test_html_and_markdown_flag_exactly_the_stored_problems(tmp_path: Path) -> None:
    case = _report_case(tmp_path)
    facts = render.observed_facts(case)
    assert [f.text for f in facts if f.bad] == [
        "error NOT_PAIRED / X",  # the details code is part of the error line
        # details are not in `observed`: the problem gets its own line, the verdict's text
        "error.details.reason 'other' != expected 'not-paired'",
    ]
    assert [f.text for f in facts if not f.bad] == [
        "rejected",
        "message 'pairing required'",
        "close 1008",
    ]
    report = {"target": {"name": "t"}, "cases": [case]}
    page = render.run_html(report)
    assert '<span class="bad">error NOT_PAIRED / X</span>' in page
    assert (
        '<span class="bad">error.details.reason &#x27;other&#x27; != expected '
        "&#x27;not-paired&#x27;</span>" in page
    )
    assert page.count('class="bad"') == 2
    md = render.run_markdown(report)
    assert "**error NOT\\_PAIRED / X** ⚠" in md
    assert "**error.details.reason 'other' != expected 'not-paired'** ⚠" in md
    # the matrix cell shows the same, from the same stored problems
    matrix = render.matrix_from_reports([report])
    assert matrix["cases"][0]["results"]["t"]["problems"] == case["problems"]
    assert render.matrix_html(matrix).count('class="bad"') == 2


def test_renderers_do_not_judge_again(tmp_path: Path) -> None:
    case = _report_case(tmp_path)
    # The observation contradicts the expectation, but what is flagged is the verdict's call:
    # without stored problems (a report from before they were stored) nothing is flagged...
    unjudged = {k: v for k, v in case.items() if k != "problems"}
    assert not any(f.bad for f in render.observed_facts(unjudged))
    assert 'class="bad"' not in render.run_html({"cases": [unjudged]})
    # ...and a problem on a field is flagged on that field's line, whatever the values say.
    closed = copy.deepcopy(case)
    closed["problems"] = [{"field": "close_code", "rule": "equal", "text": "close code 1008 != x"}]
    assert [f.text for f in render.observed_facts(closed) if f.bad] == ["close 1008"]


def test_scope_chips_come_from_the_stored_scope_problem() -> None:
    case = {
        "id": "s",
        "outcome": "failed",
        "expected": {"accepted": True, "scopes": ["operator.write"]},
        "observed": {"accepted": True, "scopes": ["operator.admin", "operator.read"]},
        "problems": [
            {
                "field": "scopes",
                "rule": "equal",
                # what the verdict compared with: write closed under implication
                "expected": ["operator.read", "operator.write"],
                "observed": ["operator.admin", "operator.read"],
                "text": "enforced scopes [operator.admin, operator.read] != expected "
                "[operator.read, operator.write]",
            }
        ],
    }
    diff = render.scope_diff(case)
    assert diff is not None
    assert diff.missing == {"operator.write"} and diff.extra == {"operator.admin"}
    chips = next(f for f in render.observed_facts(case) if f.scopes is not None)
    assert chips.bad
    assert chips.scopes == (
        ("operator.admin", "extra"),
        ("operator.read", "ok"),
        ("operator.write", "missing"),
    )
    md = render.run_markdown({"cases": [case]})
    assert "**+operator.admin**" in md and "**\u2212operator.write**" in md


def test_a_page_parses_with_one_row_per_stored_case(tmp_path: Path) -> None:
    case = _report_case(tmp_path)
    page = parse((tmp_path / "report.html").read_text())
    assert [r["data-id"] for r in page.rows] == [case["id"]]
