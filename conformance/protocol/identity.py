"""Device identity as a client proves it: Ed25519 keys, ids and signed payloads.

GATEWAY_PROTOCOL.md section 2: the device id is the lowercase hex SHA-256 of the raw 32-byte public
key; keys and signatures travel as unpadded base64url; the signed payload joins fields with `|`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def device_id_for(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()


def _normalise_metadata(value: str | None) -> str:
    # The gateway lowercases ASCII letters only (not Unicode), after trimming.
    if not value:
        return ""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in value.strip())


def signature_payload(
    version: str,
    *,
    device_id: str,
    client_id: str,
    client_mode: str,
    role: str,
    scopes: Sequence[str],
    signed_at_ms: int,
    token: str | None,
    nonce: str,
    platform: str | None = None,
    device_family: str | None = None,
) -> str:
    """The exact string a device signs, v2 or v3. Scopes keep the client's order."""
    fields = [
        version,
        device_id,
        client_id,
        client_mode,
        role,
        ",".join(scopes),
        str(signed_at_ms),
        token or "",
        nonce,
    ]
    if version == "v3":
        fields += [_normalise_metadata(platform), _normalise_metadata(device_family)]
    elif version != "v2":
        raise ValueError(f"unknown payload version {version!r}")
    return "|".join(fields)


@dataclass(frozen=True)
class DeviceIdentity:
    """A key pair. Fresh per case, so cases never share pairing state."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceIdentity:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> DeviceIdentity:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def raw_public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def public_key_b64url(self) -> str:
        return b64url(self.raw_public_key)

    @property
    def public_key_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    @property
    def device_id(self) -> str:
        return device_id_for(self.raw_public_key)

    def sign(self, payload: str) -> str:
        return b64url(self.private_key.sign(payload.encode("utf-8")))
