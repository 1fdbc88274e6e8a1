"""§4: client IP through trusted proxies, localish Host, proxy headers, origin, pairing locality,
and the 9.6 HTTP 403 refusals."""

from __future__ import annotations

import pytest

from reference_gateway.config import load_config
from reference_gateway.locality import (
    ConnectContext,
    check_origin,
    is_local_client,
    is_localish_host,
    resolve_client_ip,
    resolve_pairing_locality,
    upgrade_refusal,
)

from ._support import NONCE


def _cfg(**gateway: object) -> object:
    return load_config({"gateway": {"auth": {"mode": "none"}, **gateway}}, {})


def _ctx(peer: str, **headers: str) -> ConnectContext:
    h = {"host": "127.0.0.1:18789"}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return ConnectContext(peer=peer, headers=h, nonce=NONCE)


def test_untrusted_peer_is_the_client_ip() -> None:
    assert resolve_client_ip(_ctx("10.1.2.3", x_forwarded_for="127.0.0.1"), _cfg()) == "10.1.2.3"


def test_mapped_ipv4_peer_is_normalised() -> None:
    assert resolve_client_ip(_ctx("::ffff:127.0.0.1"), _cfg()) == "127.0.0.1"


def test_trusted_proxy_walks_xff_right_to_left() -> None:
    cfg = _cfg(trustedProxies=["10.0.0.0/8"])
    ctx = _ctx("10.0.0.1", x_forwarded_for="203.0.113.7, 198.51.100.2, 10.0.0.9")
    assert resolve_client_ip(ctx, cfg) == "198.51.100.2"


def test_trusted_proxy_without_xff_has_no_client_ip_unless_real_ip_fallback() -> None:
    ctx = _ctx("10.0.0.1", x_real_ip="127.0.0.1")
    assert resolve_client_ip(ctx, _cfg(trustedProxies=["10.0.0.1"])) is None
    cfg = _cfg(trustedProxies=["10.0.0.1"], allowRealIpFallback=True)
    assert resolve_client_ip(ctx, cfg) == "127.0.0.1"


@pytest.mark.parametrize(
    "host,ok",
    [
        ("localhost:1", True),
        ("127.0.0.5", True),
        ("[::1]:18789", True),
        ("::1", True),
        ("box.tail1234.ts.net", True),
        ("192.168.1.5:18789", False),
        ("example.com", False),
    ],
)
def test_localish_host(host: str, ok: bool) -> None:
    assert is_localish_host(host) is ok


def test_direct_local_needs_loopback_ip_localish_host_and_no_untrusted_proxy_headers() -> None:
    cfg = _cfg()
    assert is_local_client(_ctx("127.0.0.1"), cfg)
    assert not is_local_client(_ctx("127.0.0.1", host="gateway.example"), cfg)
    assert not is_local_client(_ctx("127.0.0.1", x_forwarded_for="127.0.0.1"), cfg)
    assert not is_local_client(_ctx("127.0.0.1", x_forwarded_host="a"), cfg)
    assert not is_local_client(_ctx("198.18.0.2"), cfg)
    trusted = _cfg(trustedProxies=["127.0.0.1"])
    # The only XFF hop is itself a trusted proxy: no client IP, so not local (§4.1).
    assert not is_local_client(_ctx("127.0.0.1", x_forwarded_for="127.0.0.1"), trusted)
    assert is_local_client(_ctx("127.0.0.1", x_forwarded_for="127.0.0.2"), trusted)


@pytest.mark.parametrize(
    "origin,local,allowed,expected",
    [
        (None, True, (), "origin missing or invalid"),
        ("null", True, (), "origin missing or invalid"),
        ("http://localhost:5173", True, (), None),
        ("http://localhost:5173", False, (), "origin not allowed"),
        ("https://ui.example", False, ("https://ui.example",), None),
        ("https://evil.example", True, ("https://ui.example",), "origin not allowed"),
    ],
)
def test_origin_check(
    origin: str | None, local: bool, allowed: tuple[str, ...], expected: str | None
) -> None:
    cfg = _cfg(controlUi={"allowedOrigins": list(allowed)})
    assert check_origin(origin, local=local, config=cfg) == expected


