"""Failures grouped by cause, from stored report cases."""

from __future__ import annotations

from typing import Any

from conformance.reports.groups import (
    case_signature,
    error_groups,
    failure_groups,
    finding_groups,
    report_groups,
    security_flags,
)


def _case(cid: str, outcome: str, *problems: tuple[str, str], **extra: Any) -> dict[str, Any]:
    axes = {"auth": "token", "locality": "loopback", "device": "none", "client": cid.split(".")[-1]}
    return {
        "id": cid,
        "outcome": outcome,
        "axes": {**axes, "role": "operator"},
        "refs": extra.pop("refs", []),
        "problems": [
            {"field": "x", "cause": cause, "check": check, "text": f"text of {cause}"}
            for cause, check in problems
        ],
        "message": extra.pop("message", ""),
        **extra,
    }


CLEARED = ("enforced scopes cleared", "primary")
METHOD = ("hello-ok.auth.method absent", "secondary")


def test_groups_are_largest_first_and_name_what_their_cases_share() -> None:
    cases = [
        _case("a.cli", "failed", CLEARED, METHOD, refs=["openclaw/openclaw#49180"]),
        _case("b.backend", "failed", CLEARED, refs=["S01", "openclaw/openclaw#49180"]),
        _case("c.cli", "xfailed", ("error.code X instead of NOT_PAIRED", "primary")),
        _case("d.cli", "passed", METHOD),
        _case("e.cli", "skipped"),
    ]
    first, second = failure_groups(cases)
    assert (first.signature, first.cases, first.known) == (
        "enforced scopes cleared",
        ("a.cli", "b.backend"),
        0,
    )
    assert first.refs == ("openclaw/openclaw#49180", "S01")
    assert first.where == {
        "auth": "token",
        "locality": "loopback",
        "device": "none",
        "role": "operator",
    }
    assert first.label == (
        "enforced scopes cleared (auth token, locality loopback, device none, role operator): "
        "2 cases"
    )
    assert second.known == 1 and second.where == {}  # one case shares nothing worth saying
    # a secondary problem never fails a case, and is counted wherever a case was judged
    (finding,) = finding_groups(cases)
    assert (finding.signature, finding.cases) == ("hello-ok.auth.method absent", ("a.cli", "d.cli"))


def test_a_failure_without_problems_is_signed_by_its_message_without_timings() -> None:
    pre = _case(
        "p.node",
        "failed",
        message="precondition departs from the contract: pairing issued no device token (12ms)\n"
        "gateway log...",
    )
    assert case_signature(pre) == (
        "precondition departs from the contract: pairing issued no device token"
    )
    several = _case("m.cli", "failed", CLEARED, ("close code 1000 instead of 1008", "primary"))
    assert case_signature(several) == "enforced scopes cleared + close code 1000 instead of 1008"
    assert case_signature(_case("ok.cli", "passed", METHOD)) is None


def test_errors_group_apart_from_failures() -> None:
    cases = [
        _case(f"cli.{n}", "error", message=f"gateway did not start: port :{40000 + n} in use")
        for n in range(3)
    ]
    assert failure_groups(cases) == []
    (group,) = error_groups(cases)
    assert group.count == 3 and group.signature == "gateway did not start: port in use"


def test_security_flags_list_every_judged_case_of_a_flagged_era() -> None:
    era = {"security": "fix undone", "refs": ["CVE-2026-35625"]}
    cases = [
        _case("s.cli", "passed", era=era, refs=["S14"]),
        _case("t.cli", "failed", CLEARED, era=era),
        _case("u.cli", "skipped", era=era),
    ]
    assert security_flags(cases) == [
        {"security": "fix undone", "cases": ["s.cli", "t.cli"], "refs": ["CVE-2026-35625", "S14"]}
    ]
    view = report_groups(cases)
    assert set(view) == {"groups", "errors", "findings", "security"}
    assert view["groups"][0]["count"] == 1


def test_reports_written_before_checks_count_every_problem_as_primary() -> None:
    old = {"id": "o", "outcome": "failed", "problems": [{"text": "close code 1 != expected 2"}]}
    assert case_signature(old) == "close code 1 != expected 2"
