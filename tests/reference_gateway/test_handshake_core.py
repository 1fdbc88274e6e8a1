"""§1.4-§1.6 and §6: schema, protocol negotiation, role, origin order, hello-ok auth, pairing
approval through RPCs, and config refusals of §3.1."""

from __future__ import annotations

import pytest

from reference_gateway.config import ConfigError, load_config
from reference_gateway.hello import hello_auth
from reference_gateway.methods import RpcCall, handle_rpc
from reference_gateway.profiles import CURRENT

from ._support import (
    ALL5,
    READ,
    TOKEN,
    Device,
    accepted,
    cfg,
    connect,
    loopback,
    rejected,
    remote,
    with_device,
)
from ._support import params as mk

TOK = {"token": TOKEN}


def test_unknown_client_id_current_wording() -> None:
    r = rejected(connect(cfg(), mk("nope", "cli", auth=TOK)))
    assert r.error.message == (
        "invalid connect params: at /client/id: must be equal to one of the allowed values"
    )
    assert r.close_code == 1008


def test_unknown_client_id_3_13_wording() -> None:
    r = rejected(connect(cfg(), mk("nope", "cli", auth=TOK, protocol=(3, 3)), profile="2026.3.13"))
    assert r.error.message == (
        "invalid connect params: at /client/id: must be equal to constant; at /client/id: must "
        "match a schema in anyOf"
    )


def test_9_6_client_ids_are_unknown_to_3_13() -> None:
    accepted(connect(cfg(), mk("openclaw-linux", "worker", auth=TOK)))
    rejected(
        connect(cfg(), mk("openclaw-linux", "cli", auth=TOK, protocol=(3, 3)), profile="2026.3.13")
    )


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(extra=1),
        lambda p: p.pop("client"),
        lambda p: p.update(minProtocol="4"),
        lambda p: p["client"].pop("version"),
        lambda p: p.update(scopes="operator.read"),
    ],
    ids=["additional", "no-client", "string-protocol", "no-version", "scopes-not-array"],
)
def test_schema_errors(mutate) -> None:  # type: ignore[no-untyped-def]
    p = mk(auth=TOK)
    mutate(p)
    r = rejected(connect(cfg(), p))
    assert r.error.code == "INVALID_REQUEST"
    assert r.error.message.startswith("invalid connect params: ")
    assert r.close_code == 1008


def test_params_not_an_object() -> None:
    assert rejected(connect(cfg(), None)).error.message.startswith("invalid connect params:")


def test_protocol_mismatch_3_13() -> None:
    r = rejected(connect(cfg(), mk(auth=TOK, protocol=(4, 4)), profile="2026.3.13"))
    assert r.error.message == "protocol mismatch"
    assert r.error.details == {"expectedProtocol": 3}
    assert (r.close_code, r.close_reason) == (1002, "protocol mismatch")


def test_protocol_mismatch_current() -> None:
    r = rejected(connect(cfg(), mk(auth=TOK, protocol=(3, 3))))
    assert r.error.details == {
        "code": "PROTOCOL_MISMATCH",
        "clientMinProtocol": 3,
        "clientMaxProtocol": 3,
        "expectedProtocol": 4,
        "minimumProbeProtocol": 3,
    }
    assert r.close_code == 1002


def test_k18_ranges() -> None:
    assert accepted(connect(cfg(), mk(scopes=READ, auth=TOK, protocol=(3, 4)))).protocol == 4
    node = with_device(
        mk("node-host", "node", role="node", scopes=[], auth=TOK, protocol=(3, 3)), Device()
    )
    d = accepted(connect(cfg(), node))
    assert d.protocol == 4 and d.device_token is not None


def test_invalid_role() -> None:
    r = rejected(connect(cfg(), mk(role="admin", auth=TOK)))
    assert (r.error.code, r.error.message, r.close_code) == (
        "INVALID_REQUEST",
        "invalid role",
        1008,
    )


def test_k19_control_ui_without_origin_rejected_before_pairing() -> None:
    p = with_device(mk("openclaw-control-ui", "webchat", scopes=READ, auth=TOK), Device())
    r = rejected(connect(cfg(), p, loopback()))
    assert r.error.details == {
        "code": "CONTROL_UI_ORIGIN_NOT_ALLOWED",
        "reason": "origin missing or invalid",
    }
    assert r.close_code == 1008
    assert not r.state.pending


