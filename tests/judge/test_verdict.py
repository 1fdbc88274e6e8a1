"""Judging observations: scope expansion, wire normalisation, and the failure text."""

from __future__ import annotations

import json

from conformance.cases.gateway import GatewaySpec
from conformance.cases.model import Case, CliCase, ClientSpec, Expectation, Severity
from conformance.judge.runner import Observation
from conformance.judge.verdict import Check, Rule, judge, judge_cli, render_failure
from conformance.protocol.client import GatewayError, HandshakeOutcome, RpcResult
from conformance.protocol.scopes import PROBES, implied
from conformance.protocol.scopes import judge as judge_probe

ALL5 = frozenset(PROBES)
READ, WRITE, ADMIN = "operator.read", "operator.write", "operator.admin"


def case(expect: Expectation) -> Case:
    return Case(
        id="t.case",
        severity=Severity.MUST,
        gateway=GatewaySpec(),
        client=ClientSpec("cli", "cli"),
        expect=expect,
        scopes=(READ,),
        refs=("openclaw/openclaw#49180",),
    )


def accepted(protocol: int, reported: list[str] | None, allowed: set[str], token=False):
    auth = None if reported is None else {"scopes": reported, "method": "token"}
    if auth is not None and token:
        auth["deviceToken"] = "t" * 43
    outcome = HandshakeOutcome(
        accepted=True, response=True, hello={"type": "hello-ok", "protocol": protocol, "auth": auth}
    )
    probes = {}
    for scope, (method, _) in PROBES.items():
        if scope in allowed:
            res = RpcResult(
                False, error=GatewayError("INVALID_REQUEST", f"invalid {method} params")
            )
        else:
            code = "FORBIDDEN" if protocol >= 4 else "INVALID_REQUEST"
            res = RpcResult(False, error=GatewayError(code, f"missing scope: {scope}"))
        probes[scope] = judge_probe(scope, method, res)
    return Observation(outcome=outcome, probes=probes)


def test_implied_scopes() -> None:
    assert implied([ADMIN]) == ALL5
    assert implied([WRITE]) == {READ, WRITE}
    assert implied(["operator.talk.secrets"]) == frozenset()


def test_probe_normalises_denial_codes_and_counts_param_errors_as_passed() -> None:
    for code in ("INVALID_REQUEST", "FORBIDDEN"):
        res = RpcResult(False, error=GatewayError(code, "missing scope: operator.read"))
        assert judge_probe(READ, "status", res).allowed is False
    res = RpcResult(False, error=GatewayError("INVALID_REQUEST", "unauthorized role: node"))
    assert judge_probe(READ, "status", res).allowed is False
    res = RpcResult(
        False, error=GatewayError("INVALID_REQUEST", "session mutation target is unavailable")
    )
    assert judge_probe(WRITE, "chat.abort", res).allowed is True
    assert judge_probe(READ, "status", RpcResult(False, transport_error="timeout")).allowed is None


def test_admin_only_grant_passes_all_probes_and_is_reported_as_granted() -> None:
    obs = accepted(4, [ADMIN], set(ALL5))
    assert judge(case(Expectation(True, scopes=frozenset({ADMIN}))), obs).passed


def test_cleared_scopes_fail_with_the_missing_scope_in_the_text() -> None:
    obs = accepted(3, None, set())
    c = case(Expectation(True, scopes=frozenset({READ})))
    verdict = judge(c, obs)
    assert not verdict.passed
    assert verdict.lines == ("enforced scopes [] != expected [operator.read]",)
    text = render_failure(c, obs, verdict, "line1\nline2")
    assert "  - operator.read   (expected, missing)" in text
    assert "missing scope: operator.read" in text
    assert "refs: openclaw/openclaw#49180" in text
    assert text.rstrip().endswith("  line2")


def test_protocol_3_report_is_not_compared_but_protocol_4_is() -> None:
    c = case(Expectation(True, scopes=frozenset({READ})))
    assert judge(c, accepted(3, [ADMIN, READ], {READ})).passed
    verdict = judge(c, accepted(4, [ADMIN, READ], {READ}))
    assert (
        "reported scopes [operator.admin, operator.read] != expected [operator.read]"
        in verdict.lines
    )
    assert any("reports" in p and "but enforces" in p for p in verdict.lines)


