"""The reference's core under generated input (hypothesis), with the properties every answer
must have: the session never raises (a crash is a 1011 or a dropped socket), a connection it
ends always gets a close action, a grant never exceeds what was requested, a node role never
holds an operator scope, and the pre-auth size limit holds. The budget is small here
(OCC_FUZZ_EXAMPLES, default 150 per property); `bench/fuzz.py` runs it with a large one.

And the inputs that once broke it, answered as real 2026.9.6 answers them (bench/answers.py,
observed 2026-12-04)."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_gateway.config import load_config
from reference_gateway.frames import PREAUTH_MAX_FRAME_BYTES, encode
from reference_gateway.pairing import Entropy
from reference_gateway.profiles import get_profile
from reference_gateway.session import (
    Close,
    FrameReceived,
    GatewayState,
    Opened,
    Send,
    Session,
)

from ._support import NOW, TOKEN, Counter, Device, cfg, params, with_device

EXAMPLES = int(os.environ.get("OCC_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("OCC_FUZZ_RANDOM") != "1",  # CI: the same examples each run
)
OPERATOR_SCOPES = (
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.pairing",
    "operator.approvals",
)
PEERS = ("127.0.0.1", "::1", "198.18.0.1", "203.0.113.7")

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["\ud800", "\udfff", "a\ud83dz", "\x00", "cli", "node", "operator"]),
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12) | st.sampled_from(["\ud800"]), children, max_size=4)
    ),
    max_leaves=20,
)


def _session(profile: str, mode: str = "token") -> tuple[Session, GatewayState]:
    counter = Counter()
    session = Session(
        "c1",
        load_config(cfg(mode), {}),
        get_profile(profile),
        handshake_timeout_ms=15000,
        entropy=Entropy(new_uuid=counter.uuid, new_token=counter.token),
    )
    return session, GatewayState()


def _run(session: Session, state: GatewayState, peer: str, first: Any):
    """Open, then send `first` (a frame, or a function of the challenge nonce giving one)."""
    step = session.handle(Opened(peer, {"host": "127.0.0.1:18789"}, NOW), state)
    nonce = step.actions[0].frame["payload"]["nonce"]  # type: ignore[attr-defined]
    data = first(nonce) if callable(first) else first
    return session.handle(FrameReceived(data, NOW, 1), step.state)


def _assert_answer(session: Session, step: Any) -> None:
    sends = [a for a in step.actions if isinstance(a, Send)]
    for send in sends:
        encode(send.frame).encode("utf-8")  # every answer can go on the wire as UTF-8
    if session.closed:
        assert any(isinstance(a, Close) for a in step.actions), step.actions
        closes = [a for a in step.actions if isinstance(a, Close)]
        assert all(c.code != 1011 for c in closes), closes


def _connect_text(p: dict[str, Any], req_id: Any = "r1") -> str:
    return json.dumps({"type": "req", "id": req_id, "method": "connect", "params": p})


@FUZZ
@given(
    profile=st.sampled_from(["current", "2026.3.13"]),
    peer=st.sampled_from(PEERS),
    frame=st.one_of(
        json_value.map(json.dumps),
        st.text(max_size=200),
        st.binary(max_size=200),
        st.builds(
            lambda v: json.dumps({"type": "req", "id": "x", "method": "connect", "params": v}),
            json_value,
        ),
    ),
)
def test_any_first_frame_gets_a_documented_answer(profile: str, peer: str, frame: Any) -> None:
    session, state = _session(profile)
    step = _run(session, state, peer, frame)
    _assert_answer(session, step)


@FUZZ
@given(
    profile=st.sampled_from(["current", "2026.3.13"]),
    mode=st.sampled_from(["token", "password", "none"]),
    peer=st.sampled_from(PEERS),
    client=st.sampled_from(
        [
            ("cli", "cli"),
            ("gateway-client", "backend"),
            ("node-host", "node"),
            ("openclaw-control-ui", "webchat"),
            ("cli", "probe"),
        ]
    ),
    role=st.sampled_from(["operator", "node"]),
    scopes=st.lists(st.sampled_from([*OPERATOR_SCOPES, "node.read", "", "x"]), max_size=5),
    secret=st.sampled_from(["right", "wrong", "none", "surrogate"]),
    device=st.booleans(),
    extra=st.dictionaries(
        st.sampled_from(["permissions", "caps", "locale", "userAgent"]), json_value, max_size=2
    ),
)
def test_no_connect_is_granted_outside_what_it_asked_for_and_policy_allows(
    profile: str,
    mode: str,
    peer: str,
    client: tuple[str, str],
    role: str,
    scopes: list[str],
    secret: str,
    device: bool,
    extra: dict[str, Any],
) -> None:
    session, state = _session(profile, mode)
    auth = {
        "right": {"token": TOKEN},
        "wrong": {"token": "nope"},
        "none": None,
        "surrogate": {"token": "\ud800" + TOKEN},
    }[secret]
    p = params(client[0], client[1], role=role, scopes=scopes, auth=auth, **extra)
    dev = Device()

    def first(nonce: str) -> str:
        return _connect_text(with_device(p, dev, nonce=nonce) if device else p)

    step = _run(session, state, peer, first)
    _assert_answer(session, step)
    accepted = session.accepted
    if accepted is None:
        return
    granted = set(accepted.scopes)
    assert granted <= set(scopes), (granted, scopes)
    if profile == "current" and role == "node":
        assert not granted & set(OPERATOR_SCOPES), granted
    token = accepted.device_token
    if token is not None:
        assert set(token.scopes) <= set(scopes) | set(OPERATOR_SCOPES) and token.role == role


@settings(max_examples=max(20, EXAMPLES // 5), deadline=None)
@given(size=st.integers(PREAUTH_MAX_FRAME_BYTES + 1, PREAUTH_MAX_FRAME_BYTES * 4))
def test_a_first_frame_over_the_pre_auth_limit_is_refused_with_1009(size: int) -> None:
    session, state = _session("current")
    step = _run(session, state, "127.0.0.1", "x" * size)
    assert [a.code for a in step.actions if isinstance(a, Close)] == [1009]


# -- what once broke it, now answered as 2026.9.6 answers (bench/answers.py) ------------------


def _first(profile: str, text: Any) -> tuple[Session, list[Any]]:
    session, state = _session(profile)
    step = _run(session, state, "127.0.0.1", text)
    return session, list(step.actions)


def test_a_lone_surrogate_request_id_is_echoed_escaped() -> None:
    # 9.6: res id='\ud800' ok=True hello-ok
    text = _connect_text(params(auth={"token": TOKEN}, scopes=[]), "ID")
    _, actions = _first("current", text.replace('"ID"', '"\\ud800"'))
    send = next(a for a in actions if isinstance(a, Send))
    assert send.frame["id"] == "\ud800" and send.frame["ok"] is True
    assert '"id":"\\ud800"' in encode(send.frame)


def test_a_lone_surrogate_token_is_a_token_mismatch() -> None:
    # 9.6: INVALID_REQUEST/AUTH_TOKEN_MISMATCH, close 1008
    text = _connect_text(params(auth={"token": "PLACE"}))
    _, actions = _first("current", text.replace("PLACE", "\\ud800abc"))
    send = next(a for a in actions if isinstance(a, Send))
    assert send.frame["error"]["details"]["code"] == "AUTH_TOKEN_MISMATCH"
    assert [a.code for a in actions if isinstance(a, Close)] == [1008]


def test_a_first_frame_nested_2000_deep_is_an_invalid_request_frame() -> None:
    # 9.6: close 1008 'invalid request frame'
    _, actions = _first("current", "[" * 2000 + "]" * 2000)
    assert [(a.code, a.reason) for a in actions if isinstance(a, Close)] == [
        (1008, "invalid request frame")
    ]


def test_a_node_host_asking_operator_admin_must_be_approved() -> None:
    # 9.6: NOT_PAIRED/PAIRING_REQUIRED 'pairing required: device is not approved yet'
    p = params(
        "node-host",
        "node",
        role="node",
        scopes=["operator.admin"],
        auth={"token": TOKEN},
        protocol=(3, 4),
    )
    dev = Device()

    def first(nonce: str) -> str:
        return _connect_text(with_device(p, dev, nonce=nonce))

    _, actions = _first("current", first)
    send = next(a for a in actions if isinstance(a, Send))
    assert send.frame["error"]["code"] == "NOT_PAIRED"
    assert send.frame["error"]["details"]["code"] == "PAIRING_REQUIRED"
    # 2026.3.13 (observed the same day) pairs it silently with the scope.
    session, _ = _first("2026.3.13", first)
    assert session.accepted is not None and "operator.admin" in session.accepted.scopes
