"""Where a connection comes from (§4): client IP through trusted proxies, local vs remote,
browser origin, 9.6 pairing locality, and the 9.6 HTTP-level refusals of proxy-shaped traffic.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from reference_gateway.config import GatewayConfig

PROXY_HEADERS = ("x-forwarded-for", "x-real-ip", "x-forwarded-host")


class PairingLocality(StrEnum):
    DIRECT_LOCAL = "direct_local"
    CLI_CONTAINER_LOCAL = "cli_container_local"
    BROWSER_CONTAINER_LOCAL = "browser_container_local"
    SHARED_SECRET_LOOPBACK_LOCAL = "shared_secret_loopback_local"
    REMOTE = "remote"


@dataclass(frozen=True)
class ConnectContext:
    """What the transport knows about one socket: its peer and its HTTP upgrade headers."""

    peer: str | None
    headers: Mapping[str, str] = field(default_factory=dict)  # keys lowercased
    nonce: str = ""

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower())
        if value is None:
            return None
        return value

    @property
    def host(self) -> str | None:
        return self.header("host")

    @property
    def origin(self) -> str | None:
        value = self.header("origin")
        return value if value is not None and value.strip() else None


# Address parsing is cached: the same few peers and proxy entries come back on every connect,
# and ipaddress parsing was 7.6% of a loaded reference gateway's samples.
@functools.lru_cache(maxsize=4096)
def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Brackets, a zone and the IPv4-mapped prefix stripped; None when not an IP address."""
    text = value.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    text = text.split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


@functools.lru_cache(maxsize=1024)
def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return None


def normalize_ip(value: str | None) -> str | None:
    """Strip brackets, a zone and the IPv4-mapped prefix; None when not an IP address."""
    addr = _address(value) if value is not None else None
    return None if addr is None else str(addr)


def is_loopback_ip(value: str | None) -> bool:
    addr = _address(value) if value is not None else None
    return addr is not None and addr.is_loopback


# `is_private` would also admit documentation ranges; OpenClaw means RFC 1918, ULA, link-local,
# CGNAT (tailnets) and loopback.
_PRIVATE_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
              "169.254.0.0/16", "fc00::/7", "fe80::/10")
)  # fmt: skip


def is_private_or_loopback_ip(value: str | None) -> bool:
    addr = _address(value) if value is not None else None
    if addr is None:
        return False
    return addr.is_loopback or any(addr in net for net in _PRIVATE_NETS)


def is_trusted_proxy(peer: str | None, config: GatewayConfig) -> bool:
    return peer is not None and _in_networks(peer, config.trusted_proxies)


@functools.lru_cache(maxsize=4096)
def _in_networks(peer: str, entries: tuple[str, ...]) -> bool:
    addr = _address(peer)
    if addr is None:
        return False
    for entry in entries:
        net = _network(entry)
        if net is not None and addr.version == net.version and addr in net:
            return True
    return False


def has_proxy_headers(ctx: ConnectContext) -> bool:
    return any((ctx.header(h) or "").strip() for h in PROXY_HEADERS)


def resolve_client_ip(ctx: ConnectContext, config: GatewayConfig) -> str | None:
    """§4.1 step 1: the peer, or the first untrusted X-Forwarded-For hop from the right."""
    peer = normalize_ip(ctx.peer)
    if not is_trusted_proxy(peer, config):
        return peer
    xff = ctx.header("x-forwarded-for") or ""
    for hop in reversed([h.strip() for h in xff.split(",") if h.strip()]):
        ip = normalize_ip(hop)
        if ip is None:
            continue
        if not is_trusted_proxy(ip, config):
            return ip
    if config.allow_real_ip_fallback:
        return normalize_ip(ctx.header("x-real-ip"))
    return None


def host_name(host: str | None) -> str:
    """The host part of a Host header, without port or brackets, lowercased."""
    if not host:
        return ""
    text = host.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        return text[1:end] if end > 0 else text
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text  # a bare IPv6 address (several colons) has no port to strip


def is_loopback_host(name: str) -> bool:
    return name == "localhost" or is_loopback_ip(name)


def is_localish_host(host: str | None) -> bool:
    """§4.1 step 2: localhost, 127.x, ::1, mapped loopback, or a tailnet *.ts.net name."""
    name = host_name(host)
    return is_loopback_host(name) or name.endswith(".ts.net")


def is_private_or_loopback_host(name: str) -> bool:
    return is_loopback_host(name) or is_private_or_loopback_ip(name)


def is_local_client(ctx: ConnectContext, config: GatewayConfig) -> bool:
    """§4.1 "direct local": loopback client IP, localish Host, proxy headers only via a trusted
    peer."""
    if not is_loopback_ip(resolve_client_ip(ctx, config)):
        return False
    if not is_localish_host(ctx.host):
        return False
    return not has_proxy_headers(ctx) or is_trusted_proxy(ctx.peer, config)


