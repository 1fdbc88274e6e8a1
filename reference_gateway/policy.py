"""The connect decision: who gets in, with which role, scopes and device token.

`decide_connect` is a pure function of the config, the profile, the pairing state, what the
transport saw of the socket (`ConnectContext`), the raw connect params and the time. It returns
`Accepted` or `Rejected`, each carrying the new pairing state explicitly.

Check order (GATEWAY_PROTOCOL.md §1.6): schema, protocol, role, browser origin, shared-secret auth,
missing-device policy, device proof, device-token fallback, unauthorized, pairing, device token.

Scope-upgrade of a paired device (settled by observation)
---------------------------------------------------------
Answer implemented for the `current` (2026.9.6) profile, as observed on the real openclaw@2026.9.6
(npm, started hermetically, gateway in a network namespace; 2026-11-25), which wins over source
reading (GATEWAY_PROTOCOL.md precedence rule):

* A local scope-upgrade is silent when the auth method is none, token or password (§5.3
  "scope-upgrade is silent only when the auth method is none, token or password"), under the
  other 9.6 silent-pairing rules (locality not `remote`; no Origin unless Control UI/webchat; an
  existing device must ask for the operator role). Observed with token auth on loopback
  (`direct_local`, no Origin): a device silently paired as `cli/cli` with `[operator.read]` that
  reconnects as `cli/cli` asking all five operator scopes is accepted, hello `auth.scopes` = the
  five requested, and a rotated device token with the requested scopes is issued; the gateway
  logged `security audit: device access upgrade requested reason=scope-upgrade ...` then
  `device pairing auto-approved`. Same with password auth, and for `openclaw-control-ui/webchat`
  with an allowed Origin. Auth none follows §5.3 (not run live). Device-token and trusted-proxy
  reconnects are not silent.
* The same device reconnecting as a local `gateway-client/backend` asking all five (or
  `[operator.admin]`) is accepted with the requested scopes and **no** device token: §5.3 B3,
  the local backend skips pairing and its requested scopes are not checked against the baseline
  (`backend_skip_covered_upgrades`; the token is only ever issued within the baseline).
* From remote, a scope-upgrade still gets `NOT_PAIRED "pairing required: device is asking for
  more scopes than currently approved"` with details `{code: PAIRING_REQUIRED, reason:
  "scope-upgrade", requestId, ...}`, close 1008, and a pending request.

This contradicts the line found in newer upstream source,
`src/gateway/server/ws-connection/connect-device-pairing.ts` `requirePairing`:
`silent: reason === "scope-upgrade" ? false : allowSilentLocalPairing || ...` (the
CVE-2026-35625 / GHSA-9hjh-fr4f-gxc4 fix). The observation shows that this override is not in
the 2026.9.6 release as shipped, so the previous "never silent" answer (read from that source) is
withdrawn; UPSTREAM S13/S14 describe the advisories' intent, not 2026.9.6. Still from source:
`connect-existing-device.ts` `authorizeExistingGatewayDevice` checks metadata-upgrade ->
role-upgrade -> scope-upgrade, scopes only when the request is non-empty, with `roleScopesAllow`
(admin covers all operator scopes, write covers read); `connect-error-details.ts` gives the 9.6
messages `pairing required: <requirement>` and the close reason `<message> (requestId: <id>)`.

For the 2026.3.13 profile: a local scope-upgrade is silent whatever the auth method (3.13's
`shouldAllowSilentLocalPairing` allows "not-paired" and "scope-upgrade" for a local client with no
non-UI Origin), and the local backend skips pairing altogether (B3, including role- and
metadata-upgrades).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reference_gateway.auth import AuthResult, evaluate_shared_auth, unauthorized_error
from reference_gateway.config import GatewayConfig
from reference_gateway.connect_params import ConnectParams, SchemaError, validate_connect_params
from reference_gateway.frames import CloseCode, ErrorCode, ErrorShape, truncate_close_reason
from reference_gateway.identity import DeviceAuthFailure, normalize_metadata, verify_device
from reference_gateway.locality import (
    ConnectContext,
    PairingLocality,
    check_origin,
    is_local_client,
    resolve_pairing_locality,
)
from reference_gateway.pairing import (
    DEFAULT_ENTROPY,
    DeviceMetadata,
    DeviceToken,
    Entropy,
    PairedDevice,
    PairingState,
    approve,
    ensure_device_token,
    prune_expired,
    request_pairing,
    scopes_allow,
    verify_device_token,
)
from reference_gateway.profiles import Profile

CONTROL_UI = "openclaw-control-ui"
# §5.3 A5/A6: 9.6 treats these as browser operator UIs that always need a device.
OPERATOR_UI_IDS_9_6 = (CONTROL_UI, "openclaw-tui", "openclaw-browser-copilot")
NATIVE_APP_IDS = (
    "openclaw-macos",
    "openclaw-ios",
    "openclaw-android",
    "openclaw-linux",
    "openclaw-watchos",
)
ORIGIN_NOT_ALLOWED_MESSAGE = (
    "origin not allowed (open the Control UI from the gateway host or allow it in "
    "gateway.controlUi.allowedOrigins)"
)
CONTROL_UI_DEVICE_REQUIRED_MESSAGE = (
    "control ui requires device identity (use HTTPS or localhost secure context)"
)
PAIRING_REQUIREMENTS = {
    "not-paired": "device is not approved yet",
    "role-upgrade": "device is asking for a higher role than currently approved",
    "scope-upgrade": "device is asking for more scopes than currently approved",
    "metadata-upgrade": "device identity changed and must be re-approved",
}


@dataclass(frozen=True)
class Accepted:
    state: PairingState
    protocol: int  # what hello-ok says
    role: str
    scopes: tuple[str, ...]  # effective, as granted (K20: not expanded)
    auth_method: str
    client_id: str
    client_mode: str
    device_id: str | None = None
    device_token: DeviceToken | None = None
    pairing: str = "none"  # none | paired | silent | skipped
    locality: str = "remote"
    # Why pairing ran (not-paired / role- / scope- / metadata-upgrade), None when it did not.
    pairing_reason: str | None = None
    params: ConnectParams | None = None


@dataclass(frozen=True)
class Rejected:
    state: PairingState
    error: ErrorShape
    close_code: int
    close_reason: str
    stage: str = ""
    client_id: str | None = None
    client_mode: str | None = None
    role: str | None = None


Decision = Accepted | Rejected


@dataclass
class _Connect:
    """Working values of one decision (mutable scratch, never escapes this module)."""

    config: GatewayConfig
    profile: Profile
    ctx: ConnectContext
    params: ConnectParams
    now_ms: int
    entropy: Entropy
    state: PairingState
    local: bool = False
    browser: bool = False
    auth: AuthResult = field(default_factory=lambda: AuthResult(False, "token"))

    @property
    def client_id(self) -> str:
        return self.params.client_id

    @property
    def client_mode(self) -> str:
        return self.params.client_mode

    @property
    def role(self) -> str:
        return self.params.role

    @property
    def is_control_ui(self) -> bool:
        return self.client_id == CONTROL_UI

    @property
    def is_webchat(self) -> bool:
        return self.client_mode == "webchat" or self.client_id == "webchat-ui"

    @property
    def is_operator_ui(self) -> bool:
        if self.profile.honour_control_ui_bypass_flags:
            return self.is_control_ui
        return self.client_id in OPERATOR_UI_IDS_9_6

    @property
    def is_backend(self) -> bool:
        return self.client_id == "gateway-client" and self.client_mode == "backend"

    @property
    def is_cli(self) -> bool:
        return self.client_id == "cli" and self.client_mode == "cli"

    @property
    def is_native_app_ui(self) -> bool:
        return self.client_id in NATIVE_APP_IDS and self.client_mode == "ui"

    def reject(self, error: ErrorShape, close_code: int, close_reason: str, stage: str) -> Rejected:
        return Rejected(
            state=self.state,
            error=error,
            close_code=close_code,
            close_reason=truncate_close_reason(close_reason),
            stage=stage,
            client_id=self.client_id,
            client_mode=self.client_mode,
            role=self.role,
        )

    def accept(self, scopes: tuple[str, ...], method: str, **kw: Any) -> Accepted:
        return Accepted(
            state=self.state,
            protocol=self.profile.protocol,
            role=self.role,
            scopes=self._cap_by_header(scopes, method),
            auth_method=method,
            client_id=self.client_id,
            client_mode=self.client_mode,
            params=self.params,
            **kw,
        )

    def _cap_by_header(self, scopes: tuple[str, ...], method: str) -> tuple[str, ...]:
        """9.6: a trusted-proxy connection never holds more than `X-OpenClaw-Scopes` lists."""
        if not (self.profile.cap_trusted_proxy_scopes_by_header and method == "trusted-proxy"):
            return scopes
        header = self.ctx.header("x-openclaw-scopes")
        if header is None:
            return scopes
        allowed = {s.strip() for s in header.replace(" ", ",").split(",") if s.strip()}
        return tuple(s for s in scopes if s in allowed)


def protocol_accepted(profile: Profile, params: ConnectParams) -> bool:
    """§1.5 with K18."""
    lo, hi, p = params.min_protocol, params.max_protocol, profile.protocol
    if lo <= p <= hi:
        return True
    legacy = profile.legacy_node_protocol
    if legacy is not None and params.role == "node" and lo <= legacy <= hi:
        return True
    probe_min = profile.minimum_probe_protocol
    return probe_min is not None and params.client_mode == "probe" and lo <= p and hi >= probe_min


def protocol_mismatch_error(profile: Profile, params: ConnectParams) -> ErrorShape:
    details: dict[str, Any]
    if profile.minimum_probe_protocol is None:
        details = {"expectedProtocol": profile.protocol}
    else:
        details = {
            "code": "PROTOCOL_MISMATCH",
            "clientMinProtocol": params.min_protocol,
            "clientMaxProtocol": params.max_protocol,
            "expectedProtocol": profile.protocol,
            "minimumProbeProtocol": profile.minimum_probe_protocol,
        }
    return ErrorShape(ErrorCode.INVALID_REQUEST, "protocol mismatch", details)


def device_identity_required() -> tuple[ErrorShape, int, str]:
    return (
        ErrorShape(
            ErrorCode.NOT_PAIRED, "device identity required", {"code": "DEVICE_IDENTITY_REQUIRED"}
        ),
        CloseCode.POLICY_VIOLATION,
        "device identity required",
    )


def control_ui_device_required() -> tuple[ErrorShape, int, str]:
    return (
        ErrorShape(
            ErrorCode.INVALID_REQUEST,
            CONTROL_UI_DEVICE_REQUIRED_MESSAGE,
            {"code": "CONTROL_UI_DEVICE_IDENTITY_REQUIRED"},
        ),
        CloseCode.POLICY_VIOLATION,
        CONTROL_UI_DEVICE_REQUIRED_MESSAGE,
    )


def decide_connect(
    config: GatewayConfig,
    profile: Profile,
    state: PairingState,
    ctx: ConnectContext,
    params: Any,
    now_ms: int,
    entropy: Entropy = DEFAULT_ENTROPY,
) -> Decision:
    state = prune_expired(state, now_ms)
    # 1. Schema.
    try:
        cp = validate_connect_params(params, profile)
    except SchemaError as exc:
        text = f"invalid connect params: {exc}"
        return Rejected(
            state,
            ErrorShape(ErrorCode.INVALID_REQUEST, text),
            CloseCode.POLICY_VIOLATION,
            truncate_close_reason(text),
            "schema",
        )
    c = _Connect(config, profile, ctx, cp, now_ms, entropy, state)
    # 2. Protocol range.
    if not protocol_accepted(profile, cp):
        return c.reject(
            protocol_mismatch_error(profile, cp),
            CloseCode.PROTOCOL_ERROR,
            "protocol mismatch",
            "protocol",
        )
    # 3. Role.
    if cp.role not in ("operator", "node"):
        return c.reject(
            ErrorShape(ErrorCode.INVALID_REQUEST, "invalid role"),
            CloseCode.POLICY_VIOLATION,
            "invalid role",
            "role",
        )
    # 4. Browser origin: any Origin header, and always for the Control UI and webchat (K19).
    c.local = is_local_client(ctx, config)
    c.browser = ctx.origin is not None
    if c.browser or c.is_control_ui or c.is_webchat:
        reason = check_origin(ctx.origin, local=c.local, config=config)
        if reason is not None:
            return c.reject(
                ErrorShape(
                    ErrorCode.INVALID_REQUEST,
                    ORIGIN_NOT_ALLOWED_MESSAGE,
                    {"code": "CONTROL_UI_ORIGIN_NOT_ALLOWED", "reason": reason},
                ),
                CloseCode.POLICY_VIOLATION,
                ORIGIN_NOT_ALLOWED_MESSAGE,
                "origin",
            )
    # 5. Shared-secret auth.
    c.auth = evaluate_shared_auth(config, profile, ctx, cp.auth)
    device = cp.device
    # A5/B6 (3.13 only): with dangerouslyDisableDeviceAuth an operator Control UI's device is
    # dropped before anything looks at it.
    if c.is_control_ui and c.role == "operator" and _disable_device_auth(c):
        device = None
    # 6. Missing-device policy.
    if device is None:
        return _missing_device(c)
    return _with_device(c, device)


def _disable_device_auth(c: _Connect) -> bool:
    return c.profile.honour_control_ui_bypass_flags and c.config.dangerously_disable_device_auth


def _unauthorized(c: _Connect, reason: str | None, *, has_device: bool) -> Rejected:
    u = unauthorized_error(
        reason,
        auth=c.params.auth,
        has_device=has_device,
        client_id=c.client_id,
        client_mode=c.client_mode,
        local=c.local,
        profile=c.profile,
    )
    return c.reject(u.error, u.close_code, u.close_reason, "auth")


def _pairing_locality(c: _Connect, method: str, shared_ok: bool) -> PairingLocality:
    if not c.profile.pairing_locality_v96:
        return PairingLocality.DIRECT_LOCAL if c.local else PairingLocality.REMOTE
    return resolve_pairing_locality(
        c.ctx,
        c.config,
        client_id=c.client_id,
        client_mode=c.client_mode,
        shared_auth_ok=shared_ok,
        auth_method=method,
    )


def _missing_device(c: _Connect) -> Decision:
    """§5.2 / §5.3 rows A1-A8 (with K6, K8, K9)."""
    auth, profile, scopes = c.auth, c.profile, tuple(c.params.scopes)
    locality = _pairing_locality(c, auth.method, auth.shared_auth_ok)
    if c.is_operator_ui:
        return _missing_device_ui(c, scopes, locality)
    if not auth.ok:
        # K8: only a wrong token/password earns the unauthorized error; no credential or a
        # failed trusted-proxy check is answered by the missing-device policy.
        if auth.method in ("token", "password") and auth.shared_provided:
            return _unauthorized(c, auth.reason, has_device=False)
        return c.reject(*device_identity_required(), "missing-device")
    if c.role == "node":
        return c.reject(*device_identity_required(), "missing-device")  # A2
    if auth.method == "none":
        local_backend = (
            profile.allow_local_backend_auth_none
            and c.is_backend
            and not c.browser
            and locality
            in (PairingLocality.DIRECT_LOCAL, PairingLocality.SHARED_SECRET_LOOPBACK_LOCAL)
        )
        if local_backend:
            return c.accept(scopes, "none", locality=locality)  # A1d
        return c.reject(*device_identity_required(), "missing-device")  # A3
    # Shared auth OK (token, password or trusted-proxy).
    if (
        profile.preserve_local_cli_and_backend
        and not c.browser
        and auth.method
        in (
            "token",
            "password",
        )
    ):
        if c.is_cli and locality in (
            PairingLocality.DIRECT_LOCAL,
            PairingLocality.CLI_CONTAINER_LOCAL,
        ):
            return c.accept(scopes, auth.method, locality=locality)  # A1a
        if c.is_backend and locality in (
            PairingLocality.DIRECT_LOCAL,
            PairingLocality.SHARED_SECRET_LOOPBACK_LOCAL,
        ):
            return c.accept(scopes, auth.method, locality=locality)  # A1b
    return c.accept((), auth.method, locality=locality)  # A1 (3.13) / A1c (9.6): cleared


def _missing_device_ui(c: _Connect, scopes: tuple[str, ...], locality: PairingLocality) -> Decision:
    auth, profile = c.auth, c.profile
    trusted_proxy_ok = auth.ok and auth.method == "trusted-proxy"
    if not profile.honour_control_ui_bypass_flags:
        # 9.6: A5/A6 always reject, except A8 (trusted-proxy, cleared; K9).
        if trusted_proxy_ok and c.role == "operator" and c.is_control_ui:
            return c.accept((), auth.method, locality=locality)
        return c.reject(*control_ui_device_required(), "missing-device")
    # 2026.3.13.
    if c.config.dangerously_disable_device_auth:
        if c.role != "operator":
            return c.reject(*device_identity_required(), "missing-device")  # UPSTREAM S21
        if not auth.ok:
            return _unauthorized(c, auth.reason, has_device=False)
        return c.accept(scopes, auth.method, locality=locality, pairing="skipped")  # A5
    if trusted_proxy_ok and c.role == "operator":
        return c.accept(scopes, auth.method, locality=locality, pairing="skipped")  # A8
    if c.config.allow_insecure_auth and c.local and c.role == "operator":
        if auth.ok and auth.method in ("token", "password"):
            return c.accept(scopes, auth.method, locality=locality)  # A6
        if auth.method in ("token", "password") and auth.shared_provided:
            return _unauthorized(c, auth.reason, has_device=False)
    return c.reject(*control_ui_device_required(), "missing-device")  # A7


def _device_auth_rejection(c: _Connect, failure: DeviceAuthFailure) -> Rejected:
    return c.reject(
        ErrorShape(
            ErrorCode.INVALID_REQUEST,
            failure.message,
            {"code": failure.code, "reason": failure.reason},
        ),
        CloseCode.POLICY_VIOLATION,
        failure.message,
        "device-auth",
    )


def _present(auth: Mapping[str, Any] | None, key: str) -> str | None:
    value = (auth or {}).get(key)
    return value if isinstance(value, str) and value.strip() else None


def _with_device(c: _Connect, device: Mapping[str, Any]) -> Decision:
    profile, cp = c.profile, c.params
    # 7. Device proof.
    verified = verify_device(
        device,
        client=cp.client,
        role=cp.role,
        scopes=cp.scopes,
        auth=cp.auth,
        challenge_nonce=c.ctx.nonce,
        now_ms=c.now_ms,
    )
    if isinstance(verified, DeviceAuthFailure):
        return _device_auth_rejection(c, verified)
    device_id = verified.device_id
    paired = c.state.paired.get(device_id)
    if paired is not None and paired.meta.public_key != verified.public_key:
        paired = None  # a new key for a known id is a new device
    # 8. Device-token fallback when shared auth failed or was absent (§7.5).
    ok, method, reason = c.auth.ok, c.auth.method, c.auth.reason
    if not ok:
        explicit = _present(cp.auth, "deviceToken")
        candidate = explicit or _present(cp.auth, "token")
        if candidate is not None:
            check = (
                verify_device_token(
                    c.state,
                    device_id,
                    token=candidate,
                    role=cp.role,
                    scopes=cp.scopes,
                    implied=profile.implied_scopes_in_baseline,
                )
                if paired is not None
                else "mismatch"
            )
            if check == "ok":
                ok, method = True, "device-token"
            elif check == "scope-mismatch" and profile.device_token_scope_mismatch_reason == (
                "scope_mismatch"
            ):
                reason = "scope_mismatch"
            elif explicit is not None:
                reason = "device_token_mismatch"
    # 9. Still unauthorized.
    if not ok:
        return _unauthorized(c, reason, has_device=True)
    shared_ok = c.auth.shared_auth_ok
    locality = _pairing_locality(c, method, shared_ok)
    scopes = tuple(cp.scopes)
    # 10. Pairing, with its skips.
    if (
        profile.trusted_proxy_control_ui_keeps_scopes
        and c.is_control_ui
        and method == "trusted-proxy"
        and cp.role == "operator"
    ):
        # K7 (3.13): trusted-proxy Control UI skips pairing even with a device; no token.
        return c.accept(scopes, method, device_id=device_id, pairing="skipped", locality=locality)
    if (
        not profile.honour_control_ui_bypass_flags
        and c.config.auth_mode == "none"
        and c.is_control_ui
        and cp.role == "operator"
    ):
        # B7 (9.6) with K5: pairing skipped (`auth-none`), so no device token either.
        return c.accept(scopes, method, device_id=device_id, pairing="skipped", locality=locality)
    upgrade = _upgrade_reason(c, paired) if paired is not None else None
    if _backend_skips_pairing(c, method, shared_ok, locality) and (
        upgrade is None or upgrade in profile.backend_skip_covered_upgrades
    ):
        # B3: pairing skipped; a token only for an already-paired device within its baseline
        # (so none for a covered scope-upgrade, observed on real 2026.9.6).
        token = None
        if paired is not None:
            c.state, token = ensure_device_token(
                c.state,
                device_id,
                role=cp.role,
                scopes=scopes,
                now_ms=c.now_ms,
                mint_empty=profile.mint_token_for_empty_scopes,
                implied=profile.implied_scopes_in_baseline,
                entropy=c.entropy,
            )
        return c.accept(
            scopes,
            method,
            device_id=device_id,
            device_token=token,
            pairing="skipped",
            locality=locality,
        )
    pairing_reason = "not-paired" if paired is None else upgrade
    outcome = "paired"
    if pairing_reason is not None:
        silent = _silent_allowed(c, pairing_reason, locality, method, existing=paired is not None)
        meta = DeviceMetadata(
            device_id=device_id,
            public_key=verified.public_key,
            client_id=c.client_id,
            client_mode=c.client_mode,
            platform=cp.client.get("platform"),
            device_family=cp.client.get("deviceFamily"),
            display_name=cp.client.get("displayName"),
            remote_ip=c.ctx.peer,
        )
        c.state, request = request_pairing(
            c.state,
            meta,
            role=cp.role,
            scopes=scopes,
            silent=silent,
            now_ms=c.now_ms,
            entropy=c.entropy,
        )
        if not silent:
            return _pairing_required(c, pairing_reason, request.request_id, device_id, paired)
        approved = approve(
            c.state,
            request.request_id,
            now_ms=c.now_ms,
            mint_empty=profile.mint_token_for_empty_scopes,
            entropy=c.entropy,
        )
        assert approved is not None
        c.state = approved[0]
        outcome = "silent"
    # 11. Device token.
    c.state, token = ensure_device_token(
        c.state,
        device_id,
        role=cp.role,
        scopes=scopes,
        now_ms=c.now_ms,
        mint_empty=profile.mint_token_for_empty_scopes,
        implied=profile.implied_scopes_in_baseline,
        entropy=c.entropy,
    )
    return c.accept(
        scopes,
        method,
        device_id=device_id,
        device_token=token,
        pairing=outcome,
        locality=locality,
        pairing_reason=pairing_reason,
    )


def _backend_skips_pairing(
    c: _Connect, method: str, shared_ok: bool, locality: PairingLocality
) -> bool:
    """B3: `shouldSkipLocalBackendSelfPairing`."""
    if not c.is_backend or c.browser:
        return False
    if locality not in (PairingLocality.DIRECT_LOCAL, PairingLocality.SHARED_SECRET_LOOPBACK_LOCAL):
        return False
    if not c.profile.pairing_locality_v96:
        return shared_ok and method in ("token", "password")  # 3.13: token/pw OK only
    return method in ("none", "device-token") or (shared_ok and method in ("token", "password"))


def _metadata_mismatch(claimed: Any, pinned: str | None) -> bool:
    if pinned is None or not pinned.strip():
        return False
    return normalize_metadata(claimed).lower() != normalize_metadata(pinned).lower()


def _upgrade_reason(c: _Connect, paired: PairedDevice) -> str | None:
    """metadata -> role -> scope, as `authorizeExistingGatewayDevice` checks them."""
    client = c.params.client
    if _metadata_mismatch(client.get("platform"), paired.meta.platform) or _metadata_mismatch(
        client.get("deviceFamily"), paired.meta.device_family
    ):
        return "metadata-upgrade"
    if c.role not in paired.roles:
        return "role-upgrade"
    if c.params.scopes and not scopes_allow(
        c.params.scopes, paired.approved_scopes, implied=c.profile.implied_scopes_in_baseline
    ):
        return "scope-upgrade"
    return None


def _silent_allowed(
    c: _Connect, reason: str, locality: PairingLocality, method: str, *, existing: bool
) -> bool:
    """`shouldAllowSilentLocalPairing` of the profile (§5.2 notes, §5.3 rules)."""
    ui_or_webchat = c.is_control_ui or c.is_webchat
    if not c.profile.pairing_locality_v96:
        # 3.13 `shouldAllowSilentLocalPairing(isLocalClient, ...)`.
        return (
            c.local
            and (not c.browser or ui_or_webchat)
            and reason in ("not-paired", "scope-upgrade")
        )
    if existing and c.role != "operator":
        return False  # allowSilentExistingNonOperatorPairing
    if locality == PairingLocality.REMOTE:
        return False
    if c.browser and not ui_or_webchat:
        return False
    if reason in ("not-paired", "role-upgrade"):
        return True
    if reason == "scope-upgrade":
        # §5.3, observed on real 2026.9.6 (token, password): silent for none/token/password.
        return method in c.profile.silent_scope_upgrade_methods
    return (
        reason == "metadata-upgrade"
        and not c.browser
        and not ui_or_webchat
        and (
            (locality == PairingLocality.DIRECT_LOCAL and c.is_native_app_ui)
            or locality
            in (PairingLocality.CLI_CONTAINER_LOCAL, PairingLocality.SHARED_SECRET_LOOPBACK_LOCAL)
        )
    )


def _pairing_required(
    c: _Connect, reason: str, request_id: str, device_id: str, paired: PairedDevice | None
) -> Rejected:
    if not c.profile.pairing_messages_with_reason:
        return c.reject(
            ErrorShape(
                ErrorCode.NOT_PAIRED,
                "pairing required",
                {"code": "PAIRING_REQUIRED", "requestId": request_id, "reason": reason},
            ),
            CloseCode.POLICY_VIOLATION,
            "pairing required",
            "pairing",
        )
    message = f"pairing required: {PAIRING_REQUIREMENTS[reason]}"
    details: dict[str, Any] = {
        "code": "PAIRING_REQUIRED",
        "reason": reason,
        "requestId": request_id,
    }
    if c.is_control_ui:
        details["recommendedNextStep"] = "wait_then_retry"  # K14
    details["deviceId"] = device_id
    details["requestedRole"] = c.role
    details["requestedScopes"] = list(c.params.scopes)
    if paired is not None:
        if paired.roles:
            details["approvedRoles"] = list(paired.roles)
        if paired.approved_scopes:
            details["approvedScopes"] = list(paired.approved_scopes)
    return c.reject(
        ErrorShape(ErrorCode.NOT_PAIRED, message, details),
        CloseCode.POLICY_VIOLATION,
        f"{message} (requestId: {request_id})",
        "pairing",
    )
