"""The one comparison of behaviour: what the differential, the matrix's `differs` and bisect
count as "the same", and what they leave out (ids, nonces, messages, timings)."""

from __future__ import annotations

from typing import Any

from conformance.commands.bisect import Probe
from conformance.judge.compare import (
    Answer,
    Behaviour,
    all_same,
    differences,
    observed_behaviour,
    same_behaviour,
)
from conformance.judge.runner import Observation
from conformance.protocol.client import GatewayError, HandshakeOutcome, RpcResult
from conformance.protocol.scopes import PROBES
from conformance.protocol.scopes import judge as judge_probe
from conformance.reports.matrix import row_differs

READ = "operator.read"


def rejected(message: str, request_id: str, nonce: str, reason: str = "not-paired") -> Observation:
    details = {"code": "PAIRING_REQUIRED", "requestId": request_id, "reason": reason}
    return Observation(
        outcome=HandshakeOutcome(
            response=True,
            error=GatewayError("NOT_PAIRED", message, details),
            close_code=1008,
            close_reason=message,
            nonce=nonce,
            elapsed_s=0.1 if nonce == "n1" else 2.5,
        ),
        device_id=f"device-{request_id}",
    )


def accepted(protocol: int, allowed: set[str], reported: list[str] | None) -> Observation:
    auth = None if reported is None else {"scopes": reported, "method": "token"}
    probes = {}
    for scope, (method, _) in PROBES.items():
        if scope in allowed:
            res = RpcResult(False, error=GatewayError("INVALID_REQUEST", "invalid params"))
        else:
            res = RpcResult(False, error=GatewayError("INVALID_REQUEST", f"missing scope: {scope}"))
        probes[scope] = judge_probe(scope, method, res)
    hello = {"type": "hello-ok", "protocol": protocol, "auth": auth}
    return Observation(
        outcome=HandshakeOutcome(accepted=True, response=True, hello=hello), probes=probes
    )


def test_ids_nonces_messages_and_timings_do_not_count() -> None:
    a = rejected("pairing required", "req-1", "n1")
    b = rejected("device is not approved yet, ask an operator", "req-2", "n2")
    assert differences(a, b) == []
    assert Behaviour.of_observation(a) == Behaviour.of_observation(b)
    # the report form (what the matrix and bisect hold) agrees
    assert same_behaviour(Behaviour.of(a.as_dict()), Behaviour.of(b.as_dict()))


def test_the_contract_fields_count() -> None:
    base = rejected("m", "r", "n1")
    assert differences(base, rejected("m", "r", "n1", reason="other")) == [
        "details_reason: 'not-paired' -> 'other'"
    ]
    closed = rejected("m", "r", "n1")
    closed.outcome.close_code = 1000
    assert differences(base, closed) == ["close_code: 1008 -> 1000"]


def test_differing_scopes_differ_everywhere() -> None:
    ref, target = accepted(4, {READ}, [READ]), accepted(4, set(), [READ])
    assert differences(ref, target) == ["scopes: ['operator.read'] -> []"]
    a, b = ref.as_dict(), target.as_dict()
    assert not same_behaviour(Behaviour.of(a), Behaviour.of(b))
    passed = {"outcome": "passed", "observed": a, "message": ""}
    also_passed = {"outcome": "passed", "observed": b, "message": ""}
    assert row_differs({"x": passed, "y": also_passed})
    assert not row_differs({"x": passed, "y": {**passed, "message": "other words"}})
    assert not Probe("1", "passed", a, "", 1.0).behaves_like(Probe("2", "passed", b, "", 9.0))
    assert Probe("1", "passed", a, "", 1.0).behaves_like(Probe("2", "passed", a, "x", 9.0))


def test_reported_scopes_compare_only_between_two_protocol_4_reports() -> None:
    p3 = accepted(3, {READ}, ["operator.admin"])  # a device token's scopes: not a statement
    p4 = accepted(4, {READ}, [READ])
    assert differences(p3, p4) == []
    assert differences(accepted(4, {READ}, ["operator.admin"]), p4) == [
        "reported_scopes: ['operator.admin'] -> ['operator.read']"
    ]
    # pairwise, so a protocol-3 report in the row does not hide a protocol-4 disagreement
    views = [Behaviour.of(o.as_dict()) for o in (p3, p4, accepted(4, {READ}, ["operator.admin"]))]
    assert not all_same(views)
    assert all_same(views[:2])


def test_cli_compares_the_exit_code_only() -> None:
    one: dict[str, Any] = {"exit_code": 0, "seconds": 1.0, "output_tail": ["ok"]}
    other: dict[str, Any] = {"exit_code": 0, "seconds": 7.0, "output_tail": ["fine"]}
    assert Behaviour.of(one).answer is Answer.CLI
    assert same_behaviour(observed_behaviour(one), observed_behaviour(other))
    assert not same_behaviour(observed_behaviour(one), observed_behaviour({"exit_code": 1}))


def test_nothing_observed_is_only_like_nothing_observed() -> None:
    assert same_behaviour(None, None)
    assert not same_behaviour(None, Behaviour.of({"exit_code": 0}))
    assert not Probe("1", "error", None, "", 0).behaves_like(
        Probe("2", "error", {"exit_code": 0}, "", 0)
    )
