"""Running one case against one endpoint: preconditions, the handshake, the scope probes.

The result is an `Observation`; judging it against the expectation is `verdict.py`'s job, so
the same observation feeds the pytest assertion, the reports and the differential mode.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from conformance.cases.model import (
    Case,
    DeviceState,
    DeviceTokenUse,
    PairedAs,
    Secret,
)
from conformance.cases.model import FirstFrame as FirstFrameKind
from conformance.cases.needs import NOT_ALLOWED_ORIGIN, Need
from conformance.protocol.client import FirstFrame, HandshakeOutcome, Timeouts, handshake
from conformance.protocol.frames import ConnectPlan
from conformance.protocol.identity import DeviceIdentity, b64url
from conformance.protocol.scopes import ProbeResult, probe_all
from conformance.protocol.sockets import Vantage
from conformance.targets.base import CaseNotApplicable, Endpoint
from conformance.targets.hermetic import ORIGINS_SETTING
from conformance.versions import Version

CONNECT_ATTEMPTS = 4  # refused while starting, or UNAVAILABLE with retryAfterMs
MAX_RETRY_WAIT_S = 5.0
PREAUTH_LIMIT = 65536
# A silent client waits this long at most for the gateway to close it: long enough for a release
# that ignores the configured handshake timeout and closes at its built-in one (2026.2.26: 10 s;
# 9.6's default is 15 s), so that release's own behaviour is what gets judged.
SILENT_WAIT_S = 30.0
# A close this much later than the configured handshake timeout means the setting was ignored.
HANDSHAKE_TIMEOUT_GRACE_S = 5.0


class PreconditionError(Exception):
    """The case could not be set up for a reason that says nothing about the contract (no
    loopback vantage point, a secret not given, no answer while pairing): the harness could not
    judge, an error with this reason."""


class PreconditionDeparture(PreconditionError):
    """The case could not be set up because the gateway departs from contract the setup relies
    on: silent local pairing (GATEWAY_PROTOCOL.md section 5, B1) refused, or no device token
    issued by it for a case that reconnects with one. The release fails the case, and the
    message says the precondition is the departure; `departure` is the same words for every case
    it hits (so failures group by it), `expected` what the contract promises, `observed` what
    the setup got instead, `detail` a sentence on this case."""

    PREFIX = "precondition departs from the contract"

    def __init__(self, departure: str, *, expected: str, observed: str, detail: str = "") -> None:
        super().__init__(f"{self.PREFIX}: {departure}")
        self.departure = departure
        self.expected = expected
        self.observed = observed
        self.detail = detail


@dataclass
class Observation:
    outcome: HandshakeOutcome
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    device_id: str | None = None
    paired_token: str | None = None  # the device token obtained while pairing, if any
    # Other devices the case paired on the gateway (`device_token: other-device`), to clean up.
    other_device_ids: list[str] = field(default_factory=list)
    attempts: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def reported_scopes(self) -> frozenset[str] | None:
        auth = self.outcome.auth
        scopes = auth.get("scopes") if auth else None
        return frozenset(scopes) if isinstance(scopes, list) else None

    @property
    def enforced_scopes(self) -> frozenset[str] | None:
        """The scopes the probes found allowed; None without probes, or when any probe went
        unanswered (then nothing is known of that scope: it is not "denied")."""
        if not self.probes or any(p.allowed is None for p in self.probes.values()):
            return None
        return frozenset(s for s, p in self.probes.items() if p.allowed)

    @property
    def device_token_issued(self) -> bool:
        auth = self.outcome.auth
        return bool(auth and isinstance(auth.get("deviceToken"), str))

    @property
    def auth_method(self) -> str | None:
        auth = self.outcome.auth
        method = auth.get("method") if auth else None
        return method if isinstance(method, str) else None

    def as_dict(self) -> dict[str, Any]:
        o = self.outcome
        enforced = self.enforced_scopes
        reported = self.reported_scopes
        return {
            "accepted": o.accepted,
            "scopes": sorted(enforced) if enforced is not None else None,
            "reported_scopes": sorted(reported) if reported is not None else None,
            "error": None
            if o.error is None
            else {
                "code": o.error.code,
                "details_code": o.error.details_code,
                "message": o.error.message,
            },
            "close_code": o.close_code,
            "http_status": o.http_status,
            "protocol": o.protocol,
            "device_token": self.device_token_issued if o.accepted else None,
            "auth_method": self.auth_method,
            "transport_error": o.transport_error,
            "probes": {s: p.describe() for s, p in self.probes.items()},
            # Only when there are some, so observations without notes keep their old shape.
            **({"notes": list(self.notes)} if self.notes else {}),
        }


# Releases before 2026.2.26 verify v2 (and v1) device proofs only; 2026.2.26 added v3, which signs
# platform and deviceFamily ("bind those fields into device-auth signatures", its CHANGELOG).
# Clients of each release signed what it verifies, so a case that does not name a signature
# signs as those clients did; a case that names v3 has `since: 2026.2.26`.
V3_SIGNATURES_SINCE = Version(2026, 2, 26)


def default_signature(endpoint: Endpoint) -> str:
    release = Version.leading(endpoint.version)
    return "v2" if release is not None and release < V3_SIGNATURES_SINCE else "v3"


def vantage_for(case: Case, endpoint: Endpoint) -> Vantage:
    vantage = endpoint.remote if case.connection.via == "remote" else endpoint.loopback
    if vantage is None:
        why = endpoint.remote_unavailable if case.connection.via == "remote" else None
        raise CaseNotApplicable(
            f"needs a {case.connection.via} vantage point, which this target does not offer"
            + (f" ({why})" if why else ""),
            need=Need.REMOTE if case.connection.via == "remote" else Need.LOOPBACK,
        )
    return vantage


def allowed_origin(endpoint: Endpoint) -> str | None:
    """An Origin the gateway allows for its Control UI; None when it allows none. Not applicable
    (with the reason) on a release that has no origin allowlist at all."""
    if ORIGINS_SETTING in endpoint.unsupported:
        raise CaseNotApplicable(
            f"sends an allowed Origin; this release has no {ORIGINS_SETTING} setting (its config "
            "validation refuses the key), so no origin can be allowed",
            need=Need.ORIGIN,
        )
    return endpoint.allowed_origin or next(
        (o for o in endpoint.spec.control_ui.allowed_origins if "://" in o), None
    )


def case_origin(case: Case, endpoint: Endpoint, vantage: Vantage) -> str | None:
    """The Origin header a case sends: its role played on this gateway, or its literal."""
    origin = case.connection.origin
    if origin == "gateway":
        return f"http://{vantage.host}:{vantage.port}"
    if origin == "allowed":
        allowed = allowed_origin(endpoint)
        if allowed is None:
            raise CaseNotApplicable(
                "sends an allowed Origin; the gateway allows none", need=Need.ORIGIN
            )
        return allowed
    if origin == "not-allowed":
        return NOT_ALLOWED_ORIGIN
    return origin


def request_headers(case: Case, vantage: Vantage, endpoint: Endpoint) -> dict[str, str]:
    headers: dict[str, str] = {}
    origin = case_origin(case, endpoint, vantage)
    if origin is not None:
        headers["Origin"] = origin
    if case.connection.forwarded_for is not None:
        headers["X-Forwarded-For"] = case.connection.forwarded_for
    headers.update(dict(case.connection.headers))
    return headers


def _secret(use: Secret | None, right: str | None, endpoint: Endpoint, what: str) -> str | None:
    """The value a case sends in the `what` field (token or password) for `use`."""
    if use is None:
        return None
    if use is Secret.WRONG:
        return "wrong-" + secrets.token_hex(8)
    if use is Secret.GATEWAY_TOKEN:
        right, what = endpoint.token, "token"
    elif use is Secret.GATEWAY_PASSWORD:
        right, what = endpoint.password, "password"
    if right is None:
        raise CaseNotApplicable(
            f"needs the gateway's {what}, which was not given", need=Need.SECRET
        )
    return right


def _first_frame_builder(case: Case, plan: ConnectPlan):
    kind = case.first_frame

    def build(nonce: str) -> FirstFrame:
        if kind is FirstFrameKind.CONNECT:
            return plan.frame(nonce)
        if kind is FirstFrameKind.NOT_CONNECT:
            return {"type": "req", "id": "h1", "method": "health", "params": {}}
        if kind is FirstFrameKind.NOT_JSON:
            return "this is not json {"
        if kind is FirstFrameKind.NON_REQUEST:
            return json.dumps({"type": "event", "event": "hello"})
        if kind is FirstFrameKind.OVERSIZE:
            frame = plan.frame(nonce)
            frame["params"]["pathEnv"] = "x" * (PREAUTH_LIMIT + 1024)
            # A request id would make the client wait for a `res`; the gateway answers none.
            return json.dumps(frame)
        return None  # SILENT

    return build


def _timeouts(case: Case) -> Timeouts:
    if case.first_frame is FirstFrameKind.SILENT:
        return Timeouts(response=SILENT_WAIT_S)
    return Timeouts()


def handshake_timeout_note(case: Case, outcome: HandshakeOutcome) -> str | None:
    """Whether a silent client's wait shows that the release ignores the handshake timeout it
    was started with (OPENCLAW_HANDSHAKE_TIMEOUT_MS): it closed, or had not closed, well after
    it. None when the release kept to it (or the case sets none)."""
    configured_ms = case.gateway.handshake_timeout_ms
    if case.first_frame is not FirstFrameKind.SILENT or configured_ms is None:
        return None
    if outcome.elapsed_s <= configured_ms / 1000 + HANDSHAKE_TIMEOUT_GRACE_S:
        return None
    closed = (
        f"closed the silent connection after {outcome.elapsed_s:.1f} s (close {outcome.close_code})"
        if outcome.close_code is not None
        else f"had not closed the silent connection after {outcome.elapsed_s:.1f} s"
    )
    return (
        f"the release ignores the configured handshake timeout "
        f"(OPENCLAW_HANDSHAKE_TIMEOUT_MS={configured_ms}): it {closed}; judged as observed"
    )


async def _connect_with_retry(
    vantage: Vantage, build, headers, timeouts
) -> tuple[HandshakeOutcome, int]:
    """Retries what a starting gateway does (refused, UNAVAILABLE); never retries a verdict."""
    outcome = HandshakeOutcome()
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        outcome = await handshake(vantage, build, headers=headers, timeouts=timeouts)
        err = outcome.error
        if err is not None and err.code == "UNAVAILABLE" and attempt < CONNECT_ATTEMPTS:
            await asyncio.sleep(min((err.retry_after_ms or 500) / 1000, MAX_RETRY_WAIT_S))
            continue
        refused = outcome.transport_error and "ConnectionRefused" in outcome.transport_error
        if refused and attempt < CONNECT_ATTEMPTS:
            await asyncio.sleep(0.5 * attempt)
            continue
        return outcome, attempt
    return outcome, CONNECT_ATTEMPTS


def _shared_auth(case: Case, endpoint: Endpoint) -> dict[str, str]:
    auth: dict[str, str] = {}
    token = _secret(case.credentials.token, endpoint.token, endpoint, "token")
    password = _secret(case.credentials.password, endpoint.password, endpoint, "password")
    if token is not None:
        auth["token"] = token
    if password is not None:
        auth["password"] = password
    return auth


async def _pair(
    case: Case, endpoint: Endpoint, ident: DeviceIdentity, paired_as: PairedAs | None = None
) -> str | None:
    """Pair the device before the case by silent local pairing; return the device token.
    A trusted-proxy gateway has no shared secret: there the device is paired through the
    case's proxy (`_pair_through_proxy`)."""
    paired_as = paired_as or case.device.paired_as
    assert paired_as is not None
    if case.gateway.auth == "trusted-proxy":
        return await _pair_through_proxy(case, endpoint, ident, paired_as)
    if endpoint.loopback is None:
        raise PreconditionError("pairing a device needs a loopback vantage point")
    auth: dict[str, str] = {}
    mode = case.gateway.auth
    if mode == "token":
        if endpoint.token is None:
            raise PreconditionError("pairing needs the gateway token")
        auth["token"] = endpoint.token
    elif mode == "password":
        if endpoint.password is None:
            raise PreconditionError("pairing needs the gateway password")
        auth["password"] = endpoint.password
    elif mode != "none":
        raise PreconditionError(f"cannot pair a device by silent local pairing under auth {mode}")
    plan = _pairing_plan(paired_as, ident, endpoint, auth)
    outcome, _ = await _connect_with_retry(endpoint.loopback, plan.frame, {}, Timeouts())
    await _close(outcome)
    if not outcome.accepted:
        raise _pairing_failed(plan, outcome)
    return _issued_token(outcome)


