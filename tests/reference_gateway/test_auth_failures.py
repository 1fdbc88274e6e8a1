"""§3.2 with K12/K13: unauthorized messages, details and recommended next steps."""

from __future__ import annotations

import pytest

from ._support import READ, TOKEN, Device, cfg, connect, loopback, params, rejected, remote

UI = ("openclaw-control-ui", "webchat")


def _details(d: object) -> dict:
    r = rejected(d)  # type: ignore[arg-type]
    assert r.error.code == "INVALID_REQUEST"
    assert r.close_code == 1008
    assert r.close_reason == r.error.message
    return r.error.details


def test_wrong_token_with_device_can_retry_with_device_token() -> None:
    p = params(scopes=READ, auth={"token": "wrong"})
    p["device"] = Device().sign(p)
    assert _details(connect(cfg(), p, remote())) == {
        "code": "AUTH_TOKEN_MISMATCH",
        "authReason": "token_mismatch",
        "canRetryWithDeviceToken": True,
        "recommendedNextStep": "retry_with_device_token",
    }


def test_missing_token_with_device_is_token_missing() -> None:
    p = params(scopes=READ)
    p["device"] = Device().sign(p)
    r = rejected(connect(cfg(), p, remote()))
    assert r.error.details == {
        "code": "AUTH_TOKEN_MISSING",
        "authReason": "token_missing",
        "canRetryWithDeviceToken": False,
        "recommendedNextStep": "update_auth_configuration",
    }
    assert r.error.message == (
        "unauthorized: gateway token missing (set gateway.remote.token to match gateway.auth.token)"
    )


def test_wrong_password_details() -> None:
    d = _details(connect(cfg("password"), params(scopes=READ, auth={"password": "x"}), remote()))
    assert d == {
        "code": "AUTH_PASSWORD_MISMATCH",
        "authReason": "password_mismatch",
        "canRetryWithDeviceToken": False,
        "recommendedNextStep": "update_auth_credentials",
    }


@pytest.mark.parametrize(
    "profile,proto,client,ctx,message",
    [
        (
            "current",
            (4, 4),
            ("cli", "cli"),
            loopback(),
            "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair "
            "the device)",
        ),
        (
            "current",
            (4, 4),
            ("cli", "cli"),
            remote(),
            "unauthorized: gateway token mismatch (set gateway.remote.token to match "
            "gateway.auth.token)",
        ),
        (
            "2026.3.13",
            (3, 3),
            ("cli", "cli"),
            loopback(),
            "unauthorized: gateway token mismatch (set gateway.remote.token to match "
            "gateway.auth.token)",
        ),
        (
            "current",
            (4, 4),
            ("gateway-client", "backend"),
            loopback(),
            "unauthorized: gateway token mismatch (provide gateway auth token)",
        ),
    ],
    ids=["9.6-local-cli", "9.6-remote-cli", "3.13-local-cli", "backend"],
)
def test_token_hints(
    profile: str, proto: tuple[int, int], client: tuple[str, str], ctx: object, message: str
) -> None:
    p = params(*client, scopes=READ, auth={"token": "wrong"}, protocol=proto)
    r = rejected(connect(cfg(), p, ctx, profile=profile))  # type: ignore[arg-type]
    assert r.error.message == message


def test_control_ui_token_hint() -> None:
    from ._support import UI_ORIGIN

    p = params(*UI, scopes=READ, auth={"token": "wrong"})
    p["device"] = Device().sign(p)
    r = rejected(connect(cfg(), p, loopback(origin=UI_ORIGIN)))
    assert r.error.message == (
        "unauthorized: gateway token mismatch (open the dashboard URL and paste the token in "
        "Control UI settings)"
    )


def test_k13_local_cli_password_hint_has_no_pairing_advice() -> None:
    r = rejected(connect(cfg("password"), params(scopes=READ, auth={"password": "x"})))
    assert r.error.message == (
        "unauthorized: gateway password mismatch (use this gateway's gateway.auth.password)"
    )


def test_trusted_proxy_failure_with_device_is_auth_unauthorized() -> None:
    config = cfg("trusted-proxy", trustedProxies=["198.18.0.1"])
    p = params(scopes=READ)
    p["device"] = Device().sign(p)
    r = rejected(connect(config, p, remote("203.0.113.50", x_forwarded_user="bob")))
    assert r.error.message == "unauthorized"
    assert r.error.details == {
        "code": "AUTH_UNAUTHORIZED",
        "authReason": "trusted_proxy_untrusted_source",
        "canRetryWithDeviceToken": False,
        "recommendedNextStep": "review_auth_configuration",
    }


def test_shared_token_falls_back_to_device_token() -> None:
    # §7.5: a shared token that fails the shared check is also tried as a device token.
    from ._support import paired_state, with_device

    dev = Device()
    state = paired_state(dev, scopes=READ)
    tok = state.paired[dev.id].tokens["operator"].token
    d = connect(
        cfg(), with_device(params(scopes=READ, auth={"token": tok}), dev), remote(), state=state
    )
    assert getattr(d, "auth_method", None) == "device-token"
    assert tok != TOKEN
