"""The connect frame, built in one place for every connect the harness sends.

A connect is signed over the challenge nonce, so a plan is built first and turned into a frame
when the nonce arrives. The broken device proofs a case can ask for (`Proof`) are applied here,
where the signature is made.
"""

from __future__ import annotations

import enum
import hashlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.protocol.identity import DeviceIdentity, b64url, signature_payload

STALE_MS = 10 * 60 * 1000  # far beyond the 120 s skew the gateway allows


class Proof(enum.Enum):
    """The device proof a connect carries: valid, or broken in one named way."""

    VALID = "valid"
    BAD_SIGNATURE = "bad-signature"
    STALE_SIGNED_AT = "stale-signed-at"
    WRONG_NONCE = "wrong-nonce"
    BLANK_NONCE = "blank-nonce"
    MISSING_NONCE = "missing-nonce"
    ID_MISMATCH = "id-mismatch"
    INVALID_PUBLIC_KEY = "invalid-public-key"
    UNDECODABLE_PUBLIC_KEY = "undecodable-public-key"


def shared_auth(token: str | None, password: str | None) -> dict[str, str]:
    """The `auth` of a connect carrying the gateway's shared secret, if any."""
    return {k: v for k, v in (("token", token), ("password", password)) if v}


@dataclass(frozen=True)
class ConnectPlan:
    """Everything needed to build a connect frame once the challenge nonce is known: every
    connect the harness sends (a case's, a readiness check's, the preflight's, the janitor's)
    is one of these, so the frame is written in one place."""

    client_id: str = "cli"
    client_mode: str = "cli"
    client_version: str = "conformance"
    platform: str | None = "linux"  # None: client.platform is not sent
    device_family: str | None = None
    display_name: str | None = None
    role: str = "operator"
    scopes: tuple[str, ...] | None = ()
    auth: Mapping[str, str] = field(default_factory=dict)
    protocol: tuple[int, int] = (3, 4)
    identity: DeviceIdentity | None = None
    signature: str = "v3"
    proof: Proof = Proof.VALID
    instance_id: str | None = None  # client.instanceId: how presence entries are told apart
    caps: tuple[str, ...] | None = None
    locale: str | None = None
    user_agent: str | None = None
    request_id: str | None = None  # None: a fresh one per frame

    def frame(self, nonce: str) -> dict[str, Any]:
        client: dict[str, Any] = {"id": self.client_id, "version": self.client_version}
        if self.platform is not None:  # sent as given, "" included
            client["platform"] = self.platform
        client["mode"] = self.client_mode
        if self.device_family:
            client["deviceFamily"] = self.device_family
        if self.display_name is not None:
            client["displayName"] = self.display_name
        if self.instance_id is not None:
            client["instanceId"] = self.instance_id
        params: dict[str, Any] = {
            "minProtocol": self.protocol[0],
            "maxProtocol": self.protocol[1],
            "client": client,
            "role": self.role,
        }
        if self.caps is not None:
            params["caps"] = list(self.caps)
        if self.locale is not None:
            params["locale"] = self.locale
        if self.user_agent is not None:
            params["userAgent"] = self.user_agent
        if self.scopes is not None:
            params["scopes"] = list(self.scopes)
        if self.auth:
            params["auth"] = dict(self.auth)
        if self.identity is not None:
            params["device"] = self._device(nonce)
        return {
            "type": "req",
            "id": self.request_id or f"connect-{uuid.uuid4().hex[:8]}",
            "method": "connect",
            "params": params,
        }

    def _device(self, nonce: str) -> dict[str, Any]:
        ident = self.identity
        assert ident is not None
        signed_at = int(time.time() * 1000)
        if self.proof is Proof.STALE_SIGNED_AT:
            signed_at -= STALE_MS
        signed_nonce = nonce
        if self.proof is Proof.WRONG_NONCE:
            signed_nonce = str(uuid.uuid4())
        elif self.proof is Proof.BLANK_NONCE:
            signed_nonce = "  "
        token = (
            self.auth.get("token")
            or self.auth.get("deviceToken")
            or self.auth.get("bootstrapToken")
        )
        payload = signature_payload(
            self.signature,
            device_id=ident.device_id,
            client_id=self.client_id,
            client_mode=self.client_mode,
            role=self.role,
            scopes=self.scopes or (),
            signed_at_ms=signed_at,
            token=token,
            nonce=signed_nonce,
            platform=self.platform,
            device_family=self.device_family,
        )
        signature = ident.sign(payload)
        public_key = ident.public_key_b64url
        device_id = ident.device_id
        if self.proof is Proof.BAD_SIGNATURE:
            signature = ident.sign(payload + "|tampered")
        elif self.proof is Proof.ID_MISMATCH:
            device_id = DeviceIdentity.generate().device_id
        elif self.proof is Proof.INVALID_PUBLIC_KEY:
            # 32 bytes that are not this device's key; the id matches them, so only the
            # signature check can catch it (GATEWAY_PROTOCOL.md K11).
            fake = bytes(range(1, 33))
            public_key = b64url(fake)
            device_id = hashlib.sha256(fake).hexdigest()
        elif self.proof is Proof.UNDECODABLE_PUBLIC_KEY:
            public_key = "%%% not a key %%%"
        device: dict[str, Any] = {
            "id": device_id,
            "publicKey": public_key,
            "signature": signature,
            "signedAt": signed_at,
            "nonce": signed_nonce,
        }
        if self.proof is Proof.MISSING_NONCE:
            del device["nonce"]
        return device
