"""Device identity against values computed with OpenSSL, not with the code under test."""

from __future__ import annotations

import pytest

from conformance.protocol.identity import DeviceIdentity, b64url, signature_payload

SEED = bytes(range(32))
# openssl pkey -pubout of the PKCS#8 key with this seed, then sha256sum / basenc --base64url
RAW_PUB_HEX = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
DEVICE_ID = "56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c"
PUB_B64URL = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
# openssl pkeyutl -sign -rawin over the v3 payload below (Ed25519 is deterministic)
SIGNATURE = "6zOOPAMmKwG9sYWEWTNaazzCIzTWQ5i3KVmNq-JYn3LJRaO3-yQusPpLGTD5kfQSkcLDhYa1zOkW2K3Bbyt_Cg"


@pytest.fixture
def ident() -> DeviceIdentity:
    return DeviceIdentity.from_seed(SEED)


def test_public_key_and_device_id(ident: DeviceIdentity) -> None:
    assert ident.raw_public_key.hex() == RAW_PUB_HEX
    assert ident.public_key_b64url == PUB_B64URL
    assert "=" not in ident.public_key_b64url
    assert ident.device_id == DEVICE_ID
    assert "BEGIN PUBLIC KEY" in ident.public_key_pem


def test_v3_payload_exact_string() -> None:
    payload = signature_payload(
        "v3",
        device_id=DEVICE_ID,
        client_id="cli",
        client_mode="cli",
        role="operator",
        scopes=["operator.read", "operator.write"],
        signed_at_ms=1795575748407,
        token="tok",
        nonce="n-1",
        platform=" Linux ",
        device_family=None,
    )
    assert payload == (
        f"v3|{DEVICE_ID}|cli|cli|operator|operator.read,operator.write|1795575748407|tok|n-1|linux|"
    )


def test_v2_payload_has_no_metadata_and_keeps_scope_order() -> None:
    payload = signature_payload(
        "v2",
        device_id="d",
        client_id="gateway-client",
        client_mode="backend",
        role="operator",
        scopes=["operator.write", "operator.admin"],
        signed_at_ms=5,
        token=None,
        nonce="abc",
        platform="linux",
    )
    assert payload == "v2|d|gateway-client|backend|operator|operator.write,operator.admin|5||abc"


def test_metadata_lowercases_ascii_only() -> None:
    payload = signature_payload(
        "v3",
        device_id="d",
        client_id="c",
        client_mode="m",
        role="r",
        scopes=[],
        signed_at_ms=1,
        token="",
        nonce="n",
        platform="MacOS",
        device_family="ÄPhone",
    )
    assert payload.endswith("|macos|Äphone")


def test_signature_matches_openssl(ident: DeviceIdentity) -> None:
    payload = (
        f"v3|{DEVICE_ID}|cli|cli|operator|operator.read,operator.write|1795575748407|tok|n-1|linux|"
    )
    assert ident.sign(payload) == SIGNATURE


def test_b64url_unpadded() -> None:
    assert b64url(b"\xfb\xff") == "-_8"


def test_unknown_payload_version() -> None:
    with pytest.raises(ValueError, match="unknown payload version"):
        signature_payload(
            "v9",
            device_id="d",
            client_id="c",
            client_mode="m",
            role="r",
            scopes=[],
            signed_at_ms=1,
            token=None,
            nonce="n",
        )
