"""Credentials in the other auth field, required trusted-proxy headers, another device's token,
and the optional client fields: what real 2026.9.6 and 2026.3.13 did (observed 2026-12-03 with
cases/credentials.yaml), per profile."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reference_gateway.auth import detail_code
from reference_gateway.pairing import PairingState

from ._support import (
    PASSWORD,
    PROXY_IP,
    READ,
    TOKEN,
    Device,
    accepted,
    cfg,
    connect,
    paired_state,
    params,
    rejected,
    remote,
    with_device,
)

ALL5 = [
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.approvals",
    "operator.pairing",
]
PROTO = {"current": (4, 4), "2026.3.13": (3, 3)}


def _mismatch(kind: str) -> dict[str, object]:
    return {
        "code": f"AUTH_{kind.upper()}_MISMATCH",
        "authReason": f"{kind}_mismatch",
        "canRetryWithDeviceToken": False,
        "recommendedNextStep": "update_auth_credentials",
    }


def _missing(kind: str) -> dict[str, object]:
    return {
        "code": f"AUTH_{kind.upper()}_MISSING",
        "authReason": f"{kind}_missing",
        "canRetryWithDeviceToken": False,
        "recommendedNextStep": "update_auth_configuration",
    }


# -- the gateway's own secret in the other field ------------------------------------------------


@pytest.mark.parametrize(
    "mode,auth",
    [("token", {"password": TOKEN}), ("password", {"token": PASSWORD})],
    ids=["token-as-password", "password-as-token"],
)
def test_9_6_reads_the_secret_from_either_field(mode: str, auth: dict[str, str]) -> None:
    d = accepted(connect(cfg(mode), params(scopes=ALL5, auth=auth)))
    assert d.auth_method == mode
    assert set(d.scopes) == set(ALL5)  # A1a: a local CLI whose secret verified keeps them


def test_9_6_secret_in_the_other_field_pairs_a_fresh_device_silently() -> None:
    p = params(scopes=ALL5, auth={"password": TOKEN})
    d = accepted(connect(cfg(), with_device(p, Device())))
    assert (d.auth_method, d.pairing) == ("token", "silent")
    assert d.device_token is not None


def test_9_6_secret_in_the_other_field_remote_is_still_cleared() -> None:
    d = accepted(connect(cfg(), params(scopes=ALL5, auth={"password": TOKEN}), remote()))
    assert d.auth_method == "token"
    assert d.scopes == ()


@pytest.mark.parametrize(
    "mode,auth,kind",
    [("token", {"password": TOKEN}, "token"), ("password", {"token": PASSWORD}, "password")],
    ids=["token-as-password", "password-as-token"],
)
def test_3_13_reads_only_the_modes_own_field(mode: str, auth: dict[str, str], kind: str) -> None:
    p = params(scopes=ALL5, auth=auth, protocol=PROTO["2026.3.13"])
    r = rejected(connect(cfg(mode), p, profile="2026.3.13"))
    # A4: a secret was sent and did not verify -> unauthorized, not device identity required
    assert (r.error.code, r.close_code) == ("INVALID_REQUEST", 1008)
    assert r.error.details == _missing(kind)


# -- a random value in the other field -----------------------------------------------------------


@pytest.mark.parametrize("device", [False, True], ids=["no-device", "unpaired"])
@pytest.mark.parametrize(
    "mode,auth,kind",
    [("token", {"password": "random"}, "token"), ("password", {"token": "random"}, "password")],
    ids=["token-gateway", "password-gateway"],
)
def test_random_value_in_the_other_field(
    mode: str, auth: dict[str, str], kind: str, device: bool
) -> None:
    p = params(scopes=ALL5, auth=auth)
    if device:
        p = with_device(p, Device())
    current = rejected(connect(cfg(mode), p))
    # never retry_with_device_token: that is for a wrong value in auth.token on a token gateway
    assert current.error.details == _mismatch(kind)
    old = dict(p, minProtocol=3, maxProtocol=3)
    if device:
        old = with_device({k: v for k, v in old.items() if k != "device"}, Device())
    assert rejected(connect(cfg(mode), old, profile="2026.3.13")).error.details == _missing(kind)


def test_9_6_own_field_first() -> None:
    # {token: wrong, password: <token>} is token_mismatch: the own field is not skipped
    p = params(scopes=ALL5, auth={"token": "wrong", "password": TOKEN})
    assert rejected(connect(cfg(), p)).error.details == _mismatch("token")
    # {token: <token>, password: wrong} authenticates
    p = params(scopes=ALL5, auth={"token": TOKEN, "password": "wrong"})
    assert accepted(connect(cfg(), p)).auth_method == "token"
    p = params(scopes=ALL5, auth={"token": PASSWORD, "password": "wrong"})
    assert rejected(connect(cfg("password"), p)).error.details == _mismatch("password")


# -- trusted-proxy required headers --------------------------------------------------------------


def _tp_required() -> dict[str, object]:
    config = cfg("trusted-proxy", trustedProxies=[PROXY_IP])
    config["gateway"]["auth"]["trustedProxy"]["requiredHeaders"] = ["x-forwarded-proto"]
    return config


@pytest.mark.parametrize(
    "profile,code",
    [("current", "AUTH_IDENTITY_HEADER_REQUIRED"), ("2026.3.13", "AUTH_UNAUTHORIZED")],
)
def test_required_proxy_header_missing(profile: str, code: str) -> None:
    p = with_device(params(scopes=ALL5, protocol=PROTO[profile]), Device())
    ctx = remote(PROXY_IP, x_forwarded_for="203.0.113.7", x_forwarded_user="alice")
    r = rejected(connect(_tp_required(), p, ctx, profile=profile))
    assert r.error.message == "unauthorized"
    assert r.error.details == {
        "code": code,
        "authReason": "trusted_proxy_missing_header_x-forwarded-proto",
        "canRetryWithDeviceToken": False,
        "recommendedNextStep": "review_auth_configuration",
    }


def test_required_proxy_header_missing_without_device_is_the_missing_device_policy() -> None:
    ctx = remote(PROXY_IP, x_forwarded_for="203.0.113.7", x_forwarded_user="alice")
    for profile in PROTO:
        p = params(scopes=ALL5, protocol=PROTO[profile])
        r = rejected(connect(_tp_required(), p, ctx, profile=profile))
        assert (r.error.code, r.error.details["code"]) == ("NOT_PAIRED", "DEVICE_IDENTITY_REQUIRED")


def test_required_proxy_header_present_authenticates() -> None:
    ctx = remote(
        PROXY_IP, x_forwarded_for="203.0.113.7", x_forwarded_user="alice", x_forwarded_proto="https"
    )
    d = accepted(connect(_tp_required(), params(scopes=ALL5), ctx))
    assert (d.auth_method, d.scopes) == ("trusted-proxy", ())


def test_detail_code_prefixes_are_per_profile() -> None:
    from reference_gateway.profiles import CURRENT, V2026_3_13

    reason = "trusted_proxy_missing_header_x-a"
    assert detail_code(reason, CURRENT) == "AUTH_IDENTITY_HEADER_REQUIRED"
    assert detail_code(reason, V2026_3_13) == "AUTH_UNAUTHORIZED"
    # the user header is not a "required header" on either release
    assert detail_code("trusted_proxy_user_missing", CURRENT) == "AUTH_UNAUTHORIZED"


# -- another device's token ----------------------------------------------------------------------


def _retoken(state: PairingState, dev: Device) -> PairingState:
    """The test entropy repeats per connect; give `dev`'s token a value no other device has."""
    record = state.paired[dev.id]
    token = replace(record.tokens["operator"], token=f"other-{dev.id[:8]}")
    record = replace(record, tokens={**record.tokens, "operator": token})
    return replace(state, paired={**state.paired, dev.id: record})


