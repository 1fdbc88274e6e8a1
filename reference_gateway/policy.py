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
  (`tables.PAIRING_9_6` row B3; the token is only ever issued within the baseline).
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
from dataclasses import dataclass, field, replace
from functools import partial
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
from reference_gateway.tables import (
    Auth,
    Client,
    Facts,
    MissingDevice,
    Origin,
    Pairing,
    PairingReason,
    decide,
)

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
    # The §5.2 / §5.3 row that decided (tables.py); for tests and readers, never on the wire.
    row: str | None = None


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
    # The table row that decided; None for rejections before or between the tables.
    row: str | None = None
    # False: the connection is closed with no response (9.6's handler failing on the connect).
    respond: bool = True


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
    row: str | None = None  # set when a table row decides

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
            row=self.row,
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
            row=self.row,
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
    # 6. Missing-device policy: the A rows (and B6, which drops a Control UI's device).
    locality = _pairing_locality(c, c.auth.method, c.auth.shared_auth_ok)
    row = decide(profile.tables.missing_device, _facts(c, c.auth.method, locality))
    if row.outcome is MissingDevice.DEVICE_CHECKS:
        assert cp.device is not None
        return _with_device(c, cp.device)
    c.row = row.id
    return _missing_device(c, row.outcome, locality)


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
        local=c.local,  # computed once per connect (step 4)
    )


def _auth_fact(auth: AuthResult) -> Auth:
    if auth.ok:
        if auth.method == "none":
            return Auth.NONE
        return Auth.PROXY_OK if auth.method == "trusted-proxy" else Auth.SECRET_OK
    # K8: only a token or password that was sent and did not verify counts as wrong; no
    # credential and a failed trusted-proxy check are answered by the missing-device policy.
    if auth.method in ("token", "password") and auth.shared_provided:
        return Auth.WRONG_SECRET
    return Auth.MISSING


def _client_fact(c: _Connect) -> Client:
    # Control UI before webchat: `openclaw-control-ui/webchat` is the Control UI.
    if c.is_control_ui:
        return Client.CONTROL_UI
    if c.is_webchat:
        return Client.WEBCHAT
    if c.client_id == "cli" and c.client_mode == "cli":
        return Client.CLI
    if c.client_id == "gateway-client" and c.client_mode == "backend":
        return Client.BACKEND
    if c.client_id in NATIVE_APP_IDS and c.client_mode == "ui":
        return Client.NATIVE_APP_UI
    return Client.OTHER


def _origin_fact(c: _Connect) -> Origin:
    if not c.browser:
        return Origin.NONE
    return Origin.UI if c.is_control_ui or c.is_webchat else Origin.NON_UI


def _facts(
    c: _Connect,
    method: str,
    locality: PairingLocality,
    pairing: PairingReason | None = None,
) -> Facts:
    return Facts(
        device=c.params.device is not None,
        auth=_auth_fact(c.auth),
        method=method,
        role=c.role,
        client=_client_fact(c),
        operator_ui=c.client_id in OPERATOR_UI_IDS_9_6,
        origin=_origin_fact(c),
        locality=locality,
        auth_mode=c.config.auth_mode,
        disable_device_auth=c.config.dangerously_disable_device_auth,
        allow_insecure_auth=c.config.allow_insecure_auth,
        pairing=pairing,
    )


