"""What every real gateway the harness starts shares, whatever runs it (a process, a container):
its secrets, its config file, and an environment built from scratch, so nothing of the user's
(an OPENCLAW_GATEWAY_TOKEN, a ~/.openclaw) ever reaches a case."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from conformance.cases.gateway import GatewaySpec
from conformance.targets.base import CaseNotApplicable

# GATEWAY_PROTOCOL.md section 8: off what a conformance run never needs (channels, providers,
# bonjour, the browser-control server, cron, updates), so gateways start quietly and alone.
QUIET_ENV = {
    "OPENCLAW_NO_RESPAWN": "1",
    "OPENCLAW_SKIP_CHANNELS": "1",
    "OPENCLAW_SKIP_PROVIDERS": "1",
    "OPENCLAW_SKIP_CANVAS_HOST": "1",
    "OPENCLAW_DISABLE_BONJOUR": "1",
    "OPENCLAW_SKIP_BROWSER_CONTROL_SERVER": "1",
    "OPENCLAW_SKIP_CRON": "1",
    "OPENCLAW_SKIP_GMAIL_WATCHER": "1",
    "OPENCLAW_NO_AUTO_UPDATE": "1",
    "OPENCLAW_SKIP_STARTUP_MODEL_PREWARM": "1",
}


def new_secrets(spec: GatewaySpec) -> tuple[str | None, str | None]:
    """A fresh token or password for a gateway we start (never reused across gateways)."""
    token = secrets.token_urlsafe(24) if spec.auth == "token" else None
    password = secrets.token_urlsafe(24) if spec.auth == "password" else None
    return token, password


def safe_label(spec: GatewaySpec) -> str:
    """The spec's label as a folder-name fragment."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", spec.label)[:40]


# Releases up to 2026.2.26 at least refuse to start bound beyond loopback with the Control UI on
# and no `gateway.controlUi.allowedOrigins` ("non-loopback Control UI requires
# gateway.controlUi.allowedOrigins"); the other way out, dangerouslyAllowHostHeaderOriginFallback,
# would change which Origins are accepted. An origin in `.invalid` (RFC 2606) that no case sends
# changes nothing a case depends on: the origin check only ever compares a sent Origin with it.
BIND_ONLY_ORIGIN = "https://bind-only.conformance.invalid"


# A release older than a setting refuses the whole config ("Invalid config ... gateway.controlUi:
# Unrecognized key: "allowedOrigins"": 2026.2.1). The allowlist only matters to cases that send
# an allowed Origin, so the gateway starts without it and those cases are not applicable there
# (conformance.judge.runner); every other case of the config is judged as usual.
ORIGINS_SETTING = "gateway.controlUi.allowedOrigins"
_ORIGINS_REFUSED = re.compile(r'gateway\.controlUi: Unrecognized key: "allowedOrigins"')


def refused_settings(config: dict[str, Any], start_error: str) -> tuple[str, ...]:
    """The settings of `config` a failed start says the release does not know, and that a
    gateway can start without; () when the failure was something else."""
    control_ui = (config.get("gateway") or {}).get("controlUi") or {}
    if "allowedOrigins" in control_ui and _ORIGINS_REFUSED.search(start_error):
        return (ORIGINS_SETTING,)
    return ()


# 2026.2.19 will not run trusted-proxy on loopback ("gateway auth mode=trusted-proxy makes no
# sense with bind=loopback; use bind=lan ..."); 9.6 does. Bound on lan, the gateway still
# answers on loopback, which is where such a config's cases connect from.
_LOOPBACK_BIND_REFUSED = re.compile(r"makes no sense with bind=loopback")


def refuses_loopback_bind(start_error: str) -> bool:
    return bool(_LOOPBACK_BIND_REFUSED.search(start_error))


_AUTH_MODE_REFUSED = re.compile(r"gateway\.auth\.mode: Invalid input")


def refuses_auth_mode(start_error: str) -> bool:
    """The release does not know the config's auth mode (2026.2.1: none, trusted-proxy)."""
    return bool(_AUTH_MODE_REFUSED.search(start_error))


def without_settings(config: dict[str, Any], settings: tuple[str, ...]) -> dict[str, Any]:
    out = json.loads(json.dumps(config))
    if ORIGINS_SETTING in settings:
        control_ui = out.get("gateway", {}).get("controlUi", {})
        control_ui.pop("allowedOrigins", None)
        if not control_ui:
            out["gateway"].pop("controlUi", None)
    return out


def render_config(
    spec: GatewaySpec,
    *,
    token: str | None,
    password: str | None,
    remote_peer_ip: str | None,
    bind: str,
    log_file: str,
) -> dict[str, Any]:
    """The openclaw.json; the gateway's own log file goes into its folder (both releases
    otherwise append to a /tmp/openclaw file shared by every instance and left behind)."""
    try:
        config = spec.to_openclaw_config(
            token=token,
            password=password,
            loopback_ip="127.0.0.1",
            remote_peer_ip=remote_peer_ip,
            bind=bind,
        )
    except ValueError as exc:
        raise CaseNotApplicable(str(exc)) from exc
    config.setdefault("logging", {})["file"] = log_file
    if bind != "loopback" and not spec.control_ui.allowed_origins:
        config["gateway"].setdefault("controlUi", {})["allowedOrigins"] = [BIND_ONLY_ORIGIN]
    return config


def environment(root: str, *, port: int, compile_cache: str, spec: GatewaySpec) -> dict[str, str]:
    """HOME, TMPDIR, state dir and config all under `root`, the gateway's own folder."""
    env = {
        "HOME": f"{root}/home",
        "TMPDIR": f"{root}/tmp",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "OPENCLAW_STATE_DIR": f"{root}/state",
        "OPENCLAW_CONFIG_PATH": f"{root}/openclaw.json",
        "OPENCLAW_GATEWAY_PORT": str(port),
        # Node's compile cache defaults to TMPDIR, private and empty per gateway: share one.
        "NODE_COMPILE_CACHE": compile_cache,
        "NO_COLOR": "1",
        **QUIET_ENV,
    }
    env.update(spec.environment())
    return env
