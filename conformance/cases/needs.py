"""What a case needs of a gateway, apart from the one config a started gateway is given.

A case's `gateway` block is the config a target that starts gateways gives the instance for it.
Most of that block is incidental to the case's contract (the exact allowed-origin string, the
secrets); a gateway someone else runs can serve the case as long as it agrees on what the
expectation depends on: the auth mode, which of the harness's peers it trusts as proxies, the
trusted-proxy settings, the Control UI flags, whether the Origin the case sends is allowed.
`Needs` is that part; `Deployed` is what a given gateway offers; `unmet` says why one does not
meet the other, with a category the coverage summary counts.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.cases.gateway import LOOPBACK_PROXY, REMOTE_PEER_PROXY, TrustedProxyAuth
from conformance.cases.model import Case, DeviceState

# The origin a started gateway allows (cases' gateway blocks list it) and one no sane gateway
# allows: `.invalid` can never resolve (RFC 2606).
HARNESS_ORIGIN = "https://control.conformance.test"
NOT_ALLOWED_ORIGIN = "https://not-allowed.conformance.invalid"
ORIGIN_ROLES = ("allowed", "not-allowed", "gateway")
LOOPBACK_PEER = "127.0.0.1"


class Need(enum.Enum):
    """Why a case cannot run on a target: the coverage summary's categories, most actionable
    first. The value is the phrase after "N cases need"."""

    AUTH_TOKEN = "token auth"
    AUTH_PASSWORD = "password auth"
    AUTH_NONE = "auth none"
    AUTH_TRUSTED_PROXY = "trusted-proxy auth"
    SECRET = "the gateway's token or password"
    PAIRING = "to pair devices (--gateway-allow-pairing)"
    REMOTE = "a remote vantage point"
    LOOPBACK = "a loopback vantage point (run on the gateway's host)"
    ORIGIN = "an allowed Control UI origin (gateway.controlUi.allowedOrigins)"
    TRUSTED_PROXIES = "other gateway.trustedProxies"
    TRUSTED_PROXY_SETTINGS = "other gateway.auth.trustedProxy settings"
    CONTROL_UI_FLAGS = "other Control UI flags (allowInsecureAuth, dangerouslyDisableDeviceAuth)"
    HANDSHAKE_TIMEOUT = "a gateway started with a short handshake timeout"
    CLI = "the release's own openclaw CLI"
    VERSION = "another gateway version (since/until)"
    OTHER = "something else"


_AUTH_NEED = {
    "token": Need.AUTH_TOKEN,
    "password": Need.AUTH_PASSWORD,
    "none": Need.AUTH_NONE,
    "trusted-proxy": Need.AUTH_TRUSTED_PROXY,
}


def auth_need(mode: str) -> Need:
    return _AUTH_NEED.get(mode, Need.OTHER)


@dataclass(frozen=True)
class Needs:
    auth: str
    via: str  # loopback | remote
    loopback_trusted: bool  # the gateway trusts its loopback peer as a proxy
    remote_trusted: bool  # ... and the harness's remote peer
    trusted_proxy: TrustedProxyAuth | None  # trusted-proxy mode only
    allow_insecure_auth: bool
    dangerously_disable_device_auth: bool
    origin: str | None  # None, a role of ORIGIN_ROLES, or a literal
    origin_allowed: bool | None  # for a literal: whether the case's own config allows it
    handshake_timeout_ms: int | None
    pairs: bool  # sends a device: may pair it or leave a pending request
    pairs_first: bool  # pairs a device before the case, from loopback


def _covers(entries: Iterable[str], ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    for entry in entries:
        try:
            if addr in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def needs_of(case: Case) -> Needs:
    spec = case.gateway
    proxies = spec.trusted_proxies
    literal = [p for p in proxies if p not in (LOOPBACK_PROXY, REMOTE_PEER_PROXY)]
    origin = case.connection.origin
    return Needs(
        auth=spec.auth,
        via=case.connection.via,
        loopback_trusted=LOOPBACK_PROXY in proxies or _covers(literal, LOOPBACK_PEER),
        remote_trusted=REMOTE_PEER_PROXY in proxies,
        trusted_proxy=(spec.trusted_proxy or TrustedProxyAuth())
        if spec.auth == "trusted-proxy"
        else None,
        allow_insecure_auth=spec.control_ui.allow_insecure_auth,
        dangerously_disable_device_auth=spec.control_ui.dangerously_disable_device_auth,
        origin=origin,
        origin_allowed=None
        if origin is None or origin in ORIGIN_ROLES
        else origin in spec.control_ui.allowed_origins,
        handshake_timeout_ms=spec.handshake_timeout_ms,
        pairs=case.device.state is not DeviceState.NONE,
        pairs_first=case.device.state is DeviceState.PAIRED,
    )


@dataclass(frozen=True)
class Deployed:
    """What a gateway we were given runs with, as far as the cases care."""

    auth: str
    trusted_proxies: tuple[str, ...] = ()
    trusted_proxy: TrustedProxyAuth | None = None
    allow_insecure_auth: bool = False
    dangerously_disable_device_auth: bool = False
    allowed_origins: tuple[str, ...] = ()
    bind: str | None = None  # loopback | lan | custom | tailnet | auto; None: unknown
    source: str = "flags"  # where this came from: config.get, --gateway-config FILE, flags

    @property
    def allowed_origin(self) -> str | None:
        """An origin this gateway allows, for `origin: allowed` cases."""
        for origin in self.allowed_origins:
            if origin == "*":
                return HARNESS_ORIGIN
            if "://" in origin:
                return origin
        return None

    def allows_origin(self, origin: str) -> bool:
        return "*" in self.allowed_origins or origin in self.allowed_origins

    def trusts(self, ip: str | None) -> bool | None:
        """Whether a peer at `ip` is a trusted proxy here; None when that cannot be known."""
        if not self.trusted_proxies:
            return False
        if ip is None:
            return None
        return _covers(self.trusted_proxies, ip)

    def describe(self) -> str:
        parts = [f"auth {self.auth}"]
        if self.bind:
            parts.append(f"bind {self.bind}")
        if self.trusted_proxies:
            parts.append("trustedProxies " + ",".join(self.trusted_proxies))
        if self.allowed_origins:
            parts.append(f"{len(self.allowed_origins)} allowed origin(s)")
        if self.allow_insecure_auth:
            parts.append("allowInsecureAuth")
        if self.dangerously_disable_device_auth:
            parts.append("dangerouslyDisableDeviceAuth")
        return ", ".join(parts)


@dataclass(frozen=True)
class Unmet:
    need: Need
    reason: str


def unmet(
    needs: Needs, gw: Deployed, *, remote_peer_ip: str | None, remote_known: bool
) -> Unmet | None:
    """Why `gw` cannot serve a case with `needs`, or None when it can.

    `remote_peer_ip` is the address the gateway sees for the harness's remote vantage point
    (None when unknown); `remote_known` says whether that point exists at all (vantages are the
    caller's business, checked separately).
    """
    return (
        _config_unmet(needs, gw)
        or _proxies_unmet(needs, gw, remote_peer_ip=remote_peer_ip, remote_known=remote_known)
        or _origin_unmet(needs, gw)
    )


def _config_unmet(needs: Needs, gw: Deployed) -> Unmet | None:
    """The auth mode and the settings that go with it."""
    if needs.auth != gw.auth:
        return Unmet(
            auth_need(needs.auth),
            f"needs auth {needs.auth}; the gateway runs auth {gw.auth} ({gw.source})",
        )
    if needs.handshake_timeout_ms is not None:
        return Unmet(
            Need.HANDSHAKE_TIMEOUT,
            f"needs a gateway started with a {needs.handshake_timeout_ms} ms handshake timeout",
        )
    if needs.trusted_proxy is not None and needs.trusted_proxy != (
        gw.trusted_proxy or TrustedProxyAuth()
    ):
        return Unmet(
            Need.TRUSTED_PROXY_SETTINGS,
            f"needs gateway.auth.trustedProxy {_tp(needs.trusted_proxy)}; the gateway has "
            f"{_tp(gw.trusted_proxy or TrustedProxyAuth())}",
        )
    if needs.allow_insecure_auth != gw.allow_insecure_auth or (
        needs.dangerously_disable_device_auth != gw.dangerously_disable_device_auth
    ):
        return Unmet(
            Need.CONTROL_UI_FLAGS,
            "needs gateway.controlUi allowInsecureAuth="
            f"{needs.allow_insecure_auth} dangerouslyDisableDeviceAuth="
            f"{needs.dangerously_disable_device_auth}; the gateway has "
            f"{gw.allow_insecure_auth} and {gw.dangerously_disable_device_auth}",
        )
    return None


def _proxies_unmet(
    needs: Needs, gw: Deployed, *, remote_peer_ip: str | None, remote_known: bool
) -> Unmet | None:
    """Whether the peers the case connects from are trusted as proxies exactly as it needs."""
    loopback_trusted = gw.trusts(LOOPBACK_PEER)
    uses_loopback = needs.via == "loopback" or needs.pairs_first
    if uses_loopback and loopback_trusted != needs.loopback_trusted:
        return Unmet(
            Need.TRUSTED_PROXIES,
            "needs a gateway that "
            + ("trusts" if needs.loopback_trusted else "does not trust")
            + " its loopback peer as a proxy (gateway.trustedProxies: "
            + (", ".join(gw.trusted_proxies) or "none")
            + ")",
        )
    if needs.via == "remote" and remote_known:
        trusted = gw.trusts(remote_peer_ip)
        if trusted is None:
            return Unmet(
                Need.TRUSTED_PROXIES,
                "the gateway has gateway.trustedProxies and the address it sees for the "
                "harness's remote peer is unknown, so whether that peer is a proxy cannot be told",
            )
        if trusted != needs.remote_trusted:
            return Unmet(
                Need.TRUSTED_PROXIES,
                "needs a gateway that "
                + ("trusts" if needs.remote_trusted else "does not trust")
                + f" the harness's remote peer {remote_peer_ip} as a proxy",
            )
    return None


def _origin_unmet(needs: Needs, gw: Deployed) -> Unmet | None:
    if needs.origin == "allowed" and gw.allowed_origin is None:
        return Unmet(
            Need.ORIGIN,
            "sends an allowed Origin; the gateway allows none (gateway.controlUi.allowedOrigins)",
        )
    if needs.origin == "not-allowed" and gw.allows_origin(NOT_ALLOWED_ORIGIN):
        return Unmet(Need.ORIGIN, "sends a disallowed Origin; the gateway allows every origin")
    if (
        needs.origin_allowed is not None
        and needs.origin is not None
        and gw.allows_origin(needs.origin) != needs.origin_allowed
    ):
        return Unmet(
            Need.ORIGIN,
            f"needs a gateway that {'allows' if needs.origin_allowed else 'refuses'} "
            f"the Origin {needs.origin}",
        )
    return None


def _tp(tp: TrustedProxyAuth) -> str:
    return (
        f"{{userHeader: {tp.user_header}, requiredHeaders: {list(tp.required_headers)}, "
        f"allowUsers: {list(tp.allow_users)}}}"
    )


def deployed_from_config(data: Mapping[str, Any], source: str) -> Deployed:
    """Read an OpenClaw config (`openclaw.json`, or what `config.get` returns) as a `Deployed`.

    Mode resolution follows GATEWAY_PROTOCOL.md section 3.1: an explicit mode wins, else password
    when a password is set, else token. Redacted secrets still count as set.
    """
    gateway = data.get("gateway") if isinstance(data, Mapping) else None
    if not isinstance(gateway, Mapping):
        gateway = {}
    auth = gateway.get("auth") if isinstance(gateway.get("auth"), Mapping) else {}
    mode = auth.get("mode")
    if not isinstance(mode, str) or not mode:
        mode = "password" if auth.get("password") else "token"
    tp_raw = auth.get("trustedProxy")
    trusted_proxy = None
    if isinstance(tp_raw, Mapping):
        trusted_proxy = TrustedProxyAuth(
            user_header=str(tp_raw.get("userHeader") or "x-forwarded-user").lower(),
            required_headers=tuple(str(h).lower() for h in tp_raw.get("requiredHeaders") or ()),
            allow_users=tuple(str(u) for u in tp_raw.get("allowUsers") or ()),
        )
    cui = gateway.get("controlUi") if isinstance(gateway.get("controlUi"), Mapping) else {}
    proxies = gateway.get("trustedProxies") or ()
    bind = gateway.get("bind")
    return Deployed(
        auth=mode,
        trusted_proxies=tuple(str(p) for p in proxies) if isinstance(proxies, list) else (),
        trusted_proxy=trusted_proxy,
        allow_insecure_auth=cui.get("allowInsecureAuth") is True,
        dangerously_disable_device_auth=cui.get("dangerouslyDisableDeviceAuth") is True,
        allowed_origins=tuple(str(o) for o in cui.get("allowedOrigins") or ()),
        bind=bind if isinstance(bind, str) else None,
        source=source,
    )