def test_missing_report_on_protocol_4_is_a_failure() -> None:
    verdict = judge(case(Expectation(True, scopes=frozenset({READ}))), accepted(4, None, {READ}))
    assert "hello-ok.auth.scopes missing (protocol 4 always reports them)" in verdict.lines


def test_device_token_expectation() -> None:
    c = case(Expectation(True, scopes=frozenset({READ}), device_token=True))
    assert judge(c, accepted(4, [READ], {READ}, token=True)).passed
    assert judge(c, accepted(4, [READ], {READ}, token=False)).lines == (
        "device token not issued, expected one",
    )


def rejected(code, details_code, close, message="m", details=None):
    details = {"code": details_code, **(details or {})} if details_code else (details or {})
    return Observation(
        outcome=HandshakeOutcome(
            response=True, error=GatewayError(code, message, details), close_code=close
        )
    )


def test_rejection_fields() -> None:
    exp = Expectation(
        False,
        error="NOT_PAIRED",
        details_code="PAIRING_REQUIRED",
        details_code_given=True,
        message="pairing required",
        details=(("reason", "not-paired"),),
        close=1008,
    )
    good = rejected(
        "NOT_PAIRED",
        "PAIRING_REQUIRED",
        1008,
        "pairing required: device is not approved yet",
        {"reason": "not-paired"},
    )
    assert judge(case(exp), good).passed
    bad = rejected("INVALID_REQUEST", "X", 1002, "nope", {"reason": "other"})
    assert judge(case(exp), bad).lines == (
        "error.code INVALID_REQUEST != expected NOT_PAIRED",
        "error.details.code X != expected PAIRING_REQUIRED",
        "error.message 'nope' lacks 'pairing required'",
        "error.details.reason 'other' != expected 'not-paired'",
        "close code 1002 != expected 1008",
    )


def test_accepted_when_rejection_expected_names_the_granted_scopes() -> None:
    exp = Expectation(False, error="NOT_PAIRED", close=1008)
    verdict = judge(case(exp), accepted(4, [ADMIN], set(ALL5)))
    assert verdict.lines[0].startswith("expected rejection, observed accepted with scopes [")


def test_no_response_and_http_status() -> None:
    closed = Observation(outcome=HandshakeOutcome(close_code=1009, close_reason=""))
    assert judge(case(Expectation(False, response=False, close=1009)), closed).passed
    assert not judge(case(Expectation(False, response=False, close=1000)), closed).passed
    refused = Observation(outcome=HandshakeOutcome(http_status=403))
    assert judge(case(Expectation(False, http_status=403, response=False)), refused).passed
    assert not judge(case(Expectation(False, error="X", close=1008)), refused).passed


def test_transport_trouble_is_an_error_not_a_verdict() -> None:
    obs = Observation(outcome=HandshakeOutcome(transport_error="no connect.challenge within 5s"))
    verdict = judge(case(Expectation(True, scopes=frozenset())), obs)
    assert verdict.error == "could not judge: no connect.challenge within 5s"


def test_problems_name_the_field_rule_and_values() -> None:
    exp = Expectation(False, error="NOT_PAIRED", message="pairing required", close=1008)
    verdict = judge(case(exp), rejected("INVALID_REQUEST", None, 1002, "nope"))
    assert [(p.field, p.rule, p.expected, p.observed) for p in verdict.problems] == [
        ("error.code", Rule.EQUAL, "NOT_PAIRED", "INVALID_REQUEST"),
        ("error.message", Rule.CONTAINS, "pairing required", "nope"),
        ("close_code", Rule.EQUAL, 1008, 1002),
    ]
    stored = verdict.problems_dicts()
    assert stored[0] == {
        "field": "error.code",
        "rule": "equal",
        "expected": "NOT_PAIRED",
        "observed": "INVALID_REQUEST",
        "text": "error.code INVALID_REQUEST != expected NOT_PAIRED",
        "cause": "error.code INVALID_REQUEST instead of NOT_PAIRED",
        "check": "primary",
    }
    assert stored[1]["check"] == "secondary"  # the wording only explains the decision
    assert json.loads(json.dumps(stored)) == stored  # plain JSON, as the report stores it


def test_scope_problem_holds_the_implied_expectation() -> None:
    verdict = judge(case(Expectation(True, scopes=frozenset({WRITE}))), accepted(3, None, {READ}))
    (problem,) = verdict.problems
    assert (problem.field, problem.expected, problem.observed) == ("scopes", (READ, WRITE), (READ,))
    assert problem.as_dict()["expected"] == [READ, WRITE]