@pytest.mark.parametrize(
    "peer,headers,client,method,shared,expected",
    [
        ("127.0.0.1", {}, ("cli", "cli"), "token", True, "direct_local"),
        ("127.0.0.1", {"host": "172.17.0.2"}, ("cli", "cli"), "token", True, "cli_container_local"),
        (
            "127.0.0.1",
            {"host": "172.17.0.2"},
            ("gateway-client", "backend"),
            "token",
            True,
            "shared_secret_loopback_local",
        ),
        ("127.0.0.1", {"host": "172.17.0.2"}, ("cli", "cli"), "none", False, "remote"),
        (
            "172.17.0.1",
            {"origin": "http://localhost:18789"},
            ("openclaw-control-ui", "webchat"),
            "token",
            True,
            "browser_container_local",
        ),
        ("198.18.0.2", {}, ("cli", "cli"), "token", True, "remote"),
    ],
)
def test_pairing_locality(
    peer: str,
    headers: dict[str, str],
    client: tuple[str, str],
    method: str,
    shared: bool,
    expected: str,
) -> None:
    ctx = _ctx(peer, **headers)
    got = resolve_pairing_locality(
        ctx,
        _cfg(),
        client_id=client[0],
        client_mode=client[1],
        shared_auth_ok=shared,
        auth_method=method,
    )
    assert got == expected


def test_http_403_for_proxy_headers_from_untrusted_peer() -> None:
    headers = {"host": "127.0.0.1", "x-forwarded-for": "1.2.3.4"}
    assert upgrade_refusal("127.0.0.1", headers, _cfg()) is not None
    assert upgrade_refusal("127.0.0.1", headers, _cfg(trustedProxies=["127.0.0.1"])) is None
    assert upgrade_refusal("127.0.0.1", {"host": "127.0.0.1"}, _cfg()) is None


def test_http_403_for_user_header_without_xff_on_trusted_proxy_gateway() -> None:
    cfg = load_config(
        {
            "gateway": {
                "trustedProxies": ["198.18.0.1"],
                "auth": {
                    "mode": "trusted-proxy",
                    "trustedProxy": {"userHeader": "x-forwarded-user"},
                },
            }
        },
        {},
    )
    assert upgrade_refusal("198.18.0.1", {"x-forwarded-user": "alice"}, cfg) is not None
    assert (
        upgrade_refusal(
            "198.18.0.1", {"x-forwarded-user": "alice", "x-forwarded-for": "203.0.113.7"}, cfg
        )
        is None
    )


@pytest.mark.parametrize("trusted", [["127.0.0.1"], ["127.0.0.0/8"]], ids=["host", "net"])
def test_http_403_for_trusted_proxy_forwarding_for_loopback(trusted: list[str]) -> None:
    # Observed on real 2026.9.6 (2026-11-25) with trustedProxies ["127.0.0.1"] and token auth.
    cfg = _cfg(trustedProxies=trusted)
    loop = {"host": "127.0.0.1", "x-forwarded-for": "127.0.0.1"}
    public = {"host": "127.0.0.1", "x-forwarded-for": "203.0.113.7"}
    assert upgrade_refusal("127.0.0.1", loop, cfg) is not None
    assert upgrade_refusal("127.0.0.1", public, cfg) is None
    assert not is_local_client(_ctx("127.0.0.1", x_forwarded_for="203.0.113.7"), cfg)
    # The rule is selectable (off in the 2026.3.13 profile), and narrow: no proxy headers, or
    # a forwarded loopback client from an untrusted peer (the other 403 rule), are not it.
    assert upgrade_refusal("127.0.0.1", loop, cfg, proxied_loopback=False) is None
    assert upgrade_refusal("127.0.0.1", {"host": "127.0.0.1"}, cfg) is None
    assert (
        upgrade_refusal(
            "127.0.0.1", {"x-forwarded-for": "::1"}, _cfg(), untrusted_proxy_headers=False
        )
        is None
    )
