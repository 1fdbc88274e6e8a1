"""The sans-I/O session: events in, actions out, no sockets and no clock."""

from __future__ import annotations

import json
from typing import Any

from reference_gateway.config import load_config
from reference_gateway.frames import PREAUTH_MAX_FRAME_BYTES
from reference_gateway.pairing import Entropy
from reference_gateway.profiles import get_profile
from reference_gateway.session import (
    Action,
    Broadcast,
    CancelTimer,
    Close,
    Closed,
    FrameReceived,
    GatewayState,
    HandshakeTimerFired,
    Log,
    Opened,
    Send,
    Session,
    StartTimer,
    Step,
)

from ._support import ALL5, NOW, READ, REMOTE_IP, TOKEN, Counter, Device, cfg, params

LOOPBACK_HEADERS = {"host": "127.0.0.1:18789"}
REMOTE_HEADERS = {"host": "198.18.0.10:18789"}


def _session(conn_id: str = "c1", *, profile: str = "current", timeout_ms: int = 15000) -> Session:
    counter = Counter()
    return Session(
        conn_id,
        load_config(cfg(), {}),
        get_profile(profile),
        handshake_timeout_ms=timeout_ms,
        entropy=Entropy(new_uuid=counter.uuid, new_token=counter.token),
    )


def _open(s: Session, state: GatewayState, *, peer: str = "127.0.0.1") -> tuple[Step, str]:
    headers = LOOPBACK_HEADERS if peer == "127.0.0.1" else REMOTE_HEADERS
    step = s.handle(Opened(peer, headers, NOW), state)
    send = step.actions[0]
    assert isinstance(send, Send)
    return step, send.frame["payload"]["nonce"]


def _frame(data: str | bytes) -> FrameReceived:
    return FrameReceived(data, NOW, 1234)


def _req(method: str, params: Any = None, req_id: str = "r1") -> str:
    frame: dict[str, Any] = {"type": "req", "id": req_id, "method": method}
    if params is not None:
        frame["params"] = params
    return json.dumps(frame)


def _sends(actions: tuple[Action, ...]) -> list[dict[str, Any]]:
    return [a.frame for a in actions if isinstance(a, Send)]


def _closes(actions: tuple[Action, ...]) -> list[Close]:
    return [a for a in actions if isinstance(a, Close)]


def _connected(
    conn_id: str, state: GatewayState, p: dict[str, Any] | None = None
) -> tuple[Session, GatewayState]:
    s = _session(conn_id)
    step, _ = _open(s, state)
    p = p or params(scopes=ALL5, auth={"token": TOKEN})
    step = s.handle(_frame(_req("connect", p, "c")), step.state)
    (res,) = _sends(step.actions)
    assert res["ok"] is True, res
    return s, step.state


def test_opened_sends_the_challenge_and_starts_the_handshake_timer() -> None:
    s = _session(timeout_ms=3000)
    step = s.handle(Opened("127.0.0.1", LOOPBACK_HEADERS, NOW), GatewayState())
    assert step.actions == (
        Send(
            {
                "type": "event",
                "event": "connect.challenge",
                "payload": {"nonce": "00000000-0000-4000-8000-000000000001", "ts": NOW},
            }
        ),
        StartTimer(3000),
    )
    assert step.state == GatewayState()


def test_handshake_timeout_closes_1000_with_no_response() -> None:
    s = _session(timeout_ms=200)
    step, _ = _open(s, GatewayState())
    step = s.handle(HandshakeTimerFired(), step.state)
    assert step.actions == (
        Log("handshake timeout peer=127.0.0.1 after=200ms"),
        Close(1000, ""),
    )
    assert s.closed
    # Anything the transport still delivers after the close is ignored.
    assert s.handle(_frame(_req("connect", {})), step.state).actions == ()


def test_a_late_timer_after_the_first_frame_does_nothing() -> None:
    s, state = _connected("c1", GatewayState())
    assert s.handle(HandshakeTimerFired(), state) == Step(state, ())


