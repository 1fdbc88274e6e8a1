"""Shared-secret auth (§3.2): evaluation per mode and the unauthorized error it produces."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reference_gateway.config import GatewayConfig
from reference_gateway.frames import CloseCode, ErrorCode, ErrorShape, well_formed
from reference_gateway.locality import ConnectContext, is_loopback_ip, is_trusted_proxy
from reference_gateway.profiles import Profile


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    method: str  # none | token | password | trusted-proxy (| device-token after fallback)
    reason: str | None = None
    user: str | None = None
    # True only for token/password verified against the configured secret, or trusted-proxy.
    shared_auth_ok: bool = False
    # A shared secret (token or password) was sent at all.
    shared_provided: bool = False


def safe_equal(a: str, b: str) -> bool:
    """Constant-time compare after trimming (OpenClaw's safeEqualSecret)."""
    # Lone surrogates (JSON allows them) are compared as Node encodes them, never raised on.
    left, right = well_formed(a.strip()), well_formed(b.strip())
    return hmac.compare_digest(left.encode("utf-8"), right.encode("utf-8"))


def _present(auth: Mapping[str, Any] | None, key: str) -> str | None:
    value = (auth or {}).get(key)
    if isinstance(value, str) and value.strip():
        return value
    return None


def evaluate_shared_auth(
    config: GatewayConfig, profile: Profile, ctx: ConnectContext, auth: Mapping[str, Any] | None
) -> AuthResult:
    token = _present(auth, "token")
    password = _present(auth, "password")
    provided = token is not None or password is not None
    mode = config.auth_mode
    if mode == "none":
        return AuthResult(ok=True, method="none", shared_provided=provided)
    if mode == "token":
        return _shared_secret("token", config.token, _candidate(profile, token, password), provided)
    if mode == "password":
        return _shared_secret(
            "password", config.password, _candidate(profile, password, token), provided
        )
    return _trusted_proxy(config, profile, ctx, provided)


def _candidate(profile: Profile, own: str | None, other: str | None) -> str | None:
    """The value checked against the mode's secret: its own field, or (9.6) the other one."""
    if own is not None or not profile.shared_secret_in_either_field:
        return own
    return other


def _shared_secret(
    kind: str, configured: str | None, candidate: str | None, provided: bool
) -> AuthResult:
    if not configured:
        return AuthResult(False, kind, f"{kind}_missing_config", shared_provided=provided)
    if candidate is None:
        return AuthResult(False, kind, f"{kind}_missing", shared_provided=provided)
    if not safe_equal(candidate, configured):
        return AuthResult(False, kind, f"{kind}_mismatch", shared_provided=provided)
    return AuthResult(True, kind, shared_auth_ok=True, shared_provided=True)


def _trusted_proxy(
    config: GatewayConfig, profile: Profile, ctx: ConnectContext, provided: bool
) -> AuthResult:
    def fail(reason: str) -> AuthResult:
        return AuthResult(False, "trusted-proxy", reason, shared_provided=provided)

    tp = config.trusted_proxy
    if tp is None:
        return fail("trusted_proxy_config_missing")
    if not config.trusted_proxies:
        return fail("trusted_proxy_no_proxies_configured")
    if not is_trusted_proxy(ctx.peer, config):
        return fail("trusted_proxy_untrusted_source")
    if profile.refuse_loopback_trusted_proxy and is_loopback_ip(ctx.peer):
        return fail("trusted_proxy_loopback_source")
    for header in tp.required_headers:
        if not (ctx.header(header) or "").strip():
            return fail(f"trusted_proxy_missing_header_{header}")
    user = (ctx.header(tp.user_header) or "").strip()
    if not user:
        return fail("trusted_proxy_user_missing")
    if tp.allow_users and user not in tp.allow_users:
        return fail("trusted_proxy_user_not_allowed")
    return AuthResult(
        True, "trusted-proxy", user=user, shared_auth_ok=True, shared_provided=provided
    )


_DETAIL_CODES = {
    "token_missing": "AUTH_TOKEN_MISSING",
    "token_mismatch": "AUTH_TOKEN_MISMATCH",
    "token_missing_config": "AUTH_TOKEN_NOT_CONFIGURED",
    "password_missing": "AUTH_PASSWORD_MISSING",
    "password_mismatch": "AUTH_PASSWORD_MISMATCH",
    "password_missing_config": "AUTH_PASSWORD_NOT_CONFIGURED",
    "device_token_mismatch": "AUTH_DEVICE_TOKEN_MISMATCH",
    "scope_mismatch": "AUTH_SCOPE_MISMATCH",
    "bootstrap_token_invalid": "AUTH_BOOTSTRAP_TOKEN_INVALID",
    "rate_limited": "AUTH_RATE_LIMITED",
}


def detail_code(reason: str, profile: Profile) -> str:
    """error.details.code of a failed auth: the profile's prefix rows first (9.6 names a
    missing required trusted-proxy header), then the reasons every release names."""
    for prefix, code in profile.auth_detail_code_prefixes:
        if reason.startswith(prefix):
            return code
    return _DETAIL_CODES.get(reason, "AUTH_UNAUTHORIZED")


def _hint(kind: str, *, client_id: str, client_mode: str, local: bool, profile: Profile) -> str:
    """Message hints of §3.2 with K13 (9.6 local CLI wording)."""
    secret = "token" if kind == "token" else "password"
    if client_mode == "cli":
        if profile.local_cli_auth_hints and local:
            if kind == "token":
                return "use this gateway's gateway.auth.token or pair the device"
            return "use this gateway's gateway.auth.password"
        return f"set gateway.remote.{secret} to match gateway.auth.{secret}"
    if client_id in ("openclaw-control-ui", "webchat-ui") or client_mode == "webchat":
        return f"open the dashboard URL and paste the {secret} in Control UI settings"
    return f"provide gateway auth {secret}"


def unauthorized_message(
    reason: str | None, *, client_id: str, client_mode: str, local: bool, profile: Profile
) -> str:
    def hint(kind: str) -> str:
        return _hint(
            kind, client_id=client_id, client_mode=client_mode, local=local, profile=profile
        )

    match reason:
        case "token_missing":
            return f"unauthorized: gateway token missing ({hint('token')})"
        case "token_mismatch":
            return f"unauthorized: gateway token mismatch ({hint('token')})"
        case "token_missing_config":
            return "unauthorized: gateway token not configured on gateway (set gateway.auth.token)"
        case "password_missing":
            return f"unauthorized: gateway password missing ({hint('password')})"
        case "password_mismatch":
            return f"unauthorized: gateway password mismatch ({hint('password')})"
        case "password_missing_config":
            return (
                "unauthorized: gateway password not configured on gateway "
                "(set gateway.auth.password)"
            )
        case "device_token_mismatch":
            return "unauthorized: device token mismatch (rotate/reissue device token)"
        case "scope_mismatch":
            return "unauthorized: device token scope mismatch (re-pair or approve scope upgrade)"
        case _:
            return "unauthorized"


def recommended_next_step(reason: str | None, can_retry_with_device_token: bool) -> str:
    """§3.2 with K12."""
    if can_retry_with_device_token:
        return "retry_with_device_token"
    if reason in (
        "token_missing",
        "token_missing_config",
        "password_missing",
        "password_missing_config",
    ):
        return "update_auth_configuration"
    if reason in ("token_mismatch", "password_mismatch", "device_token_mismatch"):
        return "update_auth_credentials"
    if reason == "rate_limited":
        return "wait_then_retry"
    return "review_auth_configuration"


@dataclass(frozen=True)
class Unauthorized:
    error: ErrorShape
    close_code: int
    close_reason: str


def unauthorized_error(
    reason: str | None,
    *,
    auth: Mapping[str, Any] | None,
    has_device: bool,
    client_id: str,
    client_mode: str,
    local: bool,
    profile: Profile,
) -> Unauthorized:
    """The INVALID_REQUEST + details of a failed connect auth (§3.2)."""
    auth = auth or {}
    provided_kind = (
        "password" if _present(auth, "password") else "token" if _present(auth, "token") else None
    )
    can_retry = (
        reason == "token_mismatch"
        and has_device
        and provided_kind == "token"
        and not _present(auth, "deviceToken")
    )
    message = unauthorized_message(
        reason, client_id=client_id, client_mode=client_mode, local=local, profile=profile
    )
    code = "AUTH_REQUIRED" if reason is None else detail_code(reason, profile)
    details = {
        "code": code,
        "authReason": reason,
        "canRetryWithDeviceToken": can_retry,
        "recommendedNextStep": recommended_next_step(reason, can_retry),
    }
    return Unauthorized(
        ErrorShape(ErrorCode.INVALID_REQUEST, message, details),
        CloseCode.POLICY_VIOLATION,
        message,
    )
