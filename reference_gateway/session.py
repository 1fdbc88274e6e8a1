"""One connection's protocol without I/O: events in, actions out.

In the style of h11's `Connection` and websockets' `Protocol`: the transport tells a `Session`
what happened (`Opened`, `FrameReceived`, `HandshakeTimerFired`, `Closed`) and executes the
actions it gets back (`Send`, `Close`, `Broadcast`, `StartTimer`, `CancelTimer`, `Log`), in
order. The session holds the connection lifecycle of §1.2/§1.3: the challenge, the handshake
timer, the pre-auth frame limit, the first-frame rules, the connect decision, the
`device.pair.requested` broadcast on a pairing rejection, "connect already completed" and RPC
dispatch after hello-ok.

What several connections share (the pairing state, the live connections that presence and
broadcasts are about) is not kept here: it is a `GatewayState` value passed into every call
and returned, possibly replaced, in the `Step`. The transport keeps the one current value, so a
test can drive several sessions against one state with no sockets and no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from reference_gateway.config import GatewayConfig
from reference_gateway.frames import (
    PREAUTH_MAX_FRAME_BYTES,
    CloseCode,
    ErrorCode,
    ErrorShape,
    challenge_event,
    event,
    first_request_not_connect,
    parse_request_frame,
    res_error,
    res_ok,
)
from reference_gateway.hello import build_hello_ok
from reference_gateway.locality import ConnectContext
from reference_gateway.methods import SERVED_METHODS, RpcCall, handle_rpc
from reference_gateway.pairing import DEFAULT_ENTROPY, Entropy, PairingState, pending_json
from reference_gateway.policy import Accepted, Rejected, decide_connect
from reference_gateway.profiles import Profile

HANDSHAKE_TIMEOUT_ENV = "OPENCLAW_HANDSHAKE_TIMEOUT_MS"
# Clients that make no presence entry (as observed on OpenClaw 2026.9.6): one-off CLI connects,
# backends and probes.
NO_PRESENCE_MODES = ("cli", "backend", "probe")


# -- events (transport -> session) --------------------------------------------------------------
@dataclass(frozen=True)
class Opened:
    """The WebSocket upgrade completed."""

    peer: str | None  # the socket's remote address
    headers: Mapping[str, str]  # lowercased; repeated headers joined with ", "
    now_ms: int


@dataclass(frozen=True)
class FrameReceived:
    data: str | bytes  # one whole WebSocket message, text or binary
    now_ms: int
    uptime_ms: int  # for `status` and hello-ok; the process clock is the transport's


@dataclass(frozen=True)
class HandshakeTimerFired:
    """The timer of the last `StartTimer` ran out (and was not cancelled)."""


@dataclass(frozen=True)
class Closed:
    """The socket is gone, whoever closed it; always the last event."""


Event = Opened | FrameReceived | HandshakeTimerFired | Closed


# -- actions (session -> transport) -------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    frame: dict[str, Any]  # one JSON frame for this connection


@dataclass(frozen=True)
class Close:
    code: int
    reason: str


@dataclass(frozen=True)
class Broadcast:
    frame: dict[str, Any]
    to: tuple[str, ...]  # connection ids; the hello'ed connections when the event happened


@dataclass(frozen=True)
class StartTimer:
    delay_ms: int  # fire `HandshakeTimerFired` after this long


@dataclass(frozen=True)
class CancelTimer:
    pass


@dataclass(frozen=True)
class Log:
    line: str  # without the "[gateway] " prefix


Action = Send | Close | Broadcast | StartTimer | CancelTimer | Log


# -- shared state -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveConnection:
    """A connection past hello-ok, as presence and broadcasts see it."""

    conn_id: str
    accepted: Accepted
    peer: str | None


@dataclass(frozen=True)
class GatewayState:
    """Process-wide values the sessions read and replace; the transport keeps the current one."""

    pairing: PairingState = field(default_factory=PairingState)
    live: Mapping[str, LiveConnection] = field(default_factory=dict)  # in hello-ok order
    # The live connections with a presence entry (not CLI, backend or probe): what hello-ok and
    # RPCs list, without walking every live connection on each of them.
    present: Mapping[str, LiveConnection] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    state: GatewayState
    actions: tuple[Action, ...]


class Phase(Enum):
    NEW = "new"  # before `Opened`
    AWAITING_CONNECT = "awaiting connect"  # challenge sent, handshake timer running
    OPEN = "open"  # hello-ok sent: RPCs
    CLOSED = "closed"  # a `Close` was issued or the socket is gone


class Session:
    """The protocol of one connection. Not thread-safe; one event at a time."""

    def __init__(
        self,
        conn_id: str,
        config: GatewayConfig,
        profile: Profile,
        *,
        handshake_timeout_ms: int,
        entropy: Entropy = DEFAULT_ENTROPY,
    ) -> None:
        self.conn_id = conn_id
        self.config = config
        self.profile = profile
        self.handshake_timeout_ms = handshake_timeout_ms
        self.entropy = entropy
        self.phase = Phase.NEW
        self.ctx: ConnectContext | None = None
        self.accepted: Accepted | None = None

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    @property
    def peer(self) -> str | None:
        return self.ctx.peer if self.ctx is not None else None

    def handle(self, ev: Event, state: GatewayState) -> Step:
        if isinstance(ev, Closed):
            return self._closed(state)
        if self.phase is Phase.CLOSED:
            return Step(state, ())  # the transport may still deliver a frame or a timer
        if isinstance(ev, Opened):
            return self._opened(ev, state)
        if isinstance(ev, HandshakeTimerFired):
            return self._timer_fired(state)
        if self.phase is Phase.AWAITING_CONNECT:
            return self._first_frame(ev, state)
        if self.phase is Phase.OPEN:
            return self._rpc_frame(ev, state)
        raise RuntimeError(f"frame received before Opened (conn {self.conn_id})")

    # -- lifecycle ------------------------------------------------------------------------------
    def _opened(self, ev: Opened, state: GatewayState) -> Step:
        if self.phase is not Phase.NEW:
            raise RuntimeError(f"Opened twice (conn {self.conn_id})")
        nonce = self.entropy.new_uuid()  # §1.2: a fresh random UUID per socket
        self.ctx = ConnectContext(peer=ev.peer, headers=dict(ev.headers), nonce=nonce)
        self.phase = Phase.AWAITING_CONNECT
        return Step(
            state,
            (Send(challenge_event(nonce, ev.now_ms)), StartTimer(self.handshake_timeout_ms)),
        )

    def _timer_fired(self, state: GatewayState) -> Step:
        if self.phase is not Phase.AWAITING_CONNECT:
            return Step(state, ())  # a late timer after the first frame: nothing to do
        return self._close(
            state,
            Log(f"handshake timeout peer={self.peer} after={self.handshake_timeout_ms}ms"),
            code=CloseCode.NORMAL,  # §1.3: 1000, no response
        )

    def _closed(self, state: GatewayState) -> Step:
        self.phase = Phase.CLOSED
        if self.conn_id not in state.live:
            return Step(state, ())
        live = {k: v for k, v in state.live.items() if k != self.conn_id}
        present = state.present
        if self.conn_id in present:
            present = {k: v for k, v in present.items() if k != self.conn_id}
        return Step(replace(state, live=live, present=present), ())

    def _close(self, state: GatewayState, *actions: Action, code: int, reason: str = "") -> Step:
        self.phase = Phase.CLOSED
        return Step(state, (*actions, Close(code, reason)))

    # -- before hello-ok ------------------------------------------------------------------------
    def _first_frame(self, ev: FrameReceived, state: GatewayState) -> Step:
        assert self.ctx is not None
        # Only the first message is timed: whatever it is, the handshake timer is done.
        cancel = CancelTimer()
        peer = self.peer
        data = ev.data
        size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8"))
        if size > PREAUTH_MAX_FRAME_BYTES:
            log = Log(f"preauth frame too large peer={peer} bytes={size}")
            return self._close(state, cancel, log, code=CloseCode.MESSAGE_TOO_BIG)  # K16
        parsed = parse_request_frame(data)
        if parsed.failure is not None:
            failure = parsed.failure
            log = Log(f"invalid first frame peer={peer} close={failure.code}")
            return self._close(state, cancel, log, code=failure.code, reason=failure.reason)
        frame = parsed.frame
        assert frame is not None
        if frame.method != "connect":
            bad = first_request_not_connect(frame)
            log = Log(
                f"connect rejected peer={peer} error=INVALID_REQUEST first request "
                f"method={frame.method}"
            )
            send = Send(res_error(bad.request_id, bad.error))
            return self._close(state, cancel, log, send, code=bad.code, reason=bad.reason)
        decision = decide_connect(
            self.config,
            self.profile,
            state.pairing,
            self.ctx,
            frame.params,
            ev.now_ms,
            self.entropy,
        )
        state = replace(state, pairing=decision.state)
        if isinstance(decision, Rejected):
            actions: list[Action] = [cancel, Log(rejection_line(decision, peer))]
            if decision.respond:
                actions.append(Send(res_error(frame.id, decision.error)))
            if decision.stage == "pairing":
                # §5.2 B2: the pending request is announced to every hello'ed connection.
                request = state.pairing.pending.get(_request_id(decision))
                if request is not None:
                    requested = event("device.pair.requested", pending_json(request))
                    actions.append(Broadcast(requested, tuple(state.live)))
            return self._close(
                state, *actions, code=decision.close_code, reason=decision.close_reason
            )
        self.accepted = decision
        self.phase = Phase.OPEN
        entry = LiveConnection(self.conn_id, decision, peer)
        live = {**state.live, self.conn_id: entry}
        present = state.present
        if decision.client_mode not in NO_PRESENCE_MODES:
            present = {**present, self.conn_id: entry}
        state = replace(state, live=live, present=present)
        hello = build_hello_ok(
            self.profile,
            decision,
            conn_id=self.conn_id,
            methods=list(SERVED_METHODS),
            uptime_ms=ev.uptime_ms,
            auth_mode=self.config.auth_mode,
            presence=presence(state.present),  # includes this connection
        )
        logs = tuple(Log(line) for line in acceptance_lines(decision, peer))
        return Step(state, (cancel, *logs, Send(res_ok(frame.id, hello))))

    # -- after hello-ok -------------------------------------------------------------------------
    def _rpc_frame(self, ev: FrameReceived, state: GatewayState) -> Step:
        accepted = self.accepted
        assert accepted is not None
        parsed = parse_request_frame(ev.data)
        if parsed.failure is not None:
            # After hello anything unparsable is "invalid request frame", not-JSON included.
            log = Log(f"invalid frame conn={self.conn_id} close=1008")
            return self._close(
                state, log, code=CloseCode.POLICY_VIOLATION, reason="invalid request frame"
            )
        frame = parsed.frame
        assert frame is not None
        if frame.method == "connect":
            # Answered, and the connection stays open.
            err = ErrorShape(ErrorCode.INVALID_REQUEST, "connect already completed")
            return Step(state, (Send(res_error(frame.id, err)),))
        call = RpcCall(
            config=self.config,
            profile=self.profile,
            state=state.pairing,
            role=accepted.role,
            scopes=accepted.scopes,
            now_ms=ev.now_ms,
            uptime_ms=ev.uptime_ms,
            presence=presence(state.present),
            entropy=self.entropy,
        )
        result = handle_rpc(call, frame.method, frame.params)
        state = replace(state, pairing=result.state)
        actions: list[Action] = []
        if result.error is not None:
            actions.append(
                Log(
                    f"res ✗ {frame.method} conn={self.conn_id} client={accepted.client_id}"
                    f"/{accepted.client_mode} errorCode={result.error.code} "
                    f"errorMessage={result.error.message}"
                )
            )
            actions.append(Send(res_error(frame.id, result.error)))
        else:
            actions.append(Send(res_ok(frame.id, result.payload)))
        for name, payload in result.events:
            actions.append(Broadcast(event(name, payload), tuple(state.live)))
        return Step(state, tuple(actions))


def _request_id(decision: Rejected) -> str:
    details = decision.error.details if isinstance(decision.error.details, dict) else {}
    return str(details.get("requestId"))


def presence(live: Mapping[str, LiveConnection]) -> list[dict[str, Any]]:
    """As OpenClaw 2026.9.6 (observed): an entry per hello'ed connection with the client's
    instanceId and, for a non-loopback peer, its ip; CLI, backend and probe connects make none."""
    entries = []
    for c in live.values():
        if c.accepted.client_mode in NO_PRESENCE_MODES:
            continue
        client = c.accepted.params.client if c.accepted.params is not None else {}
        entry: dict[str, Any] = {
            "connId": c.conn_id,
            "clientId": c.accepted.client_id,
            "mode": c.accepted.client_mode,
            "role": c.accepted.role,
            "reason": "connect",
        }
        if c.peer and not c.peer.startswith("127.") and c.peer not in ("::1", "::ffff:127.0.0.1"):
            entry["ip"] = c.peer  # 9.6 records no address for a loopback peer
        if isinstance(client.get("instanceId"), str):
            entry["instanceId"] = client["instanceId"]
        entries.append(entry)
    return entries


def rejection_line(d: Rejected, peer: str | None) -> str:
    details = d.error.details if isinstance(d.error.details, dict) else {}
    return (
        f"connect rejected client={d.client_id}/{d.client_mode} role={d.role} peer={peer} "
        f"stage={d.stage} error={d.error.code} detailsCode={details.get('code')} "
        f"close={d.close_code} message={d.error.message}"
    )


def acceptance_lines(a: Accepted, peer: str | None) -> list[str]:
    """The log lines OpenClaw writes for an accepted connect (the audit line as observed)."""
    token = "yes" if a.device_token is not None else "no"
    device = a.device_id[:12] if a.device_id else "-"
    lines = []
    if a.pairing == "silent":
        if a.pairing_reason not in (None, "not-paired"):
            lines.append(
                f"security audit: device access upgrade requested "
                f"reason={a.pairing_reason} device={device} role={a.role} "
                f"scopes={','.join(a.scopes) or '[]'} peer={peer}"
            )
        lines.append(f"device pairing auto-approved device={device} role={a.role}")
    lines.append(
        f"connect accepted client={a.client_id}/{a.client_mode} role={a.role} peer={peer} "
        f"auth={a.auth_method} locality={a.locality} pairing={a.pairing} "
        f"device={device} deviceToken={token} "
        f"scopes={','.join(a.scopes) or '[]'}"
    )
    return lines


def resolve_handshake_timeout_ms(
    profile: Profile,
    config: GatewayConfig,
    env: Mapping[str, str],
    explicit: int | None = None,
) -> int:
    """Explicit argument > OPENCLAW_HANDSHAKE_TIMEOUT_MS (positive int) > config > profile."""
    if explicit is not None:
        return explicit
    raw = env.get(HANDSHAKE_TIMEOUT_ENV)
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value > 0:
            return value
    if config.handshake_timeout_ms is not None:
        return config.handshake_timeout_ms
    return profile.handshake_timeout_ms