def _pairing_plan(
    paired_as: PairedAs,
    ident: DeviceIdentity,
    endpoint: Endpoint,
    auth: dict[str, str] | None = None,
) -> ConnectPlan:
    is_node = paired_as.role == "node"
    return ConnectPlan(
        signature=default_signature(endpoint),
        client_id="node-host" if is_node else "cli",
        client_mode="node" if is_node else "cli",
        client_version="conformance",
        platform=paired_as.platform,
        device_family=paired_as.device_family,
        role=paired_as.role,
        scopes=paired_as.scopes,
        auth=auth or {},
        protocol=(3, 4),
        identity=ident,
    )


async def _close(outcome: HandshakeOutcome) -> None:
    if outcome.connection is not None:
        await outcome.connection.close()
        outcome.connection = None


def _pairing_failed(
    plan: ConnectPlan, outcome: HandshakeOutcome, *, silent_local: bool = True
) -> PreconditionError:
    """Why a pairing connect was not accepted: no answer is the harness's trouble (an error);
    a refusal of silent local pairing is the release's departure (section 5, B1); a refusal
    of another way of pairing (through a proxy, after approval) cannot be judged here."""
    who = f"{plan.client_id}/{plan.client_mode}"
    err = outcome.error
    if outcome.transport_error or (err is not None and err.code == "UNAVAILABLE"):
        return PreconditionError(f"pairing the device as {who} got no answer: {outcome.summary()}")
    if not silent_local:
        return PreconditionError(f"pairing the device as {who} failed: {outcome.summary()}")
    return PreconditionDeparture(
        "silent local pairing refused",
        expected="accepted (silent local pairing)",
        observed=outcome.summary(),
        detail=f"pairing the device as {who} from loopback: {outcome.summary()}",
    )


