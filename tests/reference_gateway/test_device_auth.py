"""§2: device proof checks, in table order, plus K10, K11, v2 payloads and PEM keys."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ._support import NOW, READ, TOKEN, Device, accepted, b64url, cfg, connect, params, rejected

TOK = {"token": TOKEN}


def _expect(d: object, message: str, code: str, reason: str) -> None:
    r = rejected(d)  # type: ignore[arg-type]
    assert r.error.code == "INVALID_REQUEST"
    assert r.error.message == message
    assert r.error.details == {"code": code, "reason": reason}
    assert r.close_code == 1008
    assert r.close_reason == message


@pytest.mark.parametrize("profile,proto", [("current", (4, 4)), ("2026.3.13", (3, 3))])
def test_row1_id_not_matching_key(profile: str, proto: tuple[int, int]) -> None:
    p = params(scopes=READ, auth=TOK, protocol=proto)
    dev = Device()
    p["device"] = dev.sign(p, device_id="0" * 64)
    _expect(
        connect(cfg(), p, profile=profile),
        "device identity mismatch",
        "DEVICE_AUTH_DEVICE_ID_MISMATCH",
        "device-id-mismatch",
    )


def test_row1_undecodable_key() -> None:
    p = params(scopes=READ, auth=TOK)
    p["device"] = {**Device().sign(p), "publicKey": "!!!not base64!!!"}
    _expect(
        connect(cfg(), p),
        "device identity mismatch",
        "DEVICE_AUTH_DEVICE_ID_MISMATCH",
        "device-id-mismatch",
    )


@pytest.mark.parametrize("skew", [120_001, -120_001])
def test_row2_stale_signed_at(skew: int) -> None:
    p = params(scopes=READ, auth=TOK)
    p["device"] = Device().sign(p, signed_at=NOW - skew)
    _expect(
        connect(cfg(), p),
        "device signature expired",
        "DEVICE_AUTH_SIGNATURE_EXPIRED",
        "device-signature-stale",
    )


def test_row2_boundary_120s_is_accepted() -> None:
    p = params(scopes=READ, auth=TOK)
    p["device"] = Device().sign(p, signed_at=NOW - 120_000)
    accepted(connect(cfg(), p))


def test_row3_blank_nonce() -> None:
    p = params(scopes=READ, auth=TOK)
    p["device"] = Device().sign(p, nonce="   ")
    _expect(
        connect(cfg(), p),
        "device nonce required",
        "DEVICE_AUTH_NONCE_REQUIRED",
        "device-nonce-missing",
    )


def test_k10_absent_nonce_is_a_schema_error() -> None:
    p = params(scopes=READ, auth=TOK)
    device = Device().sign(p)
    del device["nonce"]
    p["device"] = device
    r = rejected(connect(cfg(), p))
    assert r.error.code == "INVALID_REQUEST"
    assert r.error.message == (
        "invalid connect params: at /device: must have required property 'nonce'"
    )
    assert r.error.details is None
    assert r.close_code == 1008


def test_row4_wrong_nonce() -> None:
    p = params(scopes=READ, auth=TOK)
    p["device"] = Device().sign(p, nonce="11111111-2222-4333-8444-555555555555")
    _expect(
        connect(cfg(), p),
        "device nonce mismatch",
        "DEVICE_AUTH_NONCE_MISMATCH",
        "device-nonce-mismatch",
    )


def test_nonce_is_compared_after_trimming() -> None:
    from ._support import NONCE

    p = params(scopes=READ, auth=TOK)
    dev = Device()
    signed = dev.sign(p, nonce=NONCE)
    # Signature covers the trimmed nonce; the wire value carries spaces.
    p["device"] = {**signed, "nonce": f"  {NONCE} "}
    accepted(connect(cfg(), p))


def test_row5_bad_signature() -> None:
    p = params(scopes=READ, auth=TOK)
    signed = Device().sign(p)
    p["device"] = {**signed, "signature": b64url(b"\x00" * 64)}
    _expect(
        connect(cfg(), p),
        "device signature invalid",
        "DEVICE_AUTH_SIGNATURE_INVALID",
        "device-signature",
    )


def test_row5_signature_over_other_scopes() -> None:
    p = params(scopes=READ, auth=TOK)
    p["device"] = Device().sign({**p, "scopes": ["operator.admin"]})
    _expect(
        connect(cfg(), p),
        "device signature invalid",
        "DEVICE_AUTH_SIGNATURE_INVALID",
        "device-signature",
    )


def test_k11_short_key_matching_id_fails_as_signature_invalid() -> None:
    raw = b"\x01" * 31
    p = params(scopes=READ, auth=TOK)
    p["device"] = {
        **Device().sign(p),
        "publicKey": b64url(raw),
        "id": hashlib.sha256(raw).hexdigest(),
    }
    _expect(
        connect(cfg(), p),
        "device signature invalid",
        "DEVICE_AUTH_SIGNATURE_INVALID",
        "device-signature",
    )


@pytest.mark.parametrize("profile,proto", [("current", (4, 4)), ("2026.3.13", (3, 3))])
def test_v2_payload_is_accepted(profile: str, proto: tuple[int, int]) -> None:
    p = params(scopes=READ, auth=TOK, protocol=proto)
    p["device"] = Device().sign(p, version="v2")
    assert accepted(connect(cfg(), p, profile=profile)).device_id is not None


def test_pem_public_key_and_standard_base64_signature() -> None:
    dev = Device()
    p = params(scopes=READ, auth=TOK)
    signed = dev.sign(p)
    sig = base64.urlsafe_b64decode(signed["signature"] + "==")
    p["device"] = {**signed, "publicKey": dev.pem, "signature": base64.b64encode(sig).decode()}
    d = accepted(connect(cfg(), p))
    # Stored normalised as base64url of the raw key.
    assert d.state.paired[dev.id].meta.public_key == dev.pub


def test_v3_metadata_is_lowercased_before_signing() -> None:
    dev = Device()
    p = params(scopes=READ, auth=TOK, platform="  Linux ")
    p["device"] = dev.sign(p)  # the helper trims and lowercases
    accepted(connect(cfg(), p))
