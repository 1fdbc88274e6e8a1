"""§5.3: one test per row of the 2026.9.6 decision table (with the §11 corrections)."""

from __future__ import annotations

import pytest

from reference_gateway.config import load_config
from reference_gateway.locality import ConnectContext
from reference_gateway.pairing import Entropy
from reference_gateway.policy import Accepted, decide_connect
from reference_gateway.profiles import get_profile

from ._support import (
    ALL5,
    NONCE,
    NOW,
    PASSWORD,
    PROXY_IP,
    READ,
    TOKEN,
    UI_ORIGIN,
    Counter,
    Device,
    accepted,
    cfg,
    connect,
    loopback,
    paired_state,
    params,
    rejected,
    remote,
    with_device,
)

TOK = {"token": TOKEN}


def _device_identity_required(d: object) -> None:
    r = rejected(d)  # type: ignore[arg-type]
    assert r.error.code == "NOT_PAIRED"
    assert r.error.message == "device identity required"
    assert r.error.details["code"] == "DEVICE_IDENTITY_REQUIRED"
    assert r.close_code == 1008


def _control_ui_device_required(d: object) -> None:
    r = rejected(d)  # type: ignore[arg-type]
    assert r.error.code == "INVALID_REQUEST"
    assert r.error.message == (
        "control ui requires device identity (use HTTPS or localhost secure context)"
    )
    assert r.error.details["code"] == "CONTROL_UI_DEVICE_IDENTITY_REQUIRED"
    assert r.close_code == 1008


@pytest.mark.parametrize("mode,auth", [("token", TOK), ("password", {"password": "pw-secret"})])
def test_a1a_local_deviceless_cli_keeps_scopes(mode: str, auth: dict[str, str]) -> None:
    d = accepted(connect(cfg(mode), params(scopes=ALL5, auth=auth)))
    assert set(d.scopes) == set(ALL5)
    assert d.auth_method == mode
    assert d.device_token is None


def test_a1a_cli_container_local_keeps_scopes() -> None:
    # Loopback peer, private (non-loopback) Host: cli_container_local.
    ctx = ConnectContext(peer="127.0.0.1", headers={"host": "172.17.0.2:18789"}, nonce=NONCE)
    d = accepted(connect(cfg(), params(scopes=READ, auth=TOK), ctx))
    assert d.scopes == ("operator.read",)
    assert d.locality == "cli_container_local"


def test_a1b_local_deviceless_backend_keeps_scopes() -> None:
    p = params("gateway-client", "backend", scopes=[*READ, "operator.write"], auth=TOK)
    d = accepted(connect(cfg(), p))
    assert set(d.scopes) == {"operator.read", "operator.write"}


@pytest.mark.parametrize(
    "client,ctx",
    [
        (("cli", "probe"), loopback()),
        (("test", "test"), loopback()),
        (("openclaw-macos", "ui"), loopback()),
        (("cli", "cli"), loopback(origin=UI_ORIGIN)),
        (("gateway-client", "backend"), loopback(origin=UI_ORIGIN)),
        (("cli", "cli"), remote()),
        (("gateway-client", "backend"), remote()),
    ],
    ids=[
        "cli-probe",
        "test",
        "macos-ui",
        "cli+origin",
        "backend+origin",
        "remote-cli",
        "remote-backend",
    ],
)
def test_a1c_other_deviceless_shared_auth_is_cleared(
    client: tuple[str, str], ctx: ConnectContext
) -> None:
    d = accepted(connect(cfg(), params(*client, scopes=ALL5, auth=TOK), ctx))
    assert d.scopes == ()
    assert d.auth_method == "token"


def test_a1c_proxied_loopback_untrusted_xff_is_cleared() -> None:
    # UPSTREAM S05: proxy headers from an untrusted loopback peer make it non-local.
    ctx = loopback(x_forwarded_for="10.0.0.5")
    d = accepted(connect(cfg(), params(scopes=READ, auth=TOK), ctx))
    assert d.scopes == ()


def test_a1d_auth_none_local_backend_keeps_scopes() -> None:
    d = accepted(connect(cfg("none"), params("gateway-client", "backend", scopes=READ)))
    assert d.scopes == ("operator.read",)
    assert d.auth_method == "none"


def test_a1d_auth_none_remote_backend_needs_device() -> None:
    _device_identity_required(
        connect(cfg("none"), params("gateway-client", "backend", scopes=READ), remote())
    )