def test_origin_check_runs_before_auth() -> None:
    r = rejected(
        connect(
            cfg(), mk(scopes=READ, auth={"token": "bad"}), remote(origin="https://evil.example")
        )
    )
    assert r.error.details["code"] == "CONTROL_UI_ORIGIN_NOT_ALLOWED"
    assert r.error.details["reason"] == "origin not allowed"
    assert r.error.message.startswith("origin not allowed (open the Control UI")


def test_hello_auth_current_always_present() -> None:
    d = accepted(connect(cfg(), mk("cli", "probe", scopes=ALL5, auth=TOK)))
    assert hello_auth(CURRENT, d) == {"method": "token", "role": "operator", "scopes": []}
    d = accepted(connect(cfg(), mk(scopes=["operator.admin"], auth=TOK)))
    assert hello_auth(CURRENT, d) == {
        "method": "token",
        "role": "operator",
        "scopes": ["operator.admin"],
    }  # K20


def test_hello_auth_current_with_device_token() -> None:
    d = accepted(connect(cfg(), with_device(mk(scopes=READ, auth=TOK), Device())))
    auth = hello_auth(CURRENT, d)
    assert auth is not None
    assert auth["method"] == "token" and auth["scopes"] == READ
    assert len(auth["deviceToken"]) > 0 and isinstance(auth["issuedAtMs"], int)


def test_pending_request_approved_over_rpc_then_device_connects() -> None:
    dev = Device()
    r = rejected(connect(cfg(), with_device(mk(scopes=READ, auth=TOK), dev), remote()))
    request_id = r.error.details["requestId"]
    call = RpcCall(
        config=load_config(cfg(), {}),
        profile=CURRENT,
        state=r.state,
        role="operator",
        scopes=("operator.pairing", "operator.read"),
        now_ms=1,
    )
    listed = handle_rpc(call, "device.pair.list", {}).payload
    assert [p["requestId"] for p in listed["pending"]] == [request_id]
    approved = handle_rpc(call, "device.pair.approve", {"requestId": request_id})
    assert approved.error is None
    d = accepted(
        connect(cfg(), with_device(mk(scopes=READ, auth=TOK), dev), remote(), state=approved.state)
    )
    assert d.pairing == "paired" and d.device_token is not None
    removed = handle_rpc(
        RpcCall(**{**call.__dict__, "state": d.state}), "device.pair.remove", {"deviceId": dev.id}
    )
    assert removed.error is None and dev.id not in removed.state.paired


def test_approve_cannot_exceed_caller_scopes_current() -> None:
    dev = Device()
    r = rejected(
        connect(cfg(), with_device(mk(scopes=["operator.admin"], auth=TOK), dev), remote())
    )
    call = RpcCall(
        config=load_config(cfg(), {}),
        profile=CURRENT,
        state=r.state,
        role="operator",
        scopes=("operator.pairing",),
        now_ms=1,
    )
    result = handle_rpc(call, "device.pair.approve", {"requestId": r.error.details["requestId"]})
    assert result.error is not None and result.error.message == "missing scope: operator.admin"


@pytest.mark.parametrize(
    "data,env,message",
    [
        (
            {"gateway": {"auth": {"mode": "token"}}},
            {},
            "gateway auth mode is token, but no token was configured (set gateway.auth.token or "
            "OPENCLAW_GATEWAY_TOKEN)",
        ),
        ({"gateway": {"auth": {"mode": "password"}}}, {}, "gateway auth mode is password"),
        ({"gateway": {"auth": {"mode": "trusted-proxy"}}}, {}, "trusted-proxy"),
        ({"gateway": {"auth": {"token": "a", "password": "b"}}}, {}, "both token and password"),
    ],
)
def test_startup_refusals(data: dict, env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(data, env)


def test_mode_resolution_and_env_fallback() -> None:
    assert load_config({"gateway": {"auth": {"password": "p"}}}, {}).auth_mode == "password"
    c = load_config({"gateway": {}}, {"OPENCLAW_GATEWAY_TOKEN": "envtok"})
    assert (c.auth_mode, c.token) == ("token", "envtok")
    c = load_config({"gateway": {"auth": {"token": "cfg"}}}, {"OPENCLAW_GATEWAY_TOKEN": "env"})
    assert c.token == "cfg"
