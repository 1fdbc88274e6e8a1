"""§5.2: one test per row of the 2026.3.13 decision table (with K1, K2, K6, K7, K8)."""

from __future__ import annotations

from typing import Any

import pytest

from reference_gateway.hello import hello_auth
from reference_gateway.profiles import V2026_3_13

from ._support import (
    ALL5,
    PROXY_IP,
    READ,
    TOKEN,
    UI_ORIGIN,
    Device,
    accepted,
    cfg,
    loopback,
    rejected,
    remote,
    with_device,
)
from ._support import connect as _connect
from ._support import paired_state as _paired_state
from ._support import params as _params

TOK = {"token": TOKEN}
P = "2026.3.13"


def params(*a: Any, **kw: Any) -> dict[str, Any]:
    kw.setdefault("protocol", (3, 3))
    return _params(*a, **kw)


def connect(*a: Any, **kw: Any) -> Any:
    return _connect(*a, profile=P, **kw)


def paired_state(dev: Device, **kw: Any) -> Any:
    return _paired_state(dev, profile=P, **kw)


@pytest.mark.parametrize(
    "client,ctx",
    [
        (("cli", "cli"), loopback()),
        (("cli", "probe"), loopback()),
        (("gateway-client", "backend"), loopback()),
        (("test", "test"), loopback()),
        (("node-host", "node"), loopback()),
        (("cli", "cli"), remote()),
    ],
    ids=["cli", "probe", "backend", "test", "node-host-operator", "remote-cli"],
)
def test_a1_deviceless_shared_auth_is_cleared(client: tuple[str, str], ctx: Any) -> None:
    d = accepted(connect(cfg(), params(*client, scopes=ALL5, auth=TOK), ctx))
    assert d.scopes == ()  # the seed bug
    assert hello_auth(V2026_3_13, d) is None


def test_a1_password_is_cleared_too() -> None:
    d = accepted(connect(cfg("password"), params(scopes=READ, auth={"password": "pw-secret"})))
    assert d.scopes == ()


def test_a1_k6_trusted_proxy_cli_is_cleared() -> None:
    config = cfg("trusted-proxy", trustedProxies=["127.0.0.1"])
    for headers in (
        {"x_forwarded_user": "alice", "x_forwarded_for": "203.0.113.7"},
        {"x_forwarded_user": "alice"},
    ):
        d = accepted(connect(config, params(scopes=READ), loopback(**headers)))
        assert d.scopes == ()
        assert d.auth_method == "trusted-proxy"


def test_a2_deviceless_node_needs_device() -> None:
    r = rejected(connect(cfg(), params("node-host", "node", role="node", scopes=[], auth=TOK)))
    assert r.error.code == "NOT_PAIRED"
    assert r.error.details["code"] == "DEVICE_IDENTITY_REQUIRED"


@pytest.mark.parametrize(
    "config,p",
    [
        (cfg("none"), params(scopes=READ)),
        (cfg(), params(scopes=READ)),
        (cfg("none"), params("gateway-client", "backend", scopes=READ)),
    ],
    ids=["auth-none", "no-credential", "auth-none-local-backend"],
)
def test_a3_no_credential_needs_device(config: dict, p: dict) -> None:
    r = rejected(connect(config, p))
    assert r.error.message == "device identity required"
    assert r.error.details["code"] == "DEVICE_IDENTITY_REQUIRED"
    assert r.close_code == 1008


def test_a4_wrong_token_is_unauthorized() -> None:
    r = rejected(connect(cfg(), params(scopes=READ, auth={"token": "bad"})))
    assert r.error.message == (
        "unauthorized: gateway token mismatch (set gateway.remote.token to match "
        "gateway.auth.token)"
    )
    assert r.error.details == {
        "code": "AUTH_TOKEN_MISMATCH",
        "authReason": "token_mismatch",
        "canRetryWithDeviceToken": False,
        "recommendedNextStep": "update_auth_credentials",
    }


