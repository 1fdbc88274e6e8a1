"""Test-side helpers: an independent device signer and builders for connect params.

The signing payload is written out here from GATEWAY_PROTOCOL.md §2, not imported from the
gateway, so a wrong payload in the implementation cannot make its own tests pass.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reference_gateway.config import load_config
from reference_gateway.locality import ConnectContext
from reference_gateway.pairing import Entropy, PairingState
from reference_gateway.policy import Accepted, Rejected, decide_connect
from reference_gateway.profiles import get_profile

NOW = 1_800_000_000_000
NONCE = "6f1c2b0e-0d7a-4c55-9d55-2a1f6c3e9b10"
TOKEN = "tok-secret"
PASSWORD = "pw-secret"
ALL5 = [
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.approvals",
    "operator.pairing",
]
READ = ["operator.read"]
UI_ORIGIN = "http://127.0.0.1:18789"
REMOTE_IP = "198.18.0.2"
PROXY_IP = "198.18.0.1"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Device:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def raw_pub(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def pub(self) -> str:
        return b64url(self.raw_pub)

    @property
    def pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def id(self) -> str:
        return hashlib.sha256(self.raw_pub).hexdigest()

    def sign(
        self,
        params: dict[str, Any],
        *,
        nonce: str = NONCE,
        signed_at: int = NOW,
        version: str = "v3",
        device_id: str | None = None,
    ) -> dict[str, Any]:
        client = params["client"]
        auth = params.get("auth") or {}
        token = next((auth[k] for k in ("token", "deviceToken", "bootstrapToken") if k in auth), "")
        fields = [
            version,
            device_id or self.id,
            client["id"],
            client["mode"],
            params.get("role", "operator"),
            ",".join(params.get("scopes", [])),
            str(signed_at),
            token,
            nonce,
        ]
        if version == "v3":
            fields += [
                client.get("platform", "").strip().lower(),
                client.get("deviceFamily", "").strip().lower(),
            ]
        payload = "|".join(fields)
        return {
            "id": device_id or self.id,
            "publicKey": self.pub,
            # A lone surrogate (JSON allows one) is signed as Node's Buffer.from encodes it.
            "signature": b64url(
                self.key.sign(re.sub("[\ud800-\udfff]", "\ufffd", payload).encode())
            ),
            "signedAt": signed_at,
            "nonce": nonce,
        }


def params(
    client_id: str = "cli",
    mode: str = "cli",
    *,
    role: str | None = None,
    scopes: list[str] | None = None,
    auth: dict[str, Any] | None = None,
    protocol: tuple[int, int] = (4, 4),
    platform: str = "linux",
    **extra: Any,
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "minProtocol": protocol[0],
        "maxProtocol": protocol[1],
        "client": {"id": client_id, "version": "1.0.0", "platform": platform, "mode": mode},
    }
    if role is not None:
        p["role"] = role
    if scopes is not None:
        p["scopes"] = list(scopes)
    if auth is not None:
        p["auth"] = auth
    p.update(extra)
    return p


def with_device(p: dict[str, Any], dev: Device, **kw: Any) -> dict[str, Any]:
    out = dict(p)
    out["device"] = dev.sign(p, **kw)
    return out


def cfg(mode: str = "token", **gateway: Any) -> dict[str, Any]:
    auth: dict[str, Any] = {"mode": mode}
    if mode == "token":
        auth["token"] = TOKEN
    elif mode == "password":
        auth["password"] = PASSWORD
    elif mode == "trusted-proxy":
        auth["trustedProxy"] = {
            "userHeader": "x-forwarded-user",
            "requiredHeaders": [],
            "allowUsers": [],
        }
    g: dict[str, Any] = {"mode": "local", "bind": "loopback", "auth": auth}
    g.update(gateway)
    return {"gateway": g, "update": {"checkOnStart": False}}


def loopback(**headers: str) -> ConnectContext:
    h = {"host": "127.0.0.1:18789"}
    h.update({k.replace("_", "-").lower(): v for k, v in headers.items()})
    return ConnectContext(peer="127.0.0.1", headers=h, nonce=NONCE)


def remote(peer: str = REMOTE_IP, **headers: str) -> ConnectContext:
    h = {"host": "198.18.0.10:18789"}
    h.update({k.replace("_", "-").lower(): v for k, v in headers.items()})
    return ConnectContext(peer=peer, headers=h, nonce=NONCE)


class Counter:
    """Deterministic entropy: predictable request ids and tokens."""

    def __init__(self) -> None:
        self.n = 0

    def uuid(self) -> str:
        self.n += 1
        return f"00000000-0000-4000-8000-{self.n:012d}"

    def token(self) -> str:
        self.n += 1
        return f"devtok-{self.n}"


def connect(
    config: dict[str, Any],
    p: dict[str, Any],
    ctx: ConnectContext | None = None,
    *,
    profile: str = "current",
    state: PairingState | None = None,
    now: int = NOW,
) -> Accepted | Rejected:
    counter = Counter()
    return decide_connect(
        load_config(config, {}),
        get_profile(profile),
        state or PairingState(),
        ctx or loopback(),
        p,
        now,
        Entropy(new_uuid=counter.uuid, new_token=counter.token),
    )


def accepted(d: Accepted | Rejected) -> Accepted:
    assert isinstance(d, Accepted), f"expected acceptance, got {d!r}"
    return d


def rejected(d: Accepted | Rejected) -> Rejected:
    assert isinstance(d, Rejected), f"expected rejection, got {d!r}"
    return d


def paired_state(
    dev: Device,
    *,
    scopes: list[str],
    role: str = "operator",
    client: tuple[str, str] = ("cli", "cli"),
    profile: str = "current",
    platform: str = "linux",
) -> PairingState:
    """Pair `dev` through the gateway's own silent local pairing (B1), as a real client would."""
    p = params(
        client[0],
        client[1],
        role=role,
        scopes=scopes,
        auth={"token": TOKEN},
        protocol=(3, 3) if profile == "2026.3.13" else (4, 4),
        platform=platform,
    )
    d = accepted(connect(cfg(), with_device(p, dev), profile=profile))
    assert dev.id in d.state.paired
    return d.state