def test_a2_deviceless_node_needs_device() -> None:
    _device_identity_required(
        connect(cfg(), params("node-host", "node", role="node", scopes=[], auth=TOK))
    )


@pytest.mark.parametrize(
    "config,p,ctx",
    [
        (cfg("none"), params(scopes=READ), loopback()),
        (cfg(), params(scopes=READ), loopback()),
        (
            cfg("trusted-proxy", trustedProxies=[PROXY_IP]),
            params(scopes=READ),
            remote(PROXY_IP, x_forwarded_for="203.0.113.7"),
        ),
    ],
    ids=["auth-none", "no-credential", "trusted-proxy-no-user"],
)
def test_a3_no_credential_needs_device(config: dict, p: dict, ctx: ConnectContext) -> None:
    _device_identity_required(connect(config, p, ctx))


def test_a4_wrong_token_deviceless_is_unauthorized() -> None:
    r = rejected(connect(cfg(), params(scopes=READ, auth={"token": "wrong"})))
    assert r.error.code == "INVALID_REQUEST"
    assert r.error.details["code"] == "AUTH_TOKEN_MISMATCH"
    assert r.error.details["canRetryWithDeviceToken"] is False
    assert r.close_code == 1008


@pytest.mark.parametrize(
    "control_ui,ctx",
    [
        ({}, loopback(origin=UI_ORIGIN)),
        ({"allowInsecureAuth": True}, loopback(origin=UI_ORIGIN)),
        ({"dangerouslyDisableDeviceAuth": True}, loopback(origin=UI_ORIGIN)),
        (
            {"dangerouslyDisableDeviceAuth": True, "allowedOrigins": ["https://ui.example"]},
            remote(origin="https://ui.example"),
        ),
    ],
    ids=["no-flags", "allowInsecureAuth", "dangerouslyDisableDeviceAuth", "remote-disable"],
)
def test_a5_a6_deviceless_control_ui_always_rejected(control_ui: dict, ctx: ConnectContext) -> None:
    d = connect(
        cfg(controlUi=control_ui),
        params("openclaw-control-ui", "webchat", scopes=ALL5, auth=TOK),
        ctx,
    )
    _control_ui_device_required(d)


def test_a5_a6_deviceless_tui_also_rejected() -> None:
    _control_ui_device_required(connect(cfg(), params("openclaw-tui", "ui", scopes=READ, auth=TOK)))


def _tp_ctx(**extra: str) -> ConnectContext:
    return remote(
        PROXY_IP,
        x_forwarded_for="203.0.113.7",
        x_forwarded_user="alice",
        origin="https://ui.example",
        **extra,
    )


TP_CFG = cfg(
    "trusted-proxy", trustedProxies=[PROXY_IP], controlUi={"allowedOrigins": ["https://ui.example"]}
)


def test_a8_trusted_proxy_deviceless_control_ui_is_cleared() -> None:
    d = accepted(connect(TP_CFG, params("openclaw-control-ui", "webchat", scopes=ALL5), _tp_ctx()))
    assert d.scopes == ()
    assert d.auth_method == "trusted-proxy"


def test_a8_scopes_header_adds_nothing_back() -> None:
    ctx = _tp_ctx(x_openclaw_scopes="operator.read")
    d = accepted(connect(TP_CFG, params("openclaw-control-ui", "webchat", scopes=READ), ctx))
    assert d.scopes == ()


def test_k9_trusted_proxy_deviceless_cli_is_cleared() -> None:
    ctx = remote(PROXY_IP, x_forwarded_for="203.0.113.7", x_forwarded_user="alice")
    d = accepted(connect(TP_CFG, params(scopes=ALL5), ctx))
    assert d.scopes == ()
    assert d.auth_method == "trusted-proxy"


def test_k9_trusted_proxy_control_ui_fresh_device_needs_pairing() -> None:
    p = params("openclaw-control-ui", "webchat", scopes=READ)
    r = rejected(connect(TP_CFG, with_device(p, Device()), _tp_ctx()))
    assert r.error.code == "NOT_PAIRED"
    assert r.error.message == "pairing required: device is not approved yet"
    assert r.error.details["code"] == "PAIRING_REQUIRED"
    assert r.error.details["recommendedNextStep"] == "wait_then_retry"