UI = ("openclaw-control-ui", "webchat")
REMOTE_UI_CFG = {"allowedOrigins": ["https://ui.example"]}


def test_a5_dangerously_disable_device_auth_keeps_scopes_remote() -> None:
    config = cfg(controlUi={**REMOTE_UI_CFG, "dangerouslyDisableDeviceAuth": True})
    d = accepted(
        connect(config, params(*UI, scopes=ALL5, auth=TOK), remote(origin="https://ui.example"))
    )
    assert set(d.scopes) == set(ALL5)
    assert d.device_token is None


def test_b6_dangerously_disable_device_auth_drops_the_device() -> None:
    config = cfg(controlUi={**REMOTE_UI_CFG, "dangerouslyDisableDeviceAuth": True})
    p = with_device(params(*UI, scopes=ALL5, auth=TOK), Device())
    d = accepted(connect(config, p, remote(origin="https://ui.example")))
    assert d.device_id is None and d.device_token is None
    assert set(d.scopes) == set(ALL5)
    assert not d.state.pending and not d.state.paired


def test_a6_allow_insecure_auth_local_keeps_scopes() -> None:
    config = cfg(controlUi={"allowInsecureAuth": True})
    d = accepted(connect(config, params(*UI, scopes=ALL5, auth=TOK), loopback(origin=UI_ORIGIN)))
    assert set(d.scopes) == set(ALL5)


@pytest.mark.parametrize(
    "control_ui,ctx",
    [
        ({**REMOTE_UI_CFG, "allowInsecureAuth": True}, remote(origin="https://ui.example")),
        ({}, loopback(origin=UI_ORIGIN)),
    ],
    ids=["remote-insecure-only", "local-no-flags"],
)
def test_a7_control_ui_without_bypass_needs_device(control_ui: dict, ctx: Any) -> None:
    r = rejected(connect(cfg(controlUi=control_ui), params(*UI, scopes=READ, auth=TOK), ctx))
    assert r.error.code == "INVALID_REQUEST"
    assert r.error.details["code"] == "CONTROL_UI_DEVICE_IDENTITY_REQUIRED"


TP_CFG = cfg("trusted-proxy", trustedProxies=[PROXY_IP], controlUi=REMOTE_UI_CFG)


def _tp() -> Any:
    return remote(
        PROXY_IP,
        x_forwarded_for="203.0.113.7",
        x_forwarded_user="alice",
        origin="https://ui.example",
    )


def test_a8_trusted_proxy_deviceless_control_ui_keeps_scopes() -> None:
    d = accepted(connect(TP_CFG, params(*UI, scopes=ALL5), _tp()))
    assert set(d.scopes) == set(ALL5)


def test_a8_k7_trusted_proxy_control_ui_with_device_skips_pairing() -> None:
    d = accepted(connect(TP_CFG, with_device(params(*UI, scopes=ALL5), Device()), _tp()))
    assert set(d.scopes) == set(ALL5)
    assert d.device_token is None and d.pairing == "skipped"
    assert not d.state.paired and not d.state.pending
    assert hello_auth(V2026_3_13, d) is None


def test_b1_local_fresh_device_silent_with_token() -> None:
    dev = Device()
    d = accepted(connect(cfg(), with_device(params(scopes=ALL5, auth=TOK), dev)))
    assert d.pairing == "silent"
    assert d.device_token is not None and set(d.device_token.scopes) == set(ALL5)
    auth = hello_auth(V2026_3_13, d)
    assert auth is not None and set(auth) == {"deviceToken", "role", "scopes", "issuedAtMs"}


@pytest.mark.parametrize(
    "client,role", [(("cli", "cli"), "operator"), (("node-host", "node"), "node")]
)
def test_b1_k1_empty_scopes_no_token(client: tuple[str, str], role: str) -> None:
    dev = Device()
    d = accepted(connect(cfg(), with_device(params(*client, role=role, scopes=[], auth=TOK), dev)))
    assert d.pairing == "silent"
    assert d.device_token is None
    assert hello_auth(V2026_3_13, d) is None


