"""The hello-ok payload (§6): protocol-3 shape for 2026.3.13, protocol-4 shape for current."""

from __future__ import annotations

from typing import Any

from reference_gateway.frames import MAX_BUFFERED_BYTES, MAX_PAYLOAD_BYTES, TICK_INTERVAL_MS
from reference_gateway.policy import Accepted
from reference_gateway.profiles import Profile

EVENTS = (
    "connect.challenge",
    "agent",
    "chat",
    "presence",
    "tick",
    "health",
    "heartbeat",
    "device.pair.requested",
    "device.pair.resolved",
    "exec.approval.requested",
    "exec.approval.resolved",
    "shutdown",
)


def hello_auth(profile: Profile, accepted: Accepted) -> dict[str, Any] | None:
    token = accepted.device_token
    if not profile.hello_auth_always:
        # Protocol 3: only with an issued device token, and then the *token's* scopes.
        if token is None:
            return None
        return {
            "deviceToken": token.token,
            "role": token.role,
            "scopes": list(token.scopes),
            "issuedAtMs": token.issued_at_ms,
        }
    auth: dict[str, Any] = {
        "method": accepted.auth_method,
        "role": accepted.role,
        "scopes": list(accepted.scopes),  # K20: as granted, not expanded
    }
    if token is not None:
        auth["deviceToken"] = token.token
        auth["issuedAtMs"] = token.issued_at_ms
    return auth


def build_hello_ok(
    profile: Profile,
    accepted: Accepted,
    *,
    conn_id: str,
    methods: list[str],
    uptime_ms: int,
    auth_mode: str,
    presence: list[dict[str, Any]],
) -> dict[str, Any]:
    hello: dict[str, Any] = {
        "type": "hello-ok",
        "protocol": accepted.protocol,
        "server": {"version": profile.version, "connId": conn_id},
        "features": {"methods": methods, "events": list(EVENTS)},
        "snapshot": {
            "presence": presence,
            "health": {"ok": True},
            "stateVersion": {"presence": len(presence), "health": 1},
            "uptimeMs": uptime_ms,
            "authMode": auth_mode,
        },
        "policy": {
            "maxPayload": MAX_PAYLOAD_BYTES,
            "maxBufferedBytes": MAX_BUFFERED_BYTES,
            "tickIntervalMs": TICK_INTERVAL_MS,
        },
    }
    auth = hello_auth(profile, accepted)
    if auth is not None:
        hello["auth"] = auth
    return hello