@pytest.mark.parametrize(
    "client,role,scopes",
    [
        (("cli", "cli"), "operator", READ),
        (("node-host", "node"), "node", []),
        (("openclaw-control-ui", "webchat"), "operator", ALL5),
    ],
    ids=["cli", "node", "control-ui"],
)
def test_b1_local_fresh_device_is_silently_paired(
    client: tuple[str, str], role: str, scopes: list[str]
) -> None:
    ctx = loopback(origin=UI_ORIGIN) if client[0] == "openclaw-control-ui" else loopback()
    dev = Device()
    d = accepted(
        connect(cfg(), with_device(params(*client, role=role, scopes=scopes, auth=TOK), dev), ctx)
    )
    assert d.pairing == "silent"
    assert d.scopes == tuple(scopes)
    assert d.device_token is not None
    # K4: also an empty scope list gets a token (node with scopes:[]).
    assert d.device_token.scopes == tuple(scopes)
    assert d.state.paired[dev.id].roles == (role,)


@pytest.mark.parametrize(
    "ctx",
    [remote(), loopback(origin=UI_ORIGIN), loopback(x_forwarded_for="203.0.113.9")],
    ids=["remote", "non-ui-origin", "untrusted-xff"],
)
def test_b2_fresh_device_not_local_needs_pairing(ctx: ConnectContext) -> None:
    dev = Device()
    r = rejected(connect(cfg(), with_device(params(scopes=READ, auth=TOK), dev), ctx))
    assert r.error.code == "NOT_PAIRED"
    assert r.error.message == "pairing required: device is not approved yet"
    details = r.error.details
    assert details["code"] == "PAIRING_REQUIRED"
    assert details["reason"] == "not-paired"
    assert details["deviceId"] == dev.id
    assert details["requestedScopes"] == READ
    assert "recommendedNextStep" not in details  # K14: cli gets none
    assert r.close_code == 1008
    assert (
        r.close_reason == f"pairing required: device is not approved yet (requestId: "
        f"{details['requestId']})"
    )
    assert details["requestId"] in r.state.pending
    assert dev.id not in r.state.paired


def test_b3_local_backend_unpaired_device_skips_pairing() -> None:
    p = params("gateway-client", "backend", scopes=ALL5, auth=TOK)
    d = accepted(connect(cfg(), with_device(p, Device())))
    assert d.pairing == "skipped"
    assert set(d.scopes) == set(ALL5)
    assert d.device_token is None
    assert not d.state.paired and not d.state.pending


def test_b3_local_backend_paired_device_gets_its_token() -> None:
    dev = Device()
    # The backend skip means a backend never pairs itself; pair the key as cli/cli first.
    state = paired_state(dev, scopes=READ)
    p = params("gateway-client", "backend", scopes=READ, auth=TOK)
    d = accepted(connect(cfg(), with_device(p, dev), state=state))
    assert d.pairing == "skipped"
    assert d.device_token is not None and d.device_token.scopes == ("operator.read",)


@pytest.mark.parametrize("scopes", [ALL5, ["operator.admin"]], ids=["all5", "admin"])
def test_b3_local_backend_scope_upgrade_is_accepted_without_token(scopes: list[str]) -> None:
    # Observed on real 2026.9.6 (2026-11-25): a device paired as cli/cli with [operator.read]
    # reconnecting as a local gateway-client/backend gets the requested scopes, no device token
    # (§5.3 B3: pairing skipped, requested scopes not checked against the baseline).
    dev = Device()
    state = paired_state(dev, scopes=READ)
    p = params("gateway-client", "backend", scopes=scopes, auth=TOK)
    d = accepted(connect(cfg(), with_device(p, dev), state=state))
    assert d.scopes == tuple(scopes)
    assert d.auth_method == "token"
    assert d.device_token is None
    assert d.pairing == "skipped"
    assert d.state.paired[dev.id].approved_scopes == ("operator.read",)
    assert not d.state.pending


def test_b4_paired_within_baseline_reuses_token() -> None:
    dev = Device()
    state = paired_state(dev, scopes=ALL5)
    first = state.paired[dev.id].tokens["operator"].token
    d = accepted(connect(cfg(), with_device(params(scopes=READ, auth=TOK), dev), state=state))
    assert d.pairing == "paired"
    assert d.scopes == ("operator.read",)
    assert d.device_token is not None and d.device_token.token == first


def test_b4_paired_device_remote_within_baseline_is_accepted() -> None:
    dev = Device()
    state = paired_state(dev, scopes=READ)
    d = accepted(
        connect(cfg(), with_device(params(scopes=READ, auth=TOK), dev), remote(), state=state)
    )
    assert d.scopes == ("operator.read",)


