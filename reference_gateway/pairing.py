"""Pairing state (§7): paired devices, pending requests, device tokens.

The state is an immutable value; every operation returns a new state. The transport keeps the
current value per process, which is what "in memory per process" means here.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reference_gateway.frames import well_formed

PENDING_TTL_MS = 5 * 60 * 1000
ADMIN = "operator.admin"
READ = "operator.read"
WRITE = "operator.write"


@dataclass(frozen=True)
class Entropy:
    """Where fresh ids and secrets come from; injectable so the core stays deterministic."""

    new_uuid: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    new_token: Callable[[], str] = field(
        default=lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    )


DEFAULT_ENTROPY = Entropy()


@dataclass(frozen=True)
class DeviceToken:
    token: str
    role: str
    scopes: tuple[str, ...]
    created_at_ms: int
    rotated_at_ms: int | None = None
    revoked_at_ms: int | None = None

    @property
    def issued_at_ms(self) -> int:
        return self.rotated_at_ms if self.rotated_at_ms is not None else self.created_at_ms


@dataclass(frozen=True)
class DeviceMetadata:
    """What a connect says about the device; copied into a pending request."""

    device_id: str
    public_key: str
    client_id: str
    client_mode: str
    platform: str | None = None
    device_family: str | None = None
    display_name: str | None = None
    remote_ip: str | None = None


@dataclass(frozen=True)
class PairedDevice:
    meta: DeviceMetadata
    role: str
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    approved_scopes: tuple[str, ...]
    tokens: Mapping[str, DeviceToken]
    created_at_ms: int
    approved_at_ms: int

    @property
    def device_id(self) -> str:
        return self.meta.device_id


@dataclass(frozen=True)
class PendingRequest:
    request_id: str
    meta: DeviceMetadata
    role: str
    scopes: tuple[str, ...]
    silent: bool
    is_repair: bool
    ts: int


@dataclass(frozen=True)
class PairingState:
    paired: Mapping[str, PairedDevice] = field(default_factory=dict)
    pending: Mapping[str, PendingRequest] = field(default_factory=dict)


def _union(*groups: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for group in groups:
        for item in group:
            if item not in out:
                out.append(item)
    return tuple(out)


def scopes_allow(requested: Iterable[str], allowed: Iterable[str], *, implied: bool) -> bool:
    """Whether `allowed` covers `requested`.

    With `implied` (9.6 `roleScopesAllow`) admin covers every operator scope and write covers read.
    """
    allowed_set = set(allowed)
    for scope in requested:
        if scope in allowed_set:
            continue
        if implied and ADMIN in allowed_set and scope.startswith("operator."):
            continue
        if implied and scope == READ and WRITE in allowed_set:
            continue
        return False
    return True


def prune_expired(state: PairingState, now_ms: int) -> PairingState:
    live = {k: v for k, v in state.pending.items() if now_ms - v.ts < PENDING_TTL_MS}
    if len(live) == len(state.pending):
        return state
    return replace(state, pending=live)


def request_pairing(
    state: PairingState,
    meta: DeviceMetadata,
    *,
    role: str,
    scopes: Iterable[str],
    silent: bool,
    now_ms: int,
    entropy: Entropy = DEFAULT_ENTROPY,
) -> tuple[PairingState, PendingRequest]:
    """Create a pending request; it supersedes older requests of the same device and key."""
    state = prune_expired(state, now_ms)
    request = PendingRequest(
        request_id=entropy.new_uuid(),
        meta=meta,
        role=role,
        scopes=tuple(scopes),
        silent=silent,
        is_repair=meta.device_id in state.paired,
        ts=now_ms,
    )
    pending = {
        k: v
        for k, v in state.pending.items()
        if not (v.meta.device_id == meta.device_id and v.meta.public_key == meta.public_key)
    }
    pending[request.request_id] = request
    return replace(state, pending=pending), request


def mint_token(role: str, scopes: Iterable[str], now_ms: int, entropy: Entropy) -> DeviceToken:
    return DeviceToken(
        token=entropy.new_token(), role=role, scopes=tuple(scopes), created_at_ms=now_ms
    )


def approve(
    state: PairingState,
    request_id: str,
    *,
    now_ms: int,
    mint_empty: bool,
    entropy: Entropy = DEFAULT_ENTROPY,
) -> tuple[PairingState, PairedDevice] | None:
    """Approve a pending request (§7.3): merge roles and scopes, mint a token for the role."""
    request = state.pending.get(request_id)
    if request is None:
        return None
    previous = state.paired.get(request.meta.device_id)
    same_key = previous is not None and previous.meta.public_key == request.meta.public_key
    roles = _union(previous.roles if same_key and previous else (), [request.role])
    approved_scopes = _union(
        previous.approved_scopes if same_key and previous else (), request.scopes
    )
    token_scopes = request.scopes or (previous.scopes if same_key and previous else ())
    tokens = dict(previous.tokens) if same_key and previous else {}
    if token_scopes or mint_empty:
        tokens[request.role] = mint_token(request.role, token_scopes, now_ms, entropy)
    device = PairedDevice(
        meta=request.meta,
        role=request.role,
        roles=roles,
        scopes=tuple(request.scopes) or (previous.scopes if same_key and previous else ()),
        approved_scopes=approved_scopes,
        tokens=tokens,
        created_at_ms=previous.created_at_ms if same_key and previous else now_ms,
        approved_at_ms=now_ms,
    )
    pending = {k: v for k, v in state.pending.items() if k != request_id}
    return PairingState(paired={**state.paired, device.device_id: device}, pending=pending), device


def reject(state: PairingState, request_id: str) -> tuple[PairingState, PendingRequest] | None:
    request = state.pending.get(request_id)
    if request is None:
        return None
    pending = {k: v for k, v in state.pending.items() if k != request_id}
    return replace(state, pending=pending), request


def remove(state: PairingState, device_id: str) -> PairingState | None:
    if device_id not in state.paired:
        return None
    paired = {k: v for k, v in state.paired.items() if k != device_id}
    pending = {k: v for k, v in state.pending.items() if v.meta.device_id != device_id}
    return PairingState(paired=paired, pending=pending)


def ensure_device_token(
    state: PairingState,
    device_id: str,
    *,
    role: str,
    scopes: Iterable[str],
    now_ms: int,
    mint_empty: bool,
    implied: bool,
    entropy: Entropy = DEFAULT_ENTROPY,
) -> tuple[PairingState, DeviceToken | None]:
    """§7.4: reuse a covering token, otherwise rotate; none outside the approved baseline."""
    device = state.paired.get(device_id)
    requested = tuple(scopes)
    if device is None or role not in device.roles:
        return state, None
    if not scopes_allow(requested, device.approved_scopes, implied=implied):
        return state, None
    existing = device.tokens.get(role)
    if (
        existing is not None
        and existing.revoked_at_ms is None
        and scopes_allow(requested, existing.scopes, implied=implied)
    ):
        # An empty request is covered by any token: 3.13 hands the existing one back (observed
        # on real 2026.3.13: a device paired with five scopes reconnecting with no scopes field).
        return state, existing
    if not requested and not mint_empty:
        return state, None  # K1-K3: 3.13 *mints* nothing for an empty scope list
    token = mint_token(role, requested, now_ms, entropy)
    if existing is not None:
        token = replace(token, created_at_ms=existing.created_at_ms, rotated_at_ms=now_ms)
    updated = replace(device, tokens={**device.tokens, role: token})
    return replace(state, paired={**state.paired, device_id: updated}), token


def verify_device_token(
    state: PairingState,
    device_id: str,
    *,
    token: str,
    role: str,
    scopes: Iterable[str],
    implied: bool,
) -> str:
    """§7.5 checks. Returns "ok", "mismatch" or "scope-mismatch"."""
    device = state.paired.get(device_id)
    if device is None:
        return "mismatch"
    stored = device.tokens.get(role)
    if stored is None or stored.revoked_at_ms is not None:
        return "mismatch"
    if not hmac.compare_digest(stored.token.encode(), well_formed(token.strip()).encode()):
        return "mismatch"
    if not scopes_allow(stored.scopes, device.approved_scopes, implied=implied):
        return "scope-mismatch"
    if not scopes_allow(tuple(scopes), stored.scopes, implied=implied):
        return "scope-mismatch"
    return "ok"


def _meta_json(meta: DeviceMetadata) -> dict[str, Any]:
    out: dict[str, Any] = {
        "deviceId": meta.device_id,
        "publicKey": meta.public_key,
        "clientId": meta.client_id,
        "clientMode": meta.client_mode,
        "platform": meta.platform,
    }
    if meta.device_family is not None:
        out["deviceFamily"] = meta.device_family
    if meta.display_name is not None:
        out["displayName"] = meta.display_name
    if meta.remote_ip is not None:
        out["remoteIp"] = meta.remote_ip
    return out


def pending_json(request: PendingRequest) -> dict[str, Any]:
    return {
        "requestId": request.request_id,
        **_meta_json(request.meta),
        "role": request.role,
        "roles": [request.role],
        "scopes": list(request.scopes),
        "silent": request.silent,
        "isRepair": request.is_repair,
        "ts": request.ts,
    }


def paired_json(device: PairedDevice) -> dict[str, Any]:
    """The listing never includes token secrets."""
    return {
        **_meta_json(device.meta),
        "role": device.role,
        "roles": list(device.roles),
        "scopes": list(device.scopes),
        "approvedScopes": list(device.approved_scopes),
        "tokens": {
            role: {
                "role": t.role,
                "scopes": list(t.scopes),
                "createdAtMs": t.created_at_ms,
                **({"rotatedAtMs": t.rotated_at_ms} if t.rotated_at_ms is not None else {}),
                **({"revokedAtMs": t.revoked_at_ms} if t.revoked_at_ms is not None else {}),
            }
            for role, t in device.tokens.items()
        },
        "createdAtMs": device.created_at_ms,
        "approvedAtMs": device.approved_at_ms,
    }