def _missing_device(c: _Connect, outcome: MissingDevice, locality: PairingLocality) -> Decision:
    """What a row of the `missing_device` table means for this connect."""
    method, requested = c.auth.method, tuple(c.params.scopes)
    match outcome:
        case MissingDevice.ACCEPT_REQUESTED:
            return c.accept(requested, method, locality=locality)
        case MissingDevice.ACCEPT_REQUESTED_PAIRING_SKIPPED:
            return c.accept(requested, method, locality=locality, pairing="skipped")
        case MissingDevice.ACCEPT_CLEARED:
            return c.accept((), method, locality=locality)
        case MissingDevice.REJECT_DEVICE_IDENTITY_REQUIRED:
            return c.reject(*device_identity_required(), "missing-device")
        case MissingDevice.REJECT_CONTROL_UI_DEVICE_REQUIRED:
            return c.reject(*control_ui_device_required(), "missing-device")
        case MissingDevice.REJECT_UNAUTHORIZED:
            # has_device=False also for B6: the Control UI's device was dropped.
            return _unauthorized(c, c.auth.reason, has_device=False)
        case MissingDevice.DEVICE_CHECKS:
            raise AssertionError("handled by decide_connect")


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
    # 8. Device-token fallback when shared auth failed or was absent (§7.5, B5).
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
    locality = _pairing_locality(c, method, c.auth.shared_auth_ok)
    scopes = tuple(cp.scopes)
    # 10. Pairing: the B rows.
    standing = _pairing_standing(c, paired)
    row = decide(profile.tables.pairing, _facts(c, method, locality, standing))
    c.row = row.id
    accept = partial(c.accept, scopes, method, device_id=device_id, locality=locality)
    skips = row.outcome in (Pairing.SKIP, Pairing.SKIP_TOKEN_IF_PAIRED)
    if skips and cp.role == "node" and paired is None and profile.node_skip_needs_paired_device:
        # 9.6 (observed 2026-12-04): a connect whose pairing is skipped (a backend with the
        # shared secret) as role node with an unpaired device fails in its handler ("parse/handle
        # error: Error: node pairing requires a paired device"): close 1000, no response.
        failed = c.reject(
            ErrorShape(ErrorCode.INVALID_REQUEST, "node pairing requires a paired device"),
            CloseCode.NORMAL,
            "",
            "node-pairing",
        )
        return replace(failed, respond=False)
    if row.outcome is Pairing.SKIP:
        return accept(pairing="skipped")
    if row.outcome is Pairing.SKIP_TOKEN_IF_PAIRED:
        # A token only for an already-paired device within its baseline (so none for a covered
        # scope-upgrade, observed on real 2026.9.6).
        token = _device_token(c, device_id, scopes) if paired is not None else None
        return accept(device_token=token, pairing="skipped")
    if row.outcome is Pairing.PAIRED:
        return accept(device_token=_device_token(c, device_id, scopes), pairing="paired")
    reason_text = str(standing)
    silent = row.outcome is Pairing.SILENT
    if silent and profile.silent_pairing_scopes_within_role:
        # 9.6's approval refuses a scope outside the role ("scope-outside-requested-roles"):
        # the request stays pending and the connect is answered PAIRING_REQUIRED.
        silent = all(s.strip().startswith(f"{cp.role}.") for s in scopes if s.strip())
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
        return _pairing_required(c, reason_text, request.request_id, device_id, paired)
    approved = approve(
        c.state,
        request.request_id,
        now_ms=c.now_ms,
        mint_empty=profile.mint_token_for_empty_scopes,
        entropy=c.entropy,
    )
    assert approved is not None
    c.state = approved[0]
    # 11. Device token.
    token = _device_token(c, device_id, scopes)
    return accept(device_token=token, pairing="silent", pairing_reason=reason_text)


def _device_token(c: _Connect, device_id: str, scopes: tuple[str, ...]) -> DeviceToken | None:
    """Step 11 (§7.4): reuse or rotate; updates the scratch pairing state."""
    c.state, token = ensure_device_token(
        c.state,
        device_id,
        role=c.role,
        scopes=scopes,
        now_ms=c.now_ms,
        mint_empty=c.profile.mint_token_for_empty_scopes,
        implied=c.profile.implied_scopes_in_baseline,
        entropy=c.entropy,
    )
    return token


def _metadata_mismatch(claimed: Any, pinned: str | None) -> bool:
    if pinned is None or not pinned.strip():
        return False
    return normalize_metadata(claimed).lower() != normalize_metadata(pinned).lower()


def _pairing_standing(c: _Connect, paired: PairedDevice | None) -> PairingReason:
    """metadata -> role -> scope, as `authorizeExistingGatewayDevice` checks them."""
    if paired is None:
        return PairingReason.NOT_PAIRED
    client = c.params.client
    if _metadata_mismatch(client.get("platform"), paired.meta.platform) or _metadata_mismatch(
        client.get("deviceFamily"), paired.meta.device_family
    ):
        return PairingReason.METADATA_UPGRADE
    if c.role not in paired.roles:
        return PairingReason.ROLE_UPGRADE
    if c.params.scopes and not scopes_allow(
        c.params.scopes, paired.approved_scopes, implied=c.profile.implied_scopes_in_baseline
    ):
        return PairingReason.SCOPE_UPGRADE
    return PairingReason.PAIRED


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