def origin_host(origin: str | None) -> str | None:
    """The hostname of an Origin, or None when it is missing or not a URL (e.g. "null")."""
    if not origin or not origin.strip():
        return None
    try:
        parts = urlsplit(origin.strip())
        name = parts.hostname
    except ValueError:
        return None
    if not parts.scheme or not name:
        return None
    return name.lower()


def normalize_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def check_origin(origin: str | None, *, local: bool, config: GatewayConfig) -> str | None:
    """§4.1 browser-origin check. Returns None when allowed, else the details.reason (K19)."""
    name = origin_host(origin)
    if origin is None or name is None:
        return "origin missing or invalid"
    allowed = {normalize_origin(o) for o in config.allowed_origins}
    if "*" in allowed or normalize_origin(origin) in allowed:
        return None
    if local and is_loopback_host(name):
        return None
    return "origin not allowed"


def resolve_pairing_locality(
    ctx: ConnectContext,
    config: GatewayConfig,
    *,
    client_id: str,
    client_mode: str,
    shared_auth_ok: bool,
    auth_method: str,
    local: bool | None = None,
) -> PairingLocality:
    """§4.2 pairingLocality of 9.6 (handshake-auth-helpers `resolvePairingLocality`). `local`:
    `is_local_client` when the caller already computed it for this connect."""
    if is_local_client(ctx, config) if local is None else local:
        return PairingLocality.DIRECT_LOCAL
    shared_secret = shared_auth_ok and auth_method in ("token", "password")
    proxied = has_proxy_headers(ctx)
    browser = ctx.origin is not None
    host = host_name(ctx.host)
    if (
        client_id == "openclaw-control-ui"
        and client_mode == "webchat"
        and shared_secret
        and not proxied
        and browser
        and is_private_or_loopback_ip(ctx.peer)
        and is_loopback_host(host)
        and is_loopback_host(origin_host(ctx.origin) or "")
    ):
        return PairingLocality.BROWSER_CONTAINER_LOCAL
    loopback_shared = (
        shared_secret
        and not proxied
        and not browser
        and is_loopback_ip(ctx.peer)
        and is_private_or_loopback_host(host)
    )
    if loopback_shared and client_id == "cli" and client_mode == "cli":
        return PairingLocality.CLI_CONTAINER_LOCAL
    if loopback_shared:
        return PairingLocality.SHARED_SECRET_LOOPBACK_LOCAL
    return PairingLocality.REMOTE


def forwarded_client_ip(ctx: ConnectContext, config: GatewayConfig) -> str | None:
    """The client address that the proxy headers of a trusted peer name.

    The §4.1 resolved client IP; when that is undefined because every X-Forwarded-For hop is
    itself a trusted proxy (e.g. `X-Forwarded-For: 127.0.0.1` with `trustedProxies:
    ["127.0.0.1"]`), the left-most (originating) X-Forwarded-For hop.
    """
    resolved = resolve_client_ip(ctx, config)
    if resolved is not None:
        return resolved
    xff = ctx.header("x-forwarded-for") or ""
    for hop in (h.strip() for h in xff.split(",")):
        ip = normalize_ip(hop)
        if ip is not None:
            return ip
    return None


def upgrade_refusal(
    peer: str | None,
    headers: Mapping[str, str],
    config: GatewayConfig,
    *,
    untrusted_proxy_headers: bool = True,
    proxied_loopback: bool = True,
) -> str | None:
    """§4.2 (9.6): reasons to answer the HTTP upgrade with 403 before any WS traffic.

    Returns a short reason for the log, or None to let the upgrade proceed. The keywords select
    the rules (both on for 9.6):
    * `untrusted_proxy_headers`: proxy headers from an untrusted peer; the trusted-proxy user
      header without X-Forwarded-For from a trusted peer on a trusted-proxy gateway.
    * `proxied_loopback`: proxy headers from a trusted peer that name a loopback client
      (observed on real 2026.9.6, 2026-11-25: trustedProxies ["127.0.0.1"], token auth, peer
      127.0.0.1 with `X-Forwarded-For: 127.0.0.1` -> 403, while `X-Forwarded-For: 203.0.113.7`
      reaches the WebSocket layer as a non-local client).
    """
    ctx = ConnectContext(peer=peer, headers=headers)
    trusted = is_trusted_proxy(peer, config)
    proxied = has_proxy_headers(ctx)
    if untrusted_proxy_headers and proxied and not trusted:
        return "proxy headers from untrusted peer (unattributable proxy-shaped traffic)"
    if (
        untrusted_proxy_headers
        and config.auth_mode == "trusted-proxy"
        and config.trusted_proxy is not None
        and trusted
    ):
        user = (ctx.header(config.trusted_proxy.user_header) or "").strip()
        if user and not (ctx.header("x-forwarded-for") or "").strip():
            return "trusted-proxy user header without X-Forwarded-For"
    if (
        proxied_loopback
        and proxied
        and trusted
        and is_loopback_ip(forwarded_client_ip(ctx, config))
    ):
        return "trusted proxy forwarding for a loopback client (unattributable proxy traffic)"
    return None
