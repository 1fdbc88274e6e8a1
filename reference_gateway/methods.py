"""RPCs after hello-ok: method authorisation (§5.1) and the cheap probe answers of §6.1.

Authorisation runs before parameter validation, so an `invalid ... params` answer proves the
caller got past the scope check, which is exactly what the harness's probes rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reference_gateway.config import GatewayConfig, redacted
from reference_gateway.frames import ErrorCode, ErrorShape
from reference_gateway.pairing import (
    ADMIN,
    DEFAULT_ENTROPY,
    READ,
    WRITE,
    Entropy,
    PairingState,
    approve,
    paired_json,
    pending_json,
    reject,
    remove,
    scopes_allow,
)
from reference_gateway.profiles import Profile

PAIRING = "operator.pairing"
APPROVALS = "operator.approvals"

NODE_METHODS = frozenset(
    {
        "node.invoke.result",
        "node.event",
        "node.pending.pull",
        "node.pending.ack",
        "skills.bins",
    }
)
# Methods with an explicit scope; everything else needs operator.admin (§5.1).
METHOD_SCOPES: Mapping[str, str] = {
    "status": READ,
    "system-presence": READ,
    "config.get": READ,  # §6.1 uses it as a read probe, ahead of the `config.` admin prefix
    "sessions.list": READ,
    "chat.history": READ,
    "models.list": READ,
    "logs.tail": READ,
    "chat.abort": WRITE,
    "chat.send": WRITE,
    "send": WRITE,
    "agent": WRITE,
    "sessions.delete": ADMIN,
    "device.pair.list": PAIRING,
    "device.pair.approve": PAIRING,
    "device.pair.reject": PAIRING,
    "device.pair.remove": PAIRING,
    "device.token.rotate": PAIRING,
    "device.token.revoke": PAIRING,
    "exec.approval.resolve": APPROVALS,
}
ADMIN_PREFIXES = ("config.", "exec.approvals.", "wizard.", "update.")
SERVED_METHODS = (
    "health",
    "status",
    "system-presence",
    "config.get",
    "chat.abort",
    "sessions.delete",
    "exec.approval.resolve",
    "device.pair.list",
    "device.pair.approve",
    "device.pair.reject",
    "device.pair.remove",
)


def required_scope(method: str) -> str:
    if method in METHOD_SCOPES:
        return METHOD_SCOPES[method]
    if method.startswith(ADMIN_PREFIXES):
        return ADMIN
    return ADMIN


def authorize_method(
    role: str, scopes: tuple[str, ...] | list[str], method: str, profile: Profile
) -> ErrorShape | None:
    """None when allowed; else `unauthorized role: <role>` or `missing scope: <scope>`."""
    if method == "health":
        return None
    if method in NODE_METHODS:
        if role == "node":
            return None
        return ErrorShape(ErrorCode.INVALID_REQUEST, f"unauthorized role: {role}")
    if role != "operator":
        return ErrorShape(ErrorCode.INVALID_REQUEST, f"unauthorized role: {role}")
    granted = set(scopes)
    if ADMIN in granted:
        return None
    needed = required_scope(method)
    if needed in granted or (needed == READ and WRITE in granted):
        return None
    return ErrorShape(profile.missing_scope_code, f"missing scope: {needed}")


@dataclass(frozen=True)
class RpcCall:
    config: GatewayConfig
    profile: Profile
    state: PairingState
    role: str
    scopes: tuple[str, ...]
    now_ms: int
    uptime_ms: int = 0
    presence: list[dict[str, Any]] = field(default_factory=list)
    entropy: Entropy = DEFAULT_ENTROPY


@dataclass(frozen=True)
class RpcResult:
    state: PairingState
    payload: Any = None
    error: ErrorShape | None = None
    events: tuple[tuple[str, Any], ...] = ()  # broadcasts for every connection


def _invalid(message: str) -> ErrorShape:
    return ErrorShape(ErrorCode.INVALID_REQUEST, message)


def _params_error(method: str, message: str) -> ErrorShape:
    return _invalid(f"invalid {method} params: {message}")


def _require(method: str, params: dict[str, Any], *names: str) -> ErrorShape | None:
    for name in names:
        if name not in params:
            return _params_error(method, f"must have required property '{name}'")
        if not isinstance(params[name], str) or not params[name]:
            return _params_error(method, f"at /{name}: must be non-empty string")
    return None


def handle_rpc(call: RpcCall, method: str, params: Any) -> RpcResult:
    denied = authorize_method(call.role, call.scopes, method, call.profile)
    if denied is not None:
        return RpcResult(call.state, error=denied)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return RpcResult(call.state, error=_params_error(method, "must be object"))
    handler = _HANDLERS.get(method)
    if handler is None:
        return RpcResult(call.state, error=_invalid(f"unknown method: {method}"))
    return handler(call, params)


def _health(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    return RpcResult(call.state, {"ok": True, "ts": call.now_ms})


def _status(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    return RpcResult(
        call.state,
        {
            "ok": True,
            "version": call.profile.version,
            "protocol": call.profile.protocol,
            "uptimeMs": call.uptime_ms,
            "authMode": call.config.auth_mode,
            "sessions": {"count": 0},
        },
    )


def _presence(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    return RpcResult(call.state, list(call.presence))


def _config_get(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    return RpcResult(call.state, {"exists": True, "valid": True, "config": redacted(call.config)})


def _chat_abort(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    if call.profile.chat_abort_needs_admin_target and ADMIN not in call.scopes:
        # §6.1: 9.6 answers a write-only caller this way before looking at the params.
        return RpcResult(call.state, error=_invalid("session mutation target is unavailable"))
    err = _require("chat.abort", params, "sessionKey")
    if err:
        return RpcResult(call.state, error=err)
    return RpcResult(call.state, {"ok": True, "aborted": False})


def _sessions_delete(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    err = _require("sessions.delete", params, "key")
    if err:
        return RpcResult(call.state, error=err)
    return RpcResult(call.state, {"ok": True, "key": params["key"], "deleted": False})


def _approval_resolve(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    err = _require("exec.approval.resolve", params, "id", "decision")
    if err:
        return RpcResult(call.state, error=err)
    return RpcResult(call.state, error=_invalid("unknown approval id"))


def _pair_list(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    return RpcResult(
        call.state,
        {
            "pending": [pending_json(p) for p in call.state.pending.values()],
            "paired": [paired_json(d) for d in call.state.paired.values()],
        },
    )


def _pair_approve(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    err = _require("device.pair.approve", params, "requestId")
    if err:
        return RpcResult(call.state, error=err)
    request = call.state.pending.get(params["requestId"])
    if request is None:
        return RpcResult(call.state, error=_invalid("unknown requestId"))
    if call.profile.approve_capped_by_caller and not scopes_allow(
        request.scopes, call.scopes, implied=True
    ):
        # §7.3: 9.6 approval cannot grant scopes above the caller's own.
        missing = next(
            s for s in request.scopes if not scopes_allow([s], call.scopes, implied=True)
        )
        return RpcResult(
            call.state,
            error=ErrorShape(call.profile.missing_scope_code, f"missing scope: {missing}"),
        )
    result = approve(
        call.state,
        request.request_id,
        now_ms=call.now_ms,
        mint_empty=call.profile.mint_token_for_empty_scopes,
        entropy=call.entropy,
    )
    assert result is not None
    state, device = result
    resolved = {
        "requestId": request.request_id,
        "deviceId": device.device_id,
        "decision": "approved",
        "ts": call.now_ms,
    }
    return RpcResult(
        state,
        {"requestId": request.request_id, "device": paired_json(device)},
        events=(("device.pair.resolved", resolved),),
    )


def _pair_reject(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    err = _require("device.pair.reject", params, "requestId")
    if err:
        return RpcResult(call.state, error=err)
    result = reject(call.state, params["requestId"])
    if result is None:
        return RpcResult(call.state, error=_invalid("unknown requestId"))
    state, request = result
    resolved = {
        "requestId": request.request_id,
        "deviceId": request.meta.device_id,
        "decision": "rejected",
        "ts": call.now_ms,
    }
    return RpcResult(
        state,
        {"requestId": request.request_id, "deviceId": request.meta.device_id},
        events=(("device.pair.resolved", resolved),),
    )


def _pair_remove(call: RpcCall, params: dict[str, Any]) -> RpcResult:
    err = _require("device.pair.remove", params, "deviceId")
    if err:
        return RpcResult(call.state, error=err)
    state = remove(call.state, params["deviceId"])
    if state is None:
        return RpcResult(call.state, error=_invalid("unknown deviceId"))
    return RpcResult(state, {"deviceId": params["deviceId"]})


_HANDLERS = {
    "health": _health,
    "status": _status,
    "system-presence": _presence,
    "config.get": _config_get,
    "chat.abort": _chat_abort,
    "sessions.delete": _sessions_delete,
    "exec.approval.resolve": _approval_resolve,
    "device.pair.list": _pair_list,
    "device.pair.approve": _pair_approve,
    "device.pair.reject": _pair_reject,
    "device.pair.remove": _pair_remove,
}