def test_preauth_oversize_frame_closes_1009_with_empty_reason() -> None:
    s = _session()
    step, _ = _open(s, GatewayState())
    big = "x" * (PREAUTH_MAX_FRAME_BYTES + 1)
    step = s.handle(_frame(big), step.state)
    assert step.actions == (
        CancelTimer(),
        Log(f"preauth frame too large peer=127.0.0.1 bytes={PREAUTH_MAX_FRAME_BYTES + 1}"),
        Close(1009, ""),
    )
    assert s.closed


def test_preauth_limit_counts_utf8_bytes_and_allows_exactly_the_limit() -> None:
    s = _session()
    step, _ = _open(s, GatewayState())
    # 2 bytes per character: under the limit in characters, over it in bytes.
    step = s.handle(_frame("é" * (PREAUTH_MAX_FRAME_BYTES // 2 + 1)), step.state)
    assert _closes(step.actions) == [Close(1009, "")]
    s = _session()
    step, _ = _open(s, GatewayState())
    step = s.handle(_frame(b"x" * PREAUTH_MAX_FRAME_BYTES), step.state)
    assert _closes(step.actions) == [Close(1000, "")]  # not JSON, not too big


def test_not_json_first_frame_closes_1000_and_not_a_request_1008() -> None:
    s = _session()
    step, _ = _open(s, GatewayState())
    step = s.handle(_frame("this is not json"), step.state)
    assert _sends(step.actions) == [] and _closes(step.actions) == [Close(1000, "")]
    s = _session()
    step, _ = _open(s, GatewayState())
    step = s.handle(_frame(json.dumps({"type": "event", "event": "x"})), step.state)
    assert _sends(step.actions) == []
    assert _closes(step.actions) == [Close(1008, "invalid request frame")]


def test_non_connect_first_request_gets_error_then_close_1008() -> None:
    s = _session()
    step, _ = _open(s, GatewayState())
    step = s.handle(_frame(_req("status", req_id="1")), step.state)
    message = "invalid handshake: first request must be connect"
    assert step.actions[0] == CancelTimer()
    assert _sends(step.actions) == [
        {
            "type": "res",
            "id": "1",
            "ok": False,
            "error": {"code": "INVALID_REQUEST", "message": message},
        }
    ]
    assert step.actions[-1] == Close(1008, message)
    assert s.closed and step.state == GatewayState()


def test_accepted_connect_sends_hello_and_joins_the_live_connections() -> None:
    s = _session("c1")
    step, _ = _open(s, GatewayState())
    step = s.handle(
        _frame(_req("connect", params(scopes=READ, auth={"token": TOKEN}), "c")), step.state
    )
    (res,) = _sends(step.actions)
    assert res["ok"] is True and res["id"] == "c"
    hello = res["payload"]
    assert hello["server"]["connId"] == "c1" and hello["snapshot"]["uptimeMs"] == 1234
    assert hello["auth"] == {"method": "token", "role": "operator", "scopes": READ}
    assert step.actions[0] == CancelTimer()
    assert any(isinstance(a, Log) and a.line.startswith("connect accepted") for a in step.actions)
    assert list(step.state.live) == ["c1"]
    assert not s.closed
    # Closed leaves the live set.
    assert s.handle(Closed(), step.state).state.live == {}


def test_connect_twice_is_answered_and_the_connection_stays_open() -> None:
    s, state = _connected("c1", GatewayState())
    step = s.handle(_frame(_req("connect", params(scopes=READ), "again")), state)
    assert step.actions == (
        Send(
            {
                "type": "res",
                "id": "again",
                "ok": False,
                "error": {"code": "INVALID_REQUEST", "message": "connect already completed"},
            }
        ),
    )
    assert not s.closed
    (res,) = _sends(s.handle(_frame(_req("status")), step.state).actions)
    assert res["ok"] is True


def test_invalid_frame_after_hello_closes_1008() -> None:
    s, state = _connected("c1", GatewayState())
    step = s.handle(_frame("not json"), state)
    assert step.actions == (
        Log("invalid frame conn=c1 close=1008"),
        Close(1008, "invalid request frame"),
    )


def test_pairing_rejection_is_broadcast_to_the_live_connections_before_the_close() -> None:
    observer, state = _connected("obs", GatewayState())
    dev = Device()
    s = _session("remote")
    step, nonce = _open(s, state, peer=REMOTE_IP)
    p = params(scopes=READ, auth={"token": TOKEN})
    p["device"] = dev.sign(p, nonce=nonce)
    step = s.handle(_frame(_req("connect", p, "c")), step.state)
    (res,) = _sends(step.actions)
    assert res["ok"] is False and res["error"]["details"]["code"] == "PAIRING_REQUIRED"
    request_id = res["error"]["details"]["requestId"]
    broadcasts = [a for a in step.actions if isinstance(a, Broadcast)]
    assert len(broadcasts) == 1
    (b,) = broadcasts
    assert b.to == ("obs",)  # the rejected connection is not live
    assert b.frame["event"] == "device.pair.requested"
    assert b.frame["payload"]["requestId"] == request_id
    assert b.frame["payload"]["deviceId"] == dev.id
    kinds = [type(a) for a in step.actions]
    assert kinds.index(Broadcast) < kinds.index(Close)
    assert step.actions[-1] == Close(
        1008, f"{res['error']['message']} (requestId: {request_id})"[:123]
    )
    assert request_id in step.state.pairing.pending
    # The observer approves; the resolution is broadcast to every live connection.
    approve = _req("device.pair.approve", {"requestId": request_id})
    step = observer.handle(_frame(approve), s.handle(Closed(), step.state).state)
    (ok,) = _sends(step.actions)
    assert ok["ok"] is True
    (resolved,) = [a for a in step.actions if isinstance(a, Broadcast)]
    assert resolved.to == ("obs",) and resolved.frame["event"] == "device.pair.resolved"
    assert dev.id in step.state.pairing.paired


def test_other_rejections_broadcast_nothing() -> None:
    _, state = _connected("obs", GatewayState())
    s = _session("bad")
    step, _ = _open(s, state)
    step = s.handle(
        _frame(_req("connect", params(scopes=READ, auth={"token": "wrong"}))), step.state
    )
    assert not any(isinstance(a, Broadcast) for a in step.actions)
    assert step.actions[-1].__class__ is Close and s.closed
    assert list(step.state.live) == ["obs"]


def test_hello_presence_lists_live_non_cli_connections_with_instance_id() -> None:
    ui = params("openclaw-macos", "ui", scopes=READ, auth={"token": TOKEN})
    ui["client"]["instanceId"] = "mac-1"
    _, state = _connected("cli", GatewayState())
    mac = _session("mac")
    step, _ = _open(mac, state)
    step = mac.handle(_frame(_req("connect", ui, "c")), step.state)
    (res,) = _sends(step.actions)
    presence = res["payload"]["snapshot"]["presence"]
    # The CLI makes no entry; the new connection is in its own hello; no ip for loopback.
    assert [e["connId"] for e in presence] == ["mac"]
    assert presence[0]["instanceId"] == "mac-1" and "ip" not in presence[0]
    assert list(step.state.live) == ["cli", "mac"]


def test_rpc_error_is_logged_and_answered() -> None:
    s, state = _connected("c1", GatewayState(), params(scopes=[], auth={"token": TOKEN}))
    step = s.handle(_frame(_req("status")), state)
    (res,) = _sends(step.actions)
    assert res["error"] == {"code": "FORBIDDEN", "message": "missing scope: operator.read"}
    (log,) = [a for a in step.actions if isinstance(a, Log)]
    assert "errorMessage=missing scope: operator.read" in log.line
