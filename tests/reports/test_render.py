"""Unit tests of conformance.reports.render on small hand-made report dicts."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from conformance.judge.verdict import Problem, Rule
from conformance.reports import render
from tests.reports._dom import parse

ALL = [
    "operator.admin",
    "operator.approvals",
    "operator.pairing",
    "operator.read",
    "operator.write",
]
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)> | **bold** [l](javascript:x)"


def _case(cid: str, outcome: str, **over: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "id": cid,
        "title": f"title of {cid}",
        "axes": {
            "auth": "token",
            "locality": "loopback",
            "device": "none",
            "client": "cli/cli",
            "role": "operator",
        },
        "severity": "must",
        "refs": [],
        "outcome": outcome,
        "expected": {"accepted": True, "scopes": ["operator.read"], "device_token": False},
        "observed": {
            "accepted": True,
            "scopes": ["operator.read"],
            "reported_scopes": None,
            "error": None,
            "close_code": None,
            "http_status": None,
            "protocol": 3,
            "device_token": False,
            "auth_method": None,
            "transport_error": None,
            "probes": {"operator.read": "operator.read via status: allowed (ok)"},
        },
        "message": "",
        "duration_s": 0.01,
    }
    case.update(over)
    return case


def _rejected(code: str = "NOT_PAIRED", details: str = "PAIRING_REQUIRED") -> dict[str, Any]:
    return {
        "accepted": False,
        "scopes": None,
        "reported_scopes": None,
        "error": {"code": code, "details_code": details, "message": "pairing required"},
        "close_code": 1008,
        "http_status": None,
        "protocol": None,
        "device_token": None,
        "auth_method": None,
        "transport_error": None,
        "probes": {},
    }


def _report(cases: list[dict[str, Any]], name: str = "reference@2026.3.13") -> dict[str, Any]:
    summary = dict.fromkeys(render.SUMMARY_KEYS, 0)
    for c in cases:
        summary["errors" if c["outcome"] == "error" else c["outcome"]] += 1
    return {
        "schema": render.RUN_SCHEMA,
        "target": {"kind": "reference", "name": name, "version": "2026.3.13", "protocol": 3},
        "duration_s": 1.5,
        "summary": summary,
        "cases": cases,
    }


def _problem(field: str, rule: Rule, expected: Any, observed: Any, text: str) -> dict[str, Any]:
    """A problem as the verdict stores it with a case (reports show them, never judge)."""
    return Problem(field, rule, expected, observed, text).as_dict()


def _md_cells(line: str) -> list[str]:
    """The cells of a Markdown table row: split on the pipes GFM would split on (unescaped)."""
    assert line.startswith("|") and line.endswith("|"), line
    return re.split(r"(?<!\\)\|", line[1:-1])


def _md_tables(md: str) -> list[list[str]]:
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


MIXED = [
    _case("a.passed", "passed"),
    _case("b.skipped", "skipped", observed=None, message="skipped: no CLI"),
    _case("c.xfailed", "xfailed", message="known bug"),
    _case("d.failed", "failed", observed=_rejected(), message="expected accepted"),
    _case("e.xpassed", "xpassed"),
    _case("f.error", "error", message="could not judge"),
]


# ---------------------------------------------------------------------------------------------
# run report


def test_run_html_has_one_case_row_per_case_failures_first() -> None:
    page = parse(render.run_html(_report(MIXED)))
    assert [r["data-outcome"] for r in page.rows] == [
        "failed",
        "error",
        "xpassed",
        "xfailed",
        "skipped",
        "passed",
    ]
    assert [r["data-id"] for r in page.rows] == [
        "d.failed",
        "f.error",
        "e.xpassed",
        "c.xfailed",
        "b.skipped",
        "a.passed",
    ]
    assert all(r["class"] == "case" for r in page.rows)


def test_run_html_groups_by_auth_and_locality_within_an_outcome() -> None:
    remote = copy.deepcopy(MIXED[3])
    remote["id"], remote["axes"]["locality"] = "d.remote", "remote"
    cases = [remote, MIXED[3], _case("z.none", "failed", axes={**MIXED[3]["axes"], "auth": "none"})]
    out = render.run_html(_report(cases))
    ids = [r["data-id"] for r in parse(out).rows]
    # auth none < token; within token: loopback < remote
    assert ids == ["z.none", "d.failed", "d.remote"]
    assert out.count('class="subgroup"') == 3


def test_run_html_escapes_gateway_text_everywhere() -> None:
    obs = _rejected()
    obs["error"]["message"] = HOSTILE
    obs["error"]["code"] = "<b>CODE</b>"
    hostile = _case(
        'x"><script>alert(2)</script>',
        "failed",
        title=HOSTILE,
        message=HOSTILE,
        observed=obs,
        refs=[HOSTILE, "javascript:alert(1)"],
        axes={"auth": "<i>a</i>", "locality": "l", "device": "d", "client": "c", "role": "r"},
    )
    out = render.run_html(_report([hostile]))
    page = parse(out)
    assert page.tags.get("script") == 1  # only the page's own filter script
    assert "img" not in page.tags and "i" not in page.tags
    assert "<script>alert" not in out
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in out
    assert not any(link.startswith("javascript:") for link in page.links)
    assert [r["data-id"] for r in page.rows] == ['x"><script>alert(2)</script>']


def test_run_html_is_self_contained() -> None:
    out = render.run_html(_report(MIXED))
    assert out.startswith("<!DOCTYPE html>")
    assert '<table id="cases">' in out
    # no external assets: nothing is fetched (links to upstream pages are plain anchors)
    assert not re.search(r"<(link|img|iframe)\b", out)
    assert not re.search(r"\ssrc=", out)
    assert "@import" not in out and "url(" not in out


@pytest.mark.parametrize(
    ("ref", "url"),
    [
        ("openclaw/openclaw#49180", "https://github.com/openclaw/openclaw/issues/49180"),
        ("GHSA-rqpp-rjj8-7wv8", "https://github.com/advisories/GHSA-rqpp-rjj8-7wv8"),
        ("CVE-2026-35625", "https://nvd.nist.gov/vuln/detail/CVE-2026-35625"),
        ("S16", None),
        ("javascript:alert(1)", None),
        ("see the docs", None),
    ],
)
def test_ref_url(ref: str, url: str | None) -> None:
    assert render.ref_url(ref) == url


def test_refs_are_linked_in_html_and_markdown() -> None:
    refs = ["openclaw/openclaw#49180", "GHSA-rqpp-rjj8-7wv8", "CVE-2026-35625", "S16"]
    report = _report([_case("a", "failed", refs=refs, observed=_rejected())])
    page = parse(render.run_html(report))
    assert page.links == [
        "https://github.com/openclaw/openclaw/issues/49180",
        "https://github.com/advisories/GHSA-rqpp-rjj8-7wv8",
        "https://nvd.nist.gov/vuln/detail/CVE-2026-35625",
    ]
    md = render.run_markdown(report)
    assert (
        "[openclaw/openclaw\\#49180](https://github.com/openclaw/openclaw/issues/49180)" in md
        or "[openclaw/openclaw#49180](https://github.com/openclaw/openclaw/issues/49180)" in md
    )
    assert "[GHSA-rqpp-rjj8-7wv8](https://github.com/advisories/GHSA-rqpp-rjj8-7wv8)" in md
    assert "[CVE-2026-35625](https://nvd.nist.gov/vuln/detail/CVE-2026-35625)" in md
    assert "S16" in md and "(S16)" not in md


def test_scope_diff_marks_missing_and_extra_scopes() -> None:
    case = _case(
        "a",
        "failed",
        expected={"accepted": True, "scopes": ["operator.read", "operator.approvals"]},
        observed={
            **_case("x", "passed")["observed"],
            "scopes": ["operator.read", "operator.pairing"],
        },
        problems=[
            _problem(
                "scopes",
                Rule.EQUAL,
                ("operator.approvals", "operator.read"),
                ("operator.pairing", "operator.read"),
                "enforced scopes [operator.pairing, operator.read] != expected "
                "[operator.approvals, operator.read]",
            )
        ],
    )
    diff = render.scope_diff(case)
    assert diff is not None
    assert diff.missing == {"operator.approvals"}
    assert diff.extra == {"operator.pairing"}
    out = render.run_html(_report([case]))
    assert '<span class="chip extra" title="observed, not expected">+operator.pairing</span>' in out
    assert (
        '<span class="chip missing" title="expected, missing">&minus;operator.approvals</span>'
        in out
    )
    md = render.run_markdown(_report([case]))
    assert "**+operator.pairing**" in md and "**\u2212operator.approvals**" in md


def test_scope_diff_uses_implication_for_enforced_scopes() -> None:
    # write satisfies read and admin satisfies every probe: not "extra" scopes
    case = _case(
        "a",
        "passed",
        expected={"accepted": True, "scopes": ["operator.admin"]},
        observed={**_case("x", "passed")["observed"], "scopes": ALL},
    )
    diff = render.scope_diff(case)
    assert diff is not None and not diff.missing and not diff.extra


def test_rejection_facts_flag_the_wrong_code() -> None:
    case = _case(
        "a",
        "failed",
        expected={
            "accepted": False,
            "error": {"code": "NOT_PAIRED", "details_code": "PAIRING_REQUIRED"},
            "close_code": 1008,
        },
        observed=_rejected("INVALID_REQUEST", "AUTH_UNAUTHORIZED"),
        problems=[
            _problem(
                "error.code",
                Rule.EQUAL,
                "NOT_PAIRED",
                "INVALID_REQUEST",
                "error.code INVALID_REQUEST != expected NOT_PAIRED",
            ),
            _problem(
                "error.details_code",
                Rule.EQUAL,
                "PAIRING_REQUIRED",
                "AUTH_UNAUTHORIZED",
                "error.details.code AUTH_UNAUTHORIZED != expected PAIRING_REQUIRED",
            ),
        ],
    )
    facts = render.observed_facts(case)
    bad = [f.text for f in facts if f.bad]
    assert bad == ["error INVALID_REQUEST / AUTH_UNAUTHORIZED"]
    assert "close 1008" in [f.text for f in facts]


def test_cli_case_renders_exit_code_and_output_tail() -> None:
    case = _case(
        "cli.devices-list",
        "failed",
        expected={"exit_code": 0, "output_excludes": ["missing scope"]},
        observed={"exit_code": 1, "seconds": 2.5, "output_tail": ["Error: missing scope: x"]},
        problems=[
            _problem("exit_code", Rule.EQUAL, 0, 1, "exit code 1 != expected 0"),
            _problem(
                "output",
                Rule.EXCLUDES,
                "missing scope",
                "Error: missing scope: x",
                "output reports 'missing scope': Error: missing scope: x",
            ),
        ],
    )
    out = render.run_html(_report([case]))
    assert '<span class="bad">exit 1</span>' in out
    assert "output contains &#x27;missing scope&#x27;" in out
    assert "<summary>output tail</summary><pre>Error: missing scope: x</pre>" in out


def test_run_markdown_shape_and_escaping() -> None:
    hostile = _case("h", "failed", message=HOSTILE, observed=_rejected())
    md = render.run_markdown(_report([*MIXED, hostile]))
    assert md.startswith("# OpenClaw conformance: reference@2026.3.13\n")
    headings = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert [h.split(" (")[0] for h in headings] == [
        "## Failures by cause",
        "## Errors: cases the harness could not judge",
        "## Failed",
        "## Errors",
        "## Unexpectedly passed",
        "## Expected failures",
        "## Skipped",
        "## Passed",
    ]
    tables = _md_tables(md)
    # the summary, the failures and errors by cause, then one auth x locality table per outcome
    assert len(tables) == 1 + 2 + 6
    for table in tables:
        widths = {len(_md_cells(line)) for line in table}
        assert len(widths) == 1, table  # the hostile pipe did not add a cell
        assert re.fullmatch(r"\|(:?-+:?\|)+", table[1])
    assert len(tables[0]) == 3  # header, separator, one target row
    # one row per case in the outcome tables (the cause tables list groups)
    assert sum(len(t) - 2 for t in tables[3:]) == len(MIXED) + 1
    # every "<" is escaped except the renderer's own <br> line breaks inside cells
    assert not re.search(r"(?<!\\)<(?!br>)", md)
    assert "\\<script\\>" in md


# ---------------------------------------------------------------------------------------------
# matrix


def _two_reports() -> tuple[dict[str, Any], dict[str, Any]]:
    old = _report(
        [
            _case("same", "passed"),
            _case("outcome-differs", "failed", observed=_rejected()),
            _case(
                "scopes-differ",
                "passed",
                observed={**_case("x", "passed")["observed"], "scopes": ALL},
            ),
            _case("only-old", "passed"),
        ],
        name="reference@2026.3.13",
    )
    new = _report(
        [
            _case("same", "passed"),
            _case("outcome-differs", "passed"),
            _case("scopes-differ", "passed"),
            _case("only-new", "skipped", observed=None),
        ],
        name="reference",
    )
    new["target"]["version"], new["target"]["protocol"] = "2026.9.6", 4
    return old, new


def test_matrix_from_reports() -> None:
    old, new = _two_reports()
    m = render.matrix_from_reports([old, new], generated_at="2026-01-01T00:00:00Z")
    assert m["schema"] == render.MATRIX_SCHEMA
    assert m["generated_at"] == "2026-01-01T00:00:00Z"
    assert [t["name"] for t in m["targets"]] == ["reference@2026.3.13", "reference"]
    assert m["targets"][1]["protocol"] == 4
    rows = {c["id"]: c for c in m["cases"]}
    assert list(rows) == ["same", "outcome-differs", "scopes-differ", "only-old", "only-new"]
    assert {cid: c["differs"] for cid, c in rows.items()} == {
        "same": False,
        "outcome-differs": True,
        "scopes-differ": True,  # both passed, but observed different scopes
        "only-old": False,  # a missing case is null, not a difference
        "only-new": False,
    }
    assert rows["only-old"]["results"]["reference"] is None
    assert rows["only-new"]["results"]["reference@2026.3.13"] is None
    assert rows["outcome-differs"]["results"]["reference"]["outcome"] == "passed"
    assert m["duration_s"] == 3.0


def test_matrix_from_reports_keeps_duplicate_target_names_apart() -> None:
    old, _ = _two_reports()
    m = render.matrix_from_reports([old, copy.deepcopy(old)])
    assert [t["name"] for t in m["targets"]] == ["reference@2026.3.13", "reference@2026.3.13#2"]
    assert all(len(c["results"]) == 2 for c in m["cases"])


def test_matrix_html_rows_differing_first_and_highlighted() -> None:
    m = render.matrix_from_reports(list(_two_reports()))
    out = render.matrix_html(m)
    page = parse(out)
    assert len(page.rows) == len(m["cases"])
    assert [(r["data-id"], r["data-differs"]) for r in page.rows][:2] == [
        ("outcome-differs", "true"),
        ("scopes-differ", "true"),
    ]
    assert {r["data-differs"] for r in page.rows[2:]} == {"false"}
    assert "tr.case[data-differs=true]{background" in out
    # the cell's observation is in its tooltip and in a <details>
    assert 'title="FAIL: rejected; error NOT_PAIRED / PAIRING_REQUIRED' in out
    assert page.tags.get("details", 0) >= 6
    assert page.tags.get("script") == 1


def test_matrix_html_escapes() -> None:
    old, new = _two_reports()
    new["cases"][1]["message"] = HOSTILE
    new["target"]["name"] = "<script>alert(1)</script>"
    out = render.matrix_html(render.matrix_from_reports([old, new]))
    assert parse(out).tags.get("script") == 1
    assert "<img" not in out


def test_matrix_markdown_shape() -> None:
    m = render.matrix_from_reports(list(_two_reports()))
    md = render.matrix_markdown(m)
    assert md.startswith("# OpenClaw conformance matrix\n")
    assert "Legend:" in md
    summary, grid = _md_tables(md)
    assert len(summary) == 2 + 2
    assert _md_cells(grid[0])[3:] == [" `reference@2026.3.13` ", " `reference` "]
    assert {len(_md_cells(line)) for line in grid} == {5}
    body = grid[2:]
    assert len(body) == len(m["cases"])
    marked = [_md_cells(line)[1].strip() for line in body if "**Δ**" in line]
    assert marked == ["`outcome-differs`", "`scopes-differ`"]  # listed first
    row = {_md_cells(line)[1].strip(): _md_cells(line) for line in body}
    assert [c.strip() for c in row["`outcome-differs`"][3:]] == ["✗", "✓"]
    assert [c.strip() for c in row["`only-old`"][3:]] == ["✓", "·"]
    assert [c.strip() for c in row["`only-new`"][3:]] == ["·", "\u2013"]
    section = md.split("## Rows that differ (2)\n", 1)[1]
    items = [ln for ln in section.splitlines() if ln.startswith("- ")]
    assert [i.split(":")[0] for i in items] == ["- `outcome-differs`", "- `scopes-differ`"]
    assert "FAIL (rejected NOT\\_PAIRED/PAIRING\\_REQUIRED)" in items[0]
    assert "pass (accepted {admin,approvals,pairing,read,write})" in items[1]


def test_a_skip_is_not_a_difference() -> None:
    from conformance.reports.render import row_differs

    ran = {"outcome": "passed", "observed": {"accepted": True, "scopes": ["operator.read"]}}
    assert not row_differs({"a": ran, "b": {"outcome": "skipped", "observed": None}, "c": None})
    failed = {"outcome": "failed", "observed": {"accepted": True, "scopes": []}}
    assert row_differs({"a": ran, "b": failed, "c": {"outcome": "skipped", "observed": None}})