@pytest.mark.parametrize("profile", PROTO)
@pytest.mark.parametrize("paired", [True, False], ids=["paired", "unpaired"])
def test_another_devices_token_is_a_device_token_mismatch(profile: str, paired: bool) -> None:
    other, mine = Device(), Device()
    state = _retoken(paired_state(other, scopes=ALL5, profile=profile), other)
    if paired:
        p0 = params(scopes=ALL5, auth={"token": TOKEN}, protocol=PROTO[profile])
        state = accepted(connect(cfg(), with_device(p0, mine), profile=profile, state=state)).state
        assert mine.id in state.paired
    theirs = state.paired[other.id].tokens["operator"].token
    p = params(scopes=ALL5, auth={"deviceToken": theirs}, protocol=PROTO[profile])
    r = rejected(connect(cfg(), with_device(p, mine), remote(), profile=profile, state=state))
    assert r.close_code == 1008
    assert r.error.details == {
        "code": "AUTH_DEVICE_TOKEN_MISMATCH",
        "authReason": "device_token_mismatch",
        "canRetryWithDeviceToken": False,
        "recommendedNextStep": "update_auth_credentials",
    }


def test_another_devices_token_next_to_the_right_shared_token_is_ignored() -> None:
    other, mine = Device(), Device()
    state = _retoken(paired_state(other, scopes=ALL5), other)
    p0 = params(scopes=ALL5, auth={"token": TOKEN})
    state = accepted(connect(cfg(), with_device(p0, mine), state=state)).state
    theirs = state.paired[other.id].tokens["operator"].token
    p = params(scopes=ALL5, auth={"token": TOKEN, "deviceToken": theirs})
    d = accepted(connect(cfg(), with_device(p, mine), state=state))
    assert (d.auth_method, set(d.scopes)) == ("token", set(ALL5))


