"""The gateway config a case needs, and its rendering as an OpenClaw config file.

Cases name trusted proxies symbolically (`loopback`, `remote-peer`) because the concrete address
of the harness's remote vantage point is only known once the network namespace exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AuthMode = Literal["token", "password", "none", "trusted-proxy"]
LOOPBACK_PROXY = "loopback"
REMOTE_PEER_PROXY = "remote-peer"


@dataclass(frozen=True)
class TrustedProxyAuth:
    user_header: str = "x-forwarded-user"
    required_headers: tuple[str, ...] = ()
    allow_users: tuple[str, ...] = ()


@dataclass(frozen=True)
class ControlUi:
    allowed_origins: tuple[str, ...] = ()
    allow_insecure_auth: bool = False
    dangerously_disable_device_auth: bool = False


@dataclass(frozen=True)
class GatewaySpec:
    """Hashable: equal specs share one running gateway."""

    auth: str = "token"
    trusted_proxies: tuple[str, ...] = ()
    trusted_proxy: TrustedProxyAuth | None = None
    control_ui: ControlUi = field(default_factory=ControlUi)
    handshake_timeout_ms: int | None = None

    @property
    def label(self) -> str:
        """A short human name for logs and folder names."""
        parts = [self.auth]
        if self.trusted_proxies:
            parts.append("proxies=" + "+".join(self.trusted_proxies))
        if self.control_ui.allow_insecure_auth:
            parts.append("insecure-auth")
        if self.control_ui.dangerously_disable_device_auth:
            parts.append("no-device-auth")
        if self.control_ui.allowed_origins:
            parts.append(f"origins={len(self.control_ui.allowed_origins)}")
        if self.handshake_timeout_ms is not None:
            parts.append(f"hs={self.handshake_timeout_ms}ms")
        return ",".join(parts)

    def resolve_proxy(self, name: str, *, loopback_ip: str, remote_peer_ip: str | None) -> str:
        if name == LOOPBACK_PROXY:
            return loopback_ip
        if name == REMOTE_PEER_PROXY:
            if remote_peer_ip is None:
                raise ValueError("trusted proxy 'remote-peer' needs a remote vantage point")
            return remote_peer_ip
        return name

    def to_openclaw_config(
        self,
        *,
        token: str | None,
        password: str | None,
        loopback_ip: str = "127.0.0.1",
        remote_peer_ip: str | None = None,
        bind: str = "loopback",
    ) -> dict[str, Any]:
        """The `openclaw.json` that makes a real (or the reference) gateway behave as specified."""
        auth: dict[str, Any] = {"mode": self.auth}
        if self.auth == "token":
            auth["token"] = token
        elif self.auth == "password":
            auth["password"] = password
        elif self.auth == "trusted-proxy":
            tp = self.trusted_proxy or TrustedProxyAuth()
            auth["trustedProxy"] = {
                "userHeader": tp.user_header,
                "requiredHeaders": list(tp.required_headers),
                "allowUsers": list(tp.allow_users),
            }
        gateway: dict[str, Any] = {"mode": "local", "bind": bind, "auth": auth}
        if self.trusted_proxies:
            gateway["trustedProxies"] = [
                self.resolve_proxy(p, loopback_ip=loopback_ip, remote_peer_ip=remote_peer_ip)
                for p in self.trusted_proxies
            ]
        control_ui: dict[str, Any] = {}
        if self.control_ui.allowed_origins:
            control_ui["allowedOrigins"] = list(self.control_ui.allowed_origins)
        if self.control_ui.allow_insecure_auth:
            control_ui["allowInsecureAuth"] = True
        if self.control_ui.dangerously_disable_device_auth:
            control_ui["dangerouslyDisableDeviceAuth"] = True
        if control_ui:
            gateway["controlUi"] = control_ui
        return {"gateway": gateway, "update": {"checkOnStart": False}}

    def environment(self) -> dict[str, str]:
        """Environment variables a gateway process needs for this spec, beyond its config file."""
        env: dict[str, str] = {}
        if self.handshake_timeout_ms is not None:
            env["OPENCLAW_HANDSHAKE_TIMEOUT_MS"] = str(self.handshake_timeout_ms)
        return env