def _issued_token(outcome: HandshakeOutcome) -> str | None:
    token = (outcome.auth or {}).get("deviceToken")
    return token if isinstance(token, str) else None


# The scopes the approver session asks for; device.pair.approve needs operator.pairing (and
# 9.6 caps an approval by the approver's own scopes, so it asks for all five).
APPROVER_SCOPES = (
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.approvals",
    "operator.pairing",
)


async def _pair_through_proxy(
    case: Case, endpoint: Endpoint, ident: DeviceIdentity, paired_as: PairedAs
) -> str | None:
    """Pair on a trusted-proxy gateway as its users would: the device connects through the
    case's trusted proxy (a pending request), a device-less Control UI session through the same
    proxy approves it with device.pair.approve, and the device connects again for its token.

    Observed 2026-12-03: 2026.3.13 keeps the proxy Control UI's requested scopes (A8), so this
    works; 2026.9.6 clears them (K9), so a proxy-only trusted-proxy gateway has no approver and
    the precondition fails (an error, not a verdict on the case)."""
    vantage = vantage_for(case, endpoint)
    headers = request_headers(case, vantage, endpoint)
    headers.pop("Origin", None)
    plan = _pairing_plan(paired_as, ident, endpoint)
    outcome, _ = await _connect_with_retry(vantage, plan.frame, headers, Timeouts())
    await _close(outcome)
    if outcome.accepted:
        return _issued_token(outcome)
    err = outcome.error
    request_id = err.details.get("requestId") if err is not None else None
    if not isinstance(request_id, str):
        raise _pairing_failed(plan, outcome, silent_local=False)
    try:
        origin = allowed_origin(endpoint)  # the approver is a Control UI session
    except CaseNotApplicable as exc:
        raise CaseNotApplicable(f"no approver through the proxy: {exc}", need=exc.need) from exc
    if origin is None:
        raise PreconditionError("approving through the proxy needs an allowed Control UI origin")
    approver = ConnectPlan(
        client_id="openclaw-control-ui", client_mode="webchat", scopes=APPROVER_SCOPES
    )
    session, _ = await _connect_with_retry(
        vantage, approver.frame, {**headers, "Origin": origin}, Timeouts()
    )
    try:
        if session.connection is None and session.error is not None:
            # 2026.2.19 refuses every device-less Control UI ("control ui requires HTTPS or
            # localhost"): the release has no approver through the proxy. Its refusal is judged
            # by the device-less proxy Control UI cases; here the setup does not exist.
            raise CaseNotApplicable(
                "no approver through the proxy on this release: the device-less proxy Control "
                f"UI that would approve the device was refused: {session.summary()}"
            )
        if session.connection is None:
            raise PreconditionError(
                f"the proxy Control UI that would approve the device got no session: "
                f"{session.summary()}"
            )
        result = await session.connection.call("device.pair.approve", {"requestId": request_id})
    finally:
        await _close(session)
    granted = (session.auth or {}).get("scopes")
    refused_for_scope = result.error is not None and (
        result.error.code == "FORBIDDEN" or "missing scope" in (result.error.message or "")
    )
    if not result.ok and not granted and refused_for_scope:
        # 9.6 clears a device-less proxy Control UI's scopes (K9), and 3.24 grants it none
        # either (its hello-ok has no auth block; approve says "missing scope"): a proxy-only
        # gateway of such a release has no approver, so the case's setup does not exist there.
        # Not applicable (its reason reported), rather than an error on every run.
        raise CaseNotApplicable(
            "no approver through the proxy on this release: the device-less proxy Control UI "
            f"was granted no scopes, and device.pair.approve answered {result.error.code} "
            f"{result.error.message}".rstrip()
        )
    if not result.ok:
        raise PreconditionError(
            "the device's pairing request could not be approved through the proxy "
            f"(device-less Control UI granted {(session.auth or {}).get('scopes')}): "
            f"{result.error.code if result.error else result.transport_error} "
            f"{result.error.message if result.error else ''}".rstrip()
        )
    outcome, _ = await _connect_with_retry(vantage, plan.frame, headers, Timeouts())
    await _close(outcome)
    if not outcome.accepted:
        raise _pairing_failed(plan, outcome, silent_local=False)
    return _issued_token(outcome)


