"""The HTML renderings of the run report and of the matrix, from the Jinja2 templates in
`templates/` with autoescaping on: every value that came from a gateway or a case file
(messages, codes, probe answers, CLI output, ids, titles) is escaped by the environment, so a
hostile or broken gateway cannot script the page.

A page is one self-contained file: `static/report.css` and `static/report.js` are inlined at
render time, nothing is fetched, so it can be attached to a CI run and opened from `file://`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from html import escape as stdlib_escape
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from conformance.reports.facts import (
    Fact,
    expected_facts,
    facts_text,
    observed_facts,
    short_observed,
)
from conformance.reports.groups import SECTIONS, group_from_dict, grouped
from conformance.reports.history import KIND_LABEL
from conformance.reports.layout import (
    AXES,
    OUTCOME_HEADING,
    OUTCOME_LABEL,
    OUTCOME_ORDER,
    SUMMARY_KEYS,
    coverage_text,
    fmt_duration,
    outcome_groups,
    outcome_key,
    outcome_label,
    ref_url,
    summary,
    target_line,
)
from conformance.reports.matrix import cell_case, matrix_order

_PACKAGE = "conformance.reports"
_CHIP_TITLE = {
    "ok": "as expected",
    "extra": "observed, not expected",
    "missing": "expected, missing",
}


def _escape(value: Any) -> Markup:
    """The environment's escaping of every `{{ }}` value (its `finalize`): the standard
    library's entities (`&#x27;`, `&quot;`), which these pages have always written, where
    markupsafe's own would write `&#39;`. Markup (macro output, the inlined assets) passes."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    return Markup(stdlib_escape("" if value is None else str(value), quote=True))


def _asset(name: str) -> Markup:
    """A file of `static/`, trusted (it ships with the package) and inlined as it is. A
    `</style>` or `</script>` in it would end the element early, hence the check."""
    text = resources.files(_PACKAGE).joinpath("static", name).read_text(encoding="utf-8")
    if "</" in text:
        raise ValueError(f"static/{name} must not contain '</' (it is inlined into the page)")
    return Markup(text)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(_PACKAGE, "templates"),
        autoescape=True,
        finalize=_escape,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, not the page
        keep_trailing_newline=True,
    )
    env.filters["ref_url"] = ref_url
    env.globals.update(
        AXES=AXES,
        CHIP_TITLE=_CHIP_TITLE,
        OUTCOME_LABEL=OUTCOME_LABEL,
        OUTCOME_ORDER=OUTCOME_ORDER,
        SUMMARY_KEYS=SUMMARY_KEYS,
    )
    return env


def _page(template: str, title: str, **context: Any) -> str:
    tmpl = environment().get_template(template)
    return tmpl.render(title=title, css=_asset("report.css"), script=_asset("report.js"), **context)


# ---------------------------------------------------------------------------------------------
# the run report


@dataclass(frozen=True)
class _RunRow:
    case: dict[str, Any]
    outcome: str
    label: str
    expected: list[Fact]
    observed: list[Fact]


@dataclass(frozen=True)
class _Subgroup:
    auth: str
    locality: str
    rows: list[_RunRow]


@dataclass(frozen=True)
class _Group:
    outcome: str
    heading: str
    size: int
    subgroups: list[_Subgroup]


def _run_row(case: dict[str, Any]) -> _RunRow:
    outcome = outcome_key(case)
    return _RunRow(
        case, outcome, outcome_label(outcome), expected_facts(case), observed_facts(case)
    )


def run_html(report: dict[str, Any]) -> str:
    """One run as a self-contained page: summary, filters, and table `#cases` with one
    `tr.case` per case, failures first, grouped by outcome then auth x locality."""
    target = report.get("target") or {}
    cases = list(report.get("cases") or [])
    name = str(target.get("name") or "?")
    view = grouped(report)
    groups = [
        _Group(
            outcome,
            OUTCOME_HEADING.get(outcome, outcome),
            sum(len(sub) for _, sub in subgroups),
            [_Subgroup(auth, loc, [_run_row(c) for c in sub]) for (auth, loc), sub in subgroups],
        )
        for outcome, subgroups in outcome_groups(cases)
    ]
    return _page(
        "run.html.j2",
        f"OpenClaw conformance: {name}",
        name=name,
        target_line=target_line(target),
        n_cases=len(cases),
        duration=fmt_duration(report.get("duration_s")),
        schema=report.get("schema", "?"),
        counts=summary(report, cases),
        coverage=coverage_text(report["coverage"]) if report.get("coverage") else "",
        groups=groups,
        causes=[
            (heading, [group_from_dict(g) for g in view[key]])
            for key, heading in SECTIONS
            if view[key]
        ],
        security=view["security"],
    )


# ---------------------------------------------------------------------------------------------
# the matrix


@dataclass(frozen=True)
class _Target:
    target: dict[str, Any]
    line: str
    counts: dict[str, int]
    duration: str


@dataclass(frozen=True)
class _Cell:
    case: dict[str, Any]  # the row with this target's result, as a run-report case
    outcome: str
    label: str
    title: str  # the tooltip: outcome, observed facts, message
    short: str
    observed: list[Fact]


@dataclass(frozen=True)
class _MatrixRow:
    case: dict[str, Any]
    expected: list[Fact]
    cells: list[_Cell | None]  # None: the target's run did not have the case


def _cell(row: dict[str, Any], result: dict[str, Any] | None) -> _Cell | None:
    if result is None:
        return None
    case = cell_case(row, result)
    outcome = outcome_key(result)
    observed = observed_facts(case)
    title = f"{outcome_label(outcome)}: {facts_text(observed)}"
    if result.get("message"):
        title += f"\n{result['message']}"
    short = short_observed(result.get("observed"))
    return _Cell(case, outcome, outcome_label(outcome), title, short, observed)


def matrix_html(matrix: dict[str, Any]) -> str:
    """The matrix as a self-contained page: per-target summary, table `#cases` with one
    `tr.case` per case (`data-differs`), differing rows first and highlighted; each cell shows
    the outcome, with the observation as a tooltip and in a `<details>`."""
    targets = list(matrix.get("targets") or [])
    names = [str(t.get("name")) for t in targets]
    rows = [
        _MatrixRow(c, expected_facts(c), [_cell(c, (c.get("results") or {}).get(n)) for n in names])
        for c in matrix_order(matrix.get("cases") or [])
    ]
    return _page(
        "matrix.html.j2",
        "OpenClaw conformance matrix",
        targets=[
            _Target(t, target_line(t), summary(t), fmt_duration(t.get("duration_s")))
            for t in targets
        ],
        rows=rows,
        n_diff=sum(1 for r in rows if r.case.get("differs")),
        generated_at=matrix.get("generated_at") or "?",
        duration=fmt_duration(matrix.get("duration_s")),
        schema=matrix.get("schema", "?"),
        history=matrix.get("history"),
        kind_label=KIND_LABEL,
        fmt_duration=fmt_duration,
    )