# -- client.platform and the optional client fields ---------------------------------------------


@pytest.mark.parametrize("profile", PROTO)
def test_platform_absent_or_empty_is_a_schema_error(profile: str) -> None:
    p = params(scopes=READ, auth={"token": TOKEN}, protocol=PROTO[profile])
    del p["client"]["platform"]
    r = rejected(connect(cfg(), p, profile=profile))
    assert r.error.code == "INVALID_REQUEST"
    assert r.error.message == (
        "invalid connect params: at /client: must have required property 'platform'"
    )
    p = params(scopes=READ, auth={"token": TOKEN}, protocol=PROTO[profile], platform="")
    r = rejected(connect(cfg(), with_device(p, Device()), profile=profile))
    assert r.error.message.startswith("invalid connect params: at /client/platform: ")


@pytest.mark.parametrize("profile", PROTO)
def test_optional_client_fields_do_not_change_the_decision(profile: str) -> None:
    p = params(
        scopes=ALL5,
        auth={"token": TOKEN},
        protocol=PROTO[profile],
        caps=["tool-events"],
        locale="en-US",
        userAgent="openclaw-conformance/1",
    )
    p["client"].update(displayName="Conformance CLI", instanceId="conformance-instance")
    d = accepted(connect(cfg(), with_device(p, Device()), profile=profile))
    assert (set(d.scopes), d.pairing) == (set(ALL5), "silent")
    assert d.device_token is not None


def test_empty_display_name_or_instance_id_is_a_schema_error() -> None:
    for field in ("displayName", "instanceId"):
        p = params(scopes=READ, auth={"token": TOKEN})
        p["client"][field] = ""
        r = rejected(connect(cfg(), p))
        assert r.error.message == (
            f"invalid connect params: at /client/{field}: must NOT have fewer than 1 characters"
        )


def test_a_changed_display_name_is_not_a_metadata_upgrade() -> None:
    dev = Device()
    state = paired_state(dev, scopes=ALL5)
    p = params(scopes=ALL5, auth={"token": TOKEN})
    p["client"]["displayName"] = "Another name"
    d = accepted(connect(cfg(), with_device(p, dev), remote(), state=state))
    assert d.pairing == "paired"