def test_b2_remote_fresh_device_pairing_required() -> None:
    r = rejected(connect(cfg(), with_device(params(scopes=READ, auth=TOK), Device()), remote()))
    assert r.error.code == "NOT_PAIRED"
    assert r.error.message == "pairing required"
    assert set(r.error.details) == {"code", "requestId", "reason"}
    assert r.error.details["code"] == "PAIRING_REQUIRED"
    assert r.error.details["reason"] == "not-paired"
    assert r.close_reason == "pairing required"
    assert r.error.details["requestId"] in r.state.pending


def test_b3_local_backend_skips_pairing_even_for_upgrades() -> None:
    dev = Device()
    d = accepted(
        connect(cfg(), with_device(params("gateway-client", "backend", scopes=ALL5, auth=TOK), dev))
    )
    assert d.pairing == "skipped" and d.device_token is None
    state = paired_state(dev, scopes=READ)
    d = accepted(
        connect(
            cfg(),
            with_device(
                params("gateway-client", "backend", scopes=["operator.admin"], auth=TOK), dev
            ),
            state=state,
        )
    )
    assert d.scopes == ("operator.admin",)  # GHSA-9hjh-fr4f-gxc4, not yet fixed in 3.13
    assert d.device_token is None  # outside its baseline


def test_b4_paired_reuses_token_and_reports_token_scopes() -> None:
    dev = Device()
    state = paired_state(dev, scopes=ALL5)
    first = state.paired[dev.id].tokens["operator"]
    d = accepted(
        connect(cfg(), with_device(params(scopes=READ, auth=TOK), dev), remote(), state=state)
    )
    assert d.device_token == first
    auth = hello_auth(V2026_3_13, d)
    assert auth is not None and set(auth["scopes"]) == set(ALL5)  # the token's, not the conn's


def test_b4_k2_paired_node_empty_scopes_no_token() -> None:
    dev = Device()
    state = paired_state(dev, scopes=[], role="node", client=("node-host", "node"))
    d = accepted(
        connect(
            cfg(),
            with_device(params("node-host", "node", role="node", scopes=[], auth=TOK), dev),
            remote(),
            state=state,
        )
    )
    assert d.device_token is None


def test_b5_device_token_scope_beyond_token_is_device_token_mismatch() -> None:
    dev = Device()
    state = paired_state(dev, scopes=READ)
    tok = state.paired[dev.id].tokens["operator"].token
    p = params(scopes=["operator.admin"], auth={"deviceToken": tok})
    r = rejected(connect(cfg(), with_device(p, dev), remote(), state=state))
    assert r.error.message == "unauthorized: device token mismatch (rotate/reissue device token)"
    assert r.error.details["code"] == "AUTH_DEVICE_TOKEN_MISMATCH"


def test_b5_device_token_reconnect() -> None:
    dev = Device()
    state = paired_state(dev, scopes=ALL5)
    tok = state.paired[dev.id].tokens["operator"].token
    d = accepted(
        connect(
            cfg(),
            with_device(params(scopes=READ, auth={"deviceToken": tok}), dev),
            remote(),
            state=state,
        )
    )
    assert d.auth_method == "device-token"


def test_scope_upgrade_local_is_silent_in_3_13() -> None:
    dev = Device()
    state = paired_state(dev, scopes=READ)
    d = accepted(
        connect(cfg(), with_device(params(scopes=["operator.admin"], auth=TOK), dev), state=state)
    )
    assert d.pairing == "silent"  # CVE-2026-35625, fixed in 3.25
    assert "operator.admin" in d.state.paired[dev.id].approved_scopes


def test_scope_upgrade_remote_needs_pairing_in_3_13() -> None:
    dev = Device()
    state = paired_state(dev, scopes=READ)
    r = rejected(
        connect(
            cfg(),
            with_device(params(scopes=["operator.admin"], auth=TOK), dev),
            remote(),
            state=state,
        )
    )
    assert r.error.details["reason"] == "scope-upgrade"
