"""Gateway configuration in OpenClaw's `openclaw.json` shape, and the startup refusals of §3.1.

Only the keys the handshake policy reads are modelled; unknown keys are ignored on purpose, since
the harness (and real users) write full OpenClaw configs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AUTH_MODES = ("token", "password", "none", "trusted-proxy")


class ConfigError(Exception):
    """The gateway refuses to start; the message is what OpenClaw prints."""


@dataclass(frozen=True)
class TrustedProxyAuth:
    user_header: str
    required_headers: tuple[str, ...] = ()
    allow_users: tuple[str, ...] = ()


@dataclass(frozen=True)
class GatewayConfig:
    auth_mode: str = "token"
    token: str | None = None
    password: str | None = None
    trusted_proxy: TrustedProxyAuth | None = None
    trusted_proxies: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    allow_insecure_auth: bool = False
    dangerously_disable_device_auth: bool = False
    allow_real_ip_fallback: bool = False
    bind: str = "loopback"
    handshake_timeout_ms: int | None = None


def _str_or_none(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    return None


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v) for v in value if isinstance(v, str) and v.strip())


def _validate_proxy_entries(entries: tuple[str, ...]) -> None:
    for entry in entries:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ConfigError(f"invalid gateway.trustedProxies entry: {entry!r}") from None


def load_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> GatewayConfig:
    """Resolve the auth mode and secrets as §3.1 describes, or raise ConfigError."""
    env = env or {}
    gateway = data.get("gateway") if isinstance(data, Mapping) else None
    if not isinstance(gateway, Mapping):
        gateway = {}
    auth = gateway.get("auth") if isinstance(gateway.get("auth"), Mapping) else {}
    assert isinstance(auth, Mapping)

    cfg_token = _str_or_none(auth.get("token"))
    cfg_password = _str_or_none(auth.get("password"))
    explicit_mode = auth.get("mode")
    if explicit_mode is not None and explicit_mode not in AUTH_MODES:
        raise ConfigError(f"invalid gateway.auth.mode: {explicit_mode!r}")
    if explicit_mode is None and cfg_token and cfg_password:
        raise ConfigError(
            "gateway auth has both token and password configured; set gateway.auth.mode"
        )
    # Config has priority; the env fills only absent values (§3.1).
    token = cfg_token or _str_or_none(env.get("OPENCLAW_GATEWAY_TOKEN"))
    password = cfg_password or _str_or_none(env.get("OPENCLAW_GATEWAY_PASSWORD"))
    default_mode = "password" if password else "token"
    mode = str(explicit_mode) if explicit_mode is not None else default_mode

    trusted_proxy: TrustedProxyAuth | None = None
    tp = auth.get("trustedProxy")
    if isinstance(tp, Mapping):
        header = _str_or_none(tp.get("userHeader"))
        if header is not None:
            trusted_proxy = TrustedProxyAuth(
                user_header=header.strip().lower(),
                required_headers=tuple(
                    h.strip().lower() for h in _strings(tp.get("requiredHeaders"))
                ),
                allow_users=_strings(tp.get("allowUsers")),
            )

    if mode == "token" and not token:
        raise ConfigError(
            "gateway auth mode is token, but no token was configured "
            "(set gateway.auth.token or OPENCLAW_GATEWAY_TOKEN)"
        )
    if mode == "password" and not password:
        raise ConfigError(
            "gateway auth mode is password, but no password was configured "
            "(set gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD)"
        )
    if mode == "trusted-proxy" and trusted_proxy is None:
        raise ConfigError(
            "gateway auth mode is trusted-proxy, but no trustedProxy.userHeader was configured "
            "(set gateway.auth.trustedProxy.userHeader)"
        )

    trusted_proxies = _strings(gateway.get("trustedProxies"))
    _validate_proxy_entries(trusted_proxies)
    control_ui = gateway.get("controlUi") if isinstance(gateway.get("controlUi"), Mapping) else {}
    assert isinstance(control_ui, Mapping)
    hs = gateway.get("handshakeTimeoutMs")
    return GatewayConfig(
        auth_mode=mode,
        token=token,
        password=password,
        trusted_proxy=trusted_proxy,
        trusted_proxies=trusted_proxies,
        allowed_origins=_strings(control_ui.get("allowedOrigins")),
        allow_insecure_auth=control_ui.get("allowInsecureAuth") is True,
        dangerously_disable_device_auth=control_ui.get("dangerouslyDisableDeviceAuth") is True,
        allow_real_ip_fallback=gateway.get("allowRealIpFallback") is True,
        bind=str(gateway.get("bind") or "loopback"),
        handshake_timeout_ms=hs if isinstance(hs, int) and hs > 0 else None,
    )


def redacted(config: GatewayConfig) -> dict[str, Any]:
    """What `config.get` shows: the shape, never the secrets."""
    auth: dict[str, Any] = {"mode": config.auth_mode}
    if config.token:
        auth["token"] = "__OPENCLAW_REDACTED__"
    if config.password:
        auth["password"] = "__OPENCLAW_REDACTED__"
    if config.trusted_proxy:
        auth["trustedProxy"] = {
            "userHeader": config.trusted_proxy.user_header,
            "requiredHeaders": list(config.trusted_proxy.required_headers),
            "allowUsers": list(config.trusted_proxy.allow_users),
        }
    return {
        "gateway": {
            "mode": "local",
            "bind": config.bind,
            "auth": auth,
            "trustedProxies": list(config.trusted_proxies),
            "controlUi": {
                "allowedOrigins": list(config.allowed_origins),
                **({"allowInsecureAuth": True} if config.allow_insecure_auth else {}),
                **(
                    {"dangerouslyDisableDeviceAuth": True}
                    if config.dangerously_disable_device_auth
                    else {}
                ),
            },
        }
    }