def test_transport_trouble_is_stored_as_a_problem_too() -> None:
    obs = Observation(outcome=HandshakeOutcome(transport_error="timeout"))
    verdict = judge(case(Expectation(True, scopes=frozenset())), obs)
    assert [(p.field, p.rule, p.observed) for p in verdict.problems] == [
        ("transport_error", Rule.ANSWERED, "timeout")
    ]
    assert verdict.headline == "could not judge: timeout"


def cli_case(exit_code: int | None = 0, excludes: tuple[str, ...] = ()) -> CliCase:
    return CliCase(
        id="cli.status",
        severity=Severity.MUST,
        gateway=GatewaySpec(),
        command=("gateway", "status"),
        exit_code=exit_code,
        output_excludes=excludes,
    )


def test_cli_verdict() -> None:
    assert judge_cli(cli_case(), 0, "all good\n", 60).passed
    verdict = judge_cli(
        cli_case(excludes=("missing scope",)), 1, "x\nError: Missing Scope: a\n", 60
    )
    assert verdict.lines == (
        "exit code 1 != expected 0",
        "output reports 'missing scope': Error: Missing Scope: a",
    )
    assert [(p.field, p.rule, p.expected, p.observed) for p in verdict.problems] == [
        ("exit_code", Rule.EQUAL, 0, 1),
        ("output", Rule.EXCLUDES, "missing scope", "Error: Missing Scope: a"),
    ]
    timed_out = judge_cli(cli_case(), None, "", 60)
    assert timed_out.lines == ("`openclaw gateway status` did not finish within 60s",)
    assert timed_out.problems[0].rule is Rule.FINISHED


def test_a_secondary_problem_alone_passes_and_is_reported_as_a_finding() -> None:
    exp = Expectation(True, scopes=frozenset({READ}), auth_method="token")
    obs = accepted(4, [READ], {READ})
    obs.outcome.hello["auth"].pop("method")
    verdict = judge(case(exp), obs)
    assert verdict.passed
    assert [(p.field, p.check) for p in verdict.problems] == [("auth_method", Check.SECONDARY)]
    assert verdict.findings[0].signature == "hello-ok.auth.method absent"
    assert verdict.headline == "secondary: auth method None != expected 'token'"


def test_secondary_problems_ride_along_but_a_primary_one_fails() -> None:
    exp = Expectation(
        False,
        error="NOT_PAIRED",
        details_code="PAIRING_REQUIRED",
        details_code_given=True,
        message="pairing required",
        details=(("recommendedNextStep", "wait_then_retry"),),
        close=1008,
    )
    obs = rejected("NOT_PAIRED", "PAIRING_REQUIRED", 1008, "nope")
    verdict = judge(case(exp), obs)
    assert verdict.passed  # only wording and an optional details field differ
    assert [p.signature for p in verdict.findings] == [
        "error.message lacks 'pairing required'",
        "error.details.recommendedNextStep absent",
    ]
    failing = judge(case(exp), rejected("NOT_PAIRED", "DEVICE_IDENTITY_REQUIRED", 1008, "nope"))
    assert not failing.passed
    assert [p.field for p in failing.primary] == ["error.details_code"]


def test_a_case_may_demote_the_device_token_check() -> None:
    obs = accepted(4, [READ], {READ})
    strict = Expectation(True, scopes=frozenset({READ}), device_token=True)
    assert not judge(case(strict), obs).passed
    lenient = Expectation(
        True, scopes=frozenset({READ}), device_token=True, secondary=frozenset({"device_token"})
    )
    verdict = judge(case(lenient), obs)
    assert verdict.passed
    assert verdict.findings[0].signature == "no device token where one is expected"


def test_scope_causes_name_the_change_not_the_scopes() -> None:
    want = Expectation(True, scopes=frozenset(ALL5))
    cleared = judge(case(want), accepted(3, None, set()))
    narrowed = judge(case(want), accepted(3, None, {READ}))
    widened = judge(case(Expectation(True, scopes=frozenset({READ}))), accepted(3, None, ALL5))
    assert [v.primary[0].signature for v in (cleared, narrowed, widened)] == [
        "enforced scopes cleared",
        "enforced scopes narrowed",
        "enforced scopes widened",
    ]