def test_b5_device_token_reconnect_without_shared_secret() -> None:
    dev = Device()
    state = paired_state(dev, scopes=ALL5)
    tok = state.paired[dev.id].tokens["operator"].token
    p = params(scopes=READ, auth={"deviceToken": tok})
    d = accepted(connect(cfg(), with_device(p, dev), remote(), state=state))
    assert d.auth_method == "device-token"
    assert d.scopes == ("operator.read",)


def test_b5_device_token_scope_beyond_token_is_scope_mismatch() -> None:
    dev = Device()
    state = paired_state(dev, scopes=READ)
    tok = state.paired[dev.id].tokens["operator"].token
    p = params(scopes=["operator.admin"], auth={"deviceToken": tok})
    r = rejected(connect(cfg(), with_device(p, dev), remote(), state=state))
    assert r.error.code == "INVALID_REQUEST"
    assert r.error.message == (
        "unauthorized: device token scope mismatch (re-pair or approve scope upgrade)"
    )
    assert r.error.details["code"] == "AUTH_SCOPE_MISMATCH"
    assert r.error.details["canRetryWithDeviceToken"] is False
    assert r.error.details["recommendedNextStep"] == "review_auth_configuration"


def test_b5_wrong_device_token_is_device_token_mismatch() -> None:
    dev = Device()
    state = paired_state(dev, scopes=READ)
    p = params(scopes=READ, auth={"deviceToken": "not-the-token"})
    r = rejected(connect(cfg(), with_device(p, dev), remote(), state=state))
    assert r.error.details["code"] == "AUTH_DEVICE_TOKEN_MISMATCH"
    assert r.error.details["recommendedNextStep"] == "update_auth_credentials"


def test_b7_auth_none_control_ui_with_device_skips_pairing() -> None:
    p = params("openclaw-control-ui", "webchat", scopes=ALL5)
    d = accepted(connect(cfg("none"), with_device(p, Device()), loopback(origin=UI_ORIGIN)))
    assert d.pairing == "skipped"
    assert d.device_token is None  # K5
    assert d.auth_method == "none"
    assert set(d.scopes) == set(ALL5)


def _pair(config: dict, p: dict, dev: Device, ctx: ConnectContext | None = None) -> Accepted:
    d = accepted(connect(config, with_device(p, dev), ctx))
    assert d.pairing == "silent"
    return d


@pytest.mark.parametrize("mode,auth", [("token", TOK), ("password", {"password": PASSWORD})])
def test_local_cli_scope_upgrade_is_silent(mode: str, auth: dict[str, str]) -> None:
    # Observed on real 2026.9.6 (2026-11-25), loopback, no Origin: accepted with the five requested
    # scopes and a rotated device token carrying them (§5.3 silent scope-upgrade).
    dev = Device()
    first = _pair(cfg(mode), params(scopes=READ, auth=auth), dev)
    old_token = first.device_token
    assert old_token is not None
    p = params(scopes=ALL5, auth=auth)
    counter = Counter()
    counter.n = 100  # connect() restarts its entropy each call; keep the new token distinct
    d = accepted(
        decide_connect(
            load_config(cfg(mode), {}),
            get_profile("current"),
            first.state,
            loopback(),
            with_device(p, dev),
            NOW,
            Entropy(new_uuid=counter.uuid, new_token=counter.token),
        )
    )
    assert d.scopes == tuple(ALL5)
    assert d.auth_method == mode
    assert d.locality == "direct_local"
    assert d.pairing == "silent" and d.pairing_reason == "scope-upgrade"
    assert d.device_token is not None
    assert d.device_token.scopes == tuple(ALL5)
    assert d.device_token.token != old_token.token
    assert set(d.state.paired[dev.id].approved_scopes) >= set(ALL5)
    assert not d.state.pending


def test_local_control_ui_scope_upgrade_with_allowed_origin_is_silent() -> None:
    origin = "https://control.conformance.test"
    config = cfg(controlUi={"allowedOrigins": [origin]})
    dev = Device()
    ui = ("openclaw-control-ui", "webchat")
    base = params(*ui, scopes=[*READ, "operator.write"], auth=TOK)
    first = _pair(config, base, dev, loopback(origin=origin))
    p = params(*ui, scopes=ALL5, auth=TOK)
    d = accepted(connect(config, with_device(p, dev), loopback(origin=origin), state=first.state))
    assert d.scopes == tuple(ALL5)
    assert d.pairing == "silent" and d.pairing_reason == "scope-upgrade"
    assert d.device_token is not None and d.device_token.scopes == tuple(ALL5)


