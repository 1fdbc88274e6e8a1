"""Scopes as the gateway enforces them: the cheap probe call per scope, and the implication rules.

GATEWAY_PROTOCOL.md section 6.1: parameter validation runs after scope authorisation, so any answer
other than a missing-scope or unauthorized-role error proves the scope check was passed. The
denial code differs between releases (INVALID_REQUEST on protocol 3, FORBIDDEN on 4); only the
message is compared, which normalises that wire difference without loosening any expectation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from conformance.protocol.client import GatewayConnection, RpcResult

ADMIN = "operator.admin"
READ = "operator.read"
WRITE = "operator.write"
APPROVALS = "operator.approvals"
PAIRING = "operator.pairing"

# scope -> (method, params): chosen so that passing the scope check changes nothing on the gateway
PROBES: dict[str, tuple[str, dict]] = {
    READ: ("status", {}),
    WRITE: ("chat.abort", {}),
    ADMIN: ("sessions.delete", {}),
    PAIRING: ("device.pair.list", {}),
    APPROVALS: ("exec.approval.resolve", {}),
}
PROBED = frozenset(PROBES)

_MISSING_SCOPE = re.compile(r"^missing scope: (\S+)")
_UNAUTHORIZED_ROLE = re.compile(r"^unauthorized role")


def implied(scopes: Iterable[str]) -> frozenset[str]:
    """What a granted set satisfies among the probed scopes: admin satisfies every check and
    write satisfies read (section 5.1)."""
    granted = set(scopes)
    if ADMIN in granted:
        return PROBED
    if WRITE in granted:
        granted.add(READ)
    return frozenset(granted & PROBED)


@dataclass(frozen=True)
class ProbeResult:
    scope: str
    method: str
    allowed: bool | None  # None: the probe itself failed (timeout, closed)
    answer: str  # what the gateway said, for the report

    def describe(self) -> str:
        verdict = {True: "allowed", False: "denied", None: "unknown"}[self.allowed]
        return f"{self.scope} via {self.method}: {verdict} ({self.answer})"


def judge(scope: str, method: str, res: RpcResult) -> ProbeResult:
    if res.transport_error:
        return ProbeResult(scope, method, None, res.transport_error)
    if res.ok:
        return ProbeResult(scope, method, True, "ok")
    err = res.error
    assert err is not None
    answer = f"{err.code} {err.message}"
    if _MISSING_SCOPE.match(err.message) or _UNAUTHORIZED_ROLE.match(err.message):
        return ProbeResult(scope, method, False, answer)
    return ProbeResult(scope, method, True, answer)


async def probe_all(conn: GatewayConnection) -> dict[str, ProbeResult]:
    """One call per probed scope, in a fixed order so logs are comparable across runs."""
    out: dict[str, ProbeResult] = {}
    for scope in (READ, WRITE, ADMIN, PAIRING, APPROVALS):
        method, params = PROBES[scope]
        if out and any(p.allowed is None for p in out.values()):
            # The connection stopped answering: the later probes would each wait out their
            # timeout for nothing. They are unknown too.
            out[scope] = ProbeResult(
                scope, method, None, "not sent: an earlier probe went unanswered"
            )
            continue
        out[scope] = judge(scope, method, await conn.call(method, params))
    return out
