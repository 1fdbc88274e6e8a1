"""Device proof verification (§2): Ed25519 key, id = sha256(raw key), v3/v2 signed payloads.

The checks run in the documented order and the first failure wins, so each broken variant
maps to exactly one row of the §2 table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from reference_gateway.frames import well_formed

SIGNATURE_SKEW_MS = 120_000


@dataclass(frozen=True)
class DeviceAuthFailure:
    message: str
    code: str  # details.code
    reason: str  # details.reason


ID_MISMATCH = DeviceAuthFailure(
    "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH", "device-id-mismatch"
)
SIGNATURE_EXPIRED = DeviceAuthFailure(
    "device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED", "device-signature-stale"
)
NONCE_REQUIRED = DeviceAuthFailure(
    "device nonce required", "DEVICE_AUTH_NONCE_REQUIRED", "device-nonce-missing"
)
NONCE_MISMATCH = DeviceAuthFailure(
    "device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH", "device-nonce-mismatch"
)
SIGNATURE_INVALID = DeviceAuthFailure(
    "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature"
)
PUBLIC_KEY_INVALID = DeviceAuthFailure(
    "device public key invalid", "DEVICE_AUTH_PUBLIC_KEY_INVALID", "device-public-key"
)


@dataclass(frozen=True)
class VerifiedDevice:
    device_id: str
    public_key: str  # normalised: base64url of the raw 32-byte key, no padding
    payload_version: str  # "v3" | "v2"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64_decode(text: str) -> bytes | None:
    """base64url without padding first, then standard base64 (§2 signature fallback)."""
    s = text.strip()
    padded = s + "=" * (-len(s) % 4)
    for alphabet in ("url", "std"):
        try:
            if alphabet == "url":
                if any(c in s for c in "+/"):
                    continue
                return base64.urlsafe_b64decode(padded)
            return base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            continue
    return None


def decode_public_key(text: str) -> bytes | None:
    """Raw key bytes from base64url-raw or a PEM SPKI string; None when undecodable.

    The length is not checked here: K11 says a 31-byte "key" passes the id check and fails later
    as a bad signature.
    """
    if "BEGIN" in text:
        try:
            key = serialization.load_pem_public_key(well_formed(text).encode("utf-8"))
        except (ValueError, TypeError, UnsupportedAlgorithm):
            # UnsupportedAlgorithm: an SPKI naming an algorithm cryptography does not know; an
            # unauthenticated client can send one, so it is an undecodable key, never a crash.
            return None
        if not isinstance(key, Ed25519PublicKey):
            return None
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = _b64_decode(text)
    return raw if raw else None


def device_id_for(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()


def normalize_metadata(value: Any) -> str:
    """v3 platform/deviceFamily: trimmed, ASCII A-Z lowercased only, empty when absent."""
    if not isinstance(value, str):
        return ""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in value.strip())


def signature_token(auth: Mapping[str, Any] | None) -> str:
    """First *present* of token, deviceToken, bootstrapToken (JS `??`: "" counts as present)."""
    if not auth:
        return ""
    for key in ("token", "deviceToken", "bootstrapToken"):
        value = auth.get(key)
        if value is not None:
            return str(value)
    return ""


def build_payload(
    version: str,
    *,
    device_id: str,
    client_id: str,
    client_mode: str,
    role: str,
    scopes: list[str] | tuple[str, ...],
    signed_at_ms: int,
    token: str,
    nonce: str,
    platform: Any = None,
    device_family: Any = None,
) -> str:
    parts = [
        version,
        device_id,
        client_id,
        client_mode,
        role,
        ",".join(scopes),
        str(signed_at_ms),
        token,
        nonce,
    ]
    if version == "v3":
        parts += [normalize_metadata(platform), normalize_metadata(device_family)]
    return "|".join(parts)


def _verify(raw_key: bytes, payload: str, signature: bytes) -> bool:
    try:
        # Signed as Node encodes the payload: a lone surrogate in a client field is U+FFFD.
        message = well_formed(payload).encode("utf-8")
        Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_device(
    device: Mapping[str, Any],
    *,
    client: Mapping[str, Any],
    role: str,
    scopes: list[str],
    auth: Mapping[str, Any] | None,
    challenge_nonce: str,
    now_ms: int,
) -> VerifiedDevice | DeviceAuthFailure:
    """Run the §2 checks in order; the schema has already guaranteed the field types."""
    device_id = str(device.get("id", ""))
    raw = decode_public_key(str(device.get("publicKey", "")))
    if raw is None or device_id_for(raw) != device_id:
        return ID_MISMATCH
    signed_at = device.get("signedAt")
    if (
        not isinstance(signed_at, int)
        or isinstance(signed_at, bool)
        or abs(now_ms - signed_at) > SIGNATURE_SKEW_MS
    ):
        return SIGNATURE_EXPIRED
    nonce = str(device.get("nonce", "")).strip()
    if not nonce:
        return NONCE_REQUIRED
    if nonce != challenge_nonce.strip():
        return NONCE_MISMATCH
    signature = _b64_decode(str(device.get("signature", "")))
    common = {
        "device_id": device_id,
        "client_id": str(client.get("id", "")),
        "client_mode": str(client.get("mode", "")),
        "role": role,
        "scopes": scopes,
        "signed_at_ms": signed_at,
        "token": signature_token(auth),
        "nonce": nonce,
    }
    version: str | None = None
    if signature is not None:
        v3 = build_payload(
            "v3",
            **common,
            platform=client.get("platform"),
            device_family=client.get("deviceFamily"),
        )
        if _verify(raw, v3, signature):
            version = "v3"
        elif _verify(raw, build_payload("v2", **common), signature):
            version = "v2"
    if version is None:
        return SIGNATURE_INVALID
    if len(raw) != 32:
        return PUBLIC_KEY_INVALID  # unreachable in practice: a bad key cannot verify (K11)
    return VerifiedDevice(device_id=device_id, public_key=b64url(raw), payload_version=version)