def test_scope_upgrade_under_auth_none_is_silent() -> None:
    # §5.3: "scope-upgrade is silent only when the auth method is none, token or password".
    dev = Device()
    state = _pair(cfg("none"), params(scopes=READ), dev).state
    d = accepted(connect(cfg("none"), with_device(params(scopes=ALL5), dev), state=state))
    assert d.scopes == tuple(ALL5)
    assert d.auth_method == "none"
    assert d.pairing == "silent"
    assert d.device_token is not None and d.device_token.scopes == tuple(ALL5)


@pytest.mark.parametrize("scopes", [ALL5, ["operator.admin"]], ids=["all5", "admin"])
def test_remote_scope_upgrade_needs_pairing(scopes: list[str]) -> None:
    dev = Device()
    state = paired_state(dev, scopes=READ)
    p = params(scopes=scopes, auth=TOK)
    r = rejected(connect(cfg(), with_device(p, dev), remote(), state=state))
    assert r.error.code == "NOT_PAIRED"
    assert r.error.message == (
        "pairing required: device is asking for more scopes than currently approved"
    )
    assert r.error.details["code"] == "PAIRING_REQUIRED"
    assert r.error.details["reason"] == "scope-upgrade"
    assert r.error.details["approvedScopes"] == READ
    assert r.close_code == 1008
    assert r.error.details["requestId"] in r.state.pending
    assert r.state.paired[dev.id].approved_scopes == ("operator.read",)


def test_local_scope_upgrade_with_non_ui_origin_needs_pairing() -> None:
    # §5.3: never silent when an Origin is present on a non-UI client.
    dev = Device()
    state = paired_state(dev, scopes=READ)
    p = params(scopes=ALL5, auth=TOK)
    r = rejected(connect(cfg(), with_device(p, dev), loopback(origin=UI_ORIGIN), state=state))
    assert r.error.details["reason"] == "scope-upgrade"


def test_admin_baseline_covers_read_request() -> None:
    # S23: admin implies read/write, so no upgrade is needed.
    dev = Device()
    state = paired_state(dev, scopes=["operator.admin"])
    d = accepted(connect(cfg(), with_device(params(scopes=READ, auth=TOK), dev), state=state))
    assert d.scopes == ("operator.read",)


def test_role_upgrade_to_node_of_paired_device_needs_approval() -> None:
    dev = Device()
    state = paired_state(dev, scopes=READ)
    p = params("node-host", "node", role="node", scopes=[], auth=TOK)
    r = connect(cfg(), with_device(p, dev), state=state)
    # An operator-paired device asking for node: existing device, non-operator role -> approval.
    assert rejected(r).error.details["reason"] == "role-upgrade"


def test_metadata_upgrade_direct_local_cli_needs_approval() -> None:
    dev = Device()
    state = paired_state(dev, scopes=READ)
    p = params(scopes=READ, auth=TOK, platform="darwin")
    r = rejected(connect(cfg(), with_device(p, dev), state=state))
    assert r.error.details["reason"] == "metadata-upgrade"
    assert r.error.message == "pairing required: device identity changed and must be re-approved"


def test_trusted_proxy_on_loopback_with_device_is_unauthorized() -> None:
    config = cfg("trusted-proxy", trustedProxies=["127.0.0.1"])
    ctx = loopback(x_forwarded_for="203.0.113.7", x_forwarded_user="alice")
    r = rejected(connect(config, with_device(params(scopes=READ), Device()), ctx))
    assert r.error.code == "INVALID_REQUEST"
    assert r.error.message == "unauthorized"
    assert r.error.details["code"] == "AUTH_UNAUTHORIZED"
    assert r.error.details["authReason"] == "trusted_proxy_loopback_source"
    assert r.close_code == 1008


def test_trusted_proxy_on_loopback_deviceless_needs_device() -> None:
    config = cfg("trusted-proxy", trustedProxies=["127.0.0.1"])
    ctx = loopback(x_forwarded_for="203.0.113.7", x_forwarded_user="alice")
    _device_identity_required(connect(config, params(scopes=READ), ctx))
