"""`needs.unmet`: which cases a given gateway can serve, and the reason it gives for the rest.
Expectations written from the case model's meaning, by hand."""

from __future__ import annotations

from conformance.cases.gateway import ControlUi, GatewaySpec
from conformance.cases.model import (
    Case,
    ClientSpec,
    ConnectionSpec,
    DeviceSpec,
    DeviceState,
    Expectation,
    Severity,
)
from conformance.cases.needs import (
    HARNESS_ORIGIN,
    Deployed,
    Need,
    deployed_from_config,
    needs_of,
    unmet,
)

ORIGINS = ControlUi(allowed_origins=(HARNESS_ORIGIN,))


def case(
    *,
    auth: str = "token",
    via: str = "loopback",
    origin: str | None = None,
    proxies: tuple[str, ...] = (),
    device: DeviceState = DeviceState.NONE,
    control_ui: ControlUi = ORIGINS,
) -> Case:
    return Case(
        id="t",
        severity=Severity.MUST,
        gateway=GatewaySpec(auth=auth, trusted_proxies=proxies, control_ui=control_ui),
        client=ClientSpec(id="cli", mode="cli"),
        expect=Expectation(accepted=True),
        connection=ConnectionSpec(via=via, origin=origin),
        device=DeviceSpec(state=device),
    )


def why(c: Case, gw: Deployed, peer: str | None = "198.18.0.2") -> Need | None:
    found = unmet(needs_of(c), gw, remote_peer_ip=peer, remote_known=True)
    return None if found is None else found.need


PLAIN = Deployed(auth="token")


def test_a_plain_token_gateway_serves_plain_token_cases() -> None:
    assert why(case(), PLAIN) is None
    assert why(case(via="remote"), PLAIN) is None
    # the started config lists an allowed origin, but a case that sends none does not need it
    assert why(case(control_ui=ControlUi()), PLAIN) is None


def test_auth_mode_must_match() -> None:
    assert why(case(auth="password"), PLAIN) is Need.AUTH_PASSWORD
    assert why(case(auth="none"), PLAIN) is Need.AUTH_NONE
    assert why(case(auth="trusted-proxy"), PLAIN) is Need.AUTH_TRUSTED_PROXY


def test_origin_roles() -> None:
    assert why(case(origin="allowed"), PLAIN) is Need.ORIGIN
    with_origin = Deployed(auth="token", allowed_origins=("https://ui.example",))
    assert why(case(origin="allowed"), with_origin) is None
    assert with_origin.allowed_origin == "https://ui.example"
    assert why(case(origin="not-allowed"), with_origin) is None
    assert why(case(origin="not-allowed"), Deployed(auth="token", allowed_origins=("*",))) is (
        Need.ORIGIN
    )
    assert why(case(origin="gateway"), PLAIN) is None
    # a literal the case's own config allows must be allowed here too
    assert why(case(origin=HARNESS_ORIGIN), PLAIN) is Need.ORIGIN
    assert why(case(origin="https://evil.example"), PLAIN) is None


def test_trusted_proxies_are_judged_by_the_peers_the_gateway_sees() -> None:
    behind_nginx = Deployed(auth="token", trusted_proxies=("127.0.0.1",))
    # a loopback case expects a direct local client: a gateway trusting loopback is not that
    assert why(case(), behind_nginx) is Need.TRUSTED_PROXIES
    assert why(case(proxies=("loopback",)), behind_nginx) is None
    # the remote peer 198.18.0.2 is not in 127.0.0.1
    assert why(case(via="remote"), behind_nginx) is None
    lan = Deployed(auth="token", trusted_proxies=("198.18.0.0/15",))
    assert why(case(via="remote"), lan) is Need.TRUSTED_PROXIES
    assert why(case(via="remote", proxies=("remote-peer",)), lan) is None
    # with proxies configured and the peer unknown, nothing is guessed
    assert why(case(via="remote"), lan, peer=None) is Need.TRUSTED_PROXIES
    # a paired case pairs from loopback first, so loopback trust matters for remote cases too
    assert why(case(via="remote", device=DeviceState.PAIRED), behind_nginx) is (
        Need.TRUSTED_PROXIES
    )


def test_control_ui_flags_and_handshake_timeout() -> None:
    flags = ControlUi(allowed_origins=(HARNESS_ORIGIN,), allow_insecure_auth=True)
    assert why(case(control_ui=flags), PLAIN) is Need.CONTROL_UI_FLAGS
    assert why(case(control_ui=flags), Deployed(auth="token", allow_insecure_auth=True)) is None
    c = case()
    short = Case(**{**c.__dict__, "gateway": GatewaySpec(auth="token", handshake_timeout_ms=1)})
    assert why(short, PLAIN) is Need.HANDSHAKE_TIMEOUT


def test_config_file_reading() -> None:
    gw = deployed_from_config(
        {
            "gateway": {
                "bind": "lan",
                "auth": {"password": "__OPENCLAW_REDACTED__"},
                "trustedProxies": ["10.0.0.1"],
                "controlUi": {"allowedOrigins": ["https://a.example"], "allowInsecureAuth": True},
            }
        },
        "config.get",
    )
    assert gw == Deployed(
        auth="password",
        trusted_proxies=("10.0.0.1",),
        allow_insecure_auth=True,
        allowed_origins=("https://a.example",),
        bind="lan",
        source="config.get",
    )
    # section 3.1: without a mode and a password, the mode is token
    assert deployed_from_config({"gateway": {"auth": {"token": "x"}}}, "f").auth == "token"
    assert deployed_from_config({}, "f").auth == "token"
