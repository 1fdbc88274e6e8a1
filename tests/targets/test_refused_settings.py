"""What a failed start says the release refuses, and the config it is started again with; the
messages are the releases' own (2026.2.1, 2026.2.19)."""

from __future__ import annotations

import pytest

from conformance.cases.gateway import ControlUi, GatewaySpec
from conformance.judge.runner import allowed_origin, default_signature
from conformance.targets import hermetic
from conformance.targets.base import CaseNotApplicable, Endpoint, Vantage

ORIGINS_REFUSED_2_1 = (
    "gateway [token,origins=1] exited with code 1 before it was ready: Invalid config at "
    '/tmp/x/openclaw.json:\\n- gateway.controlUi: Unrecognized key: "allowedOrigins"'
)
LOOPBACK_REFUSED_2_19 = (
    "Gateway failed to start: Error: gateway auth mode=trusted-proxy makes no sense with "
    "bind=loopback; use bind=lan or bind=custom with gateway.trustedProxies configured"
)
CONFIG = {
    "gateway": {
        "auth": {"mode": "token"},
        "controlUi": {"allowedOrigins": ["https://control.conformance.test"]},
    }
}


def test_an_unknown_origin_allowlist_is_dropped_and_nothing_else() -> None:
    assert hermetic.refused_settings(CONFIG, ORIGINS_REFUSED_2_1) == (hermetic.ORIGINS_SETTING,)
    started = hermetic.without_settings(CONFIG, (hermetic.ORIGINS_SETTING,))
    assert started == {"gateway": {"auth": {"mode": "token"}}}
    assert CONFIG["gateway"]["controlUi"]  # the spec's own config is left as it was
    # another failure, or a config without the key: nothing to drop, the start error stands
    assert hermetic.refused_settings(CONFIG, LOOPBACK_REFUSED_2_19) == ()
    assert hermetic.refused_settings({"gateway": {}}, ORIGINS_REFUSED_2_1) == ()


def test_a_refused_loopback_bind_or_auth_mode_is_recognised() -> None:
    assert hermetic.refuses_loopback_bind(LOOPBACK_REFUSED_2_19)
    assert not hermetic.refuses_loopback_bind(ORIGINS_REFUSED_2_1)
    none_refused_2_1 = (
        "Invalid config at /tmp/x/openclaw.json:\\n- gateway.auth.mode: Invalid input"
    )
    assert hermetic.refuses_auth_mode(none_refused_2_1)
    assert not hermetic.refuses_auth_mode(ORIGINS_REFUSED_2_1)


def _endpoint(version: str | None, unsupported: tuple[str, ...] = ()) -> Endpoint:
    spec = GatewaySpec(
        auth="token",
        control_ui=ControlUi(allowed_origins=("https://control.conformance.test",)),
    )
    return Endpoint(
        spec=spec, loopback=Vantage("127.0.0.1", 1), remote=None, token="t", password=None,
        remote_peer_ip=None, version=version, unsupported=unsupported,
    )  # fmt: skip


def test_an_allowed_origin_is_not_applicable_where_the_release_has_no_allowlist() -> None:
    assert allowed_origin(_endpoint("2026.9.6")) == "https://control.conformance.test"
    with pytest.raises(CaseNotApplicable, match=r"no gateway\.controlUi\.allowedOrigins setting"):
        allowed_origin(_endpoint("2026.2.1", (hermetic.ORIGINS_SETTING,)))


@pytest.mark.parametrize(
    ("version", "signature"),
    [
        ("2026.2.1", "v2"),
        ("2026.2.25", "v2"),
        ("2026.2.26", "v3"),
        ("2026.9.6", "v3"),
        ("2026.9.6 (abc123)", "v3"),
        (None, "v3"),  # a gateway that does not say: today's clients sign v3
    ],
)
def test_devices_sign_as_the_releases_own_clients_did(version: str | None, signature: str) -> None:
    assert default_signature(_endpoint(version)) == signature