async def _other_device_token(case: Case, endpoint: Endpoint, other: DeviceIdentity) -> str:
    """A token issued to `other`, paired just before as the case's device would be."""
    paired_as = case.device.paired_as or PairedAs(
        role=case.role,
        scopes=case.scopes or (),
        platform=case.client.platform,
        device_family=case.client.device_family,
    )
    token = await _pair(case, endpoint, other, paired_as)
    if token is None:
        raise PreconditionError("the case sends another device's token, but pairing issued none")
    return token


async def run_case(case: Case, endpoint: Endpoint) -> Observation:
    vantage = vantage_for(case, endpoint)
    ident = DeviceIdentity.generate() if case.device.state is not DeviceState.NONE else None
    paired_token = None
    if ident is not None and case.device.state is DeviceState.PAIRED:
        paired_token = await _pair(case, endpoint, ident)
    auth = _shared_auth(case, endpoint)
    others: list[str] = []
    if case.credentials.device_token is DeviceTokenUse.ISSUED:
        paired_as = case.device.paired_as
        if paired_as is None or case.device.state is not DeviceState.PAIRED:
            raise PreconditionError("the case reconnects with a device token but pairs no device")
        if paired_token is None:
            raise PreconditionDeparture(
                "silent local pairing issued no device token",
                expected="a device token in hello-ok.auth.deviceToken",
                observed="none",
                detail="the case reconnects with the device token of its pairing, and the "
                f"pairing connect (role {paired_as.role}, scopes {list(paired_as.scopes)}) "
                "issued none",
            )
        auth["deviceToken"] = paired_token
    elif case.credentials.device_token is DeviceTokenUse.WRONG:
        auth["deviceToken"] = b64url(secrets.token_bytes(32))
    elif case.credentials.device_token is DeviceTokenUse.OTHER_DEVICE:
        other = DeviceIdentity.generate()
        others.append(other.device_id)
        auth["deviceToken"] = await _other_device_token(case, endpoint, other)
    plan = ConnectPlan(
        client_id=case.client.id,
        client_mode=case.client.mode,
        client_version=case.client.version,
        platform=case.client.platform,
        device_family=case.client.device_family,
        display_name=case.client.display_name,
        instance_id=case.client.instance_id,
        caps=case.client.caps,
        locale=case.client.locale,
        user_agent=case.client.user_agent,
        role=case.role,
        scopes=case.scopes,
        auth=auth,
        protocol=case.protocol,
        identity=ident,
        signature=case.device.signature or default_signature(endpoint),
        proof=case.device.proof,
    )
    outcome, attempts = await _connect_with_retry(
        vantage,
        _first_frame_builder(case, plan),
        request_headers(case, vantage, endpoint),
        _timeouts(case),
    )
    obs = Observation(
        outcome=outcome,
        device_id=ident.device_id if ident else None,
        paired_token=paired_token,
        attempts=attempts,
        other_device_ids=others,
    )
    ignored = handshake_timeout_note(case, outcome)
    if ignored is not None:
        obs.notes.append(ignored)
    if outcome.connection is not None:
        try:
            if case.role == "operator":
                obs.probes = await probe_all(outcome.connection)
        finally:
            await outcome.connection.close()
            outcome.connection = None
    return obs


def run_case_sync(case: Case, endpoint: Endpoint) -> Observation:
    return asyncio.run(run_case(case, endpoint))
