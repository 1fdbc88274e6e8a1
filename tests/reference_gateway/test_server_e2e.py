"""End to end through the websockets server, with a tiny raw client written here."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from reference_gateway.server import serve_reference

from ._support import ALL5, TOKEN, Device, cfg


async def _recv(ws: Any) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def _closed(ws: Any) -> tuple[int | None, str | None]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as exc:
        return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, None)


def _connect_params(
    scopes: list[str],
    *,
    token: str | None = TOKEN,
    proto: int = 4,
    client: tuple[str, str] = ("cli", "cli"),
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "minProtocol": proto,
        "maxProtocol": proto,
        "client": {"id": client[0], "version": "1", "platform": "linux", "mode": client[1]},
        "scopes": scopes,
    }
    if token is not None:
        p["auth"] = {"token": token}
    return p


async def _handshake(
    url: str, p: dict[str, Any], device: Device | None = None, **kw: Any
) -> tuple[Any, dict[str, Any]]:
    ws = await ws_connect(url, **kw)
    challenge = await _recv(ws)
    assert challenge["type"] == "event" and challenge["event"] == "connect.challenge"
    nonce = challenge["payload"]["nonce"]
    assert isinstance(challenge["payload"]["ts"], int)
    if device is not None:
        p = {**p, "device": device.sign(p, nonce=nonce, signed_at=int(time.time() * 1000))}
    await ws.send(json.dumps({"type": "req", "id": "c1", "method": "connect", "params": p}))
    return ws, await _recv(ws)


async def _call(ws: Any, method: str, params: Any = None) -> dict[str, Any]:
    await ws.send(
        json.dumps({"type": "req", "id": method, "method": method, "params": params or {}})
    )
    while True:
        frame = await _recv(ws)
        if frame.get("type") == "res":
            return frame


@pytest.mark.asyncio
async def test_current_local_cli_keeps_scopes_end_to_end() -> None:
    async with serve_reference(cfg(), env={}) as gw:
        ws, res = await _handshake(gw.url, _connect_params(ALL5))
        assert res["ok"] is True
        hello = res["payload"]
        assert hello["type"] == "hello-ok" and hello["protocol"] == 4
        assert hello["auth"]["method"] == "token"
        assert set(hello["auth"]["scopes"]) == set(ALL5)
        assert (await _call(ws, "status"))["ok"] is True
        res = await _call(ws, "sessions.delete")
        assert res["error"]["message"] == (
            "invalid sessions.delete params: must have required property 'key'"
        )
        await ws.close()
        assert "connect accepted client=cli/cli" in gw.log_tail()


@pytest.mark.asyncio
async def test_3_13_seed_bug_end_to_end() -> None:
    async with serve_reference(cfg(), profile="2026.3.13", env={}) as gw:
        ws, res = await _handshake(gw.url, _connect_params(ALL5, proto=3))
        assert res["ok"] is True and "auth" not in res["payload"]
        assert res["payload"]["protocol"] == 3
        assert (await _call(ws, "health"))["ok"] is True
        err = (await _call(ws, "status"))["error"]
        assert err == {"code": "INVALID_REQUEST", "message": "missing scope: operator.read"}
        await ws.close()
        assert "errorMessage=missing scope: operator.read" in gw.log_tail()


@pytest.mark.asyncio
async def test_device_pairing_and_token_end_to_end() -> None:
    async with serve_reference(cfg(), env={}) as gw:
        dev = Device()
        ws, res = await _handshake(gw.url, _connect_params(["operator.read"]), dev)
        assert res["ok"] is True
        token = res["payload"]["auth"]["deviceToken"]
        await ws.close()
        ws, res = await _handshake(
            gw.url,
            {**_connect_params(["operator.read"], token=None), "auth": {"deviceToken": token}},
            dev,
        )
        assert res["payload"]["auth"]["method"] == "device-token"
        await ws.close()
        # Local scope-upgrade with the token: silent on real 2026.9.6 (observed 2026-11-25).
        ws, res = await _handshake(gw.url, _connect_params(ALL5), dev)
        assert res["ok"] is True
        auth = res["payload"]["auth"]
        assert auth["scopes"] == ALL5
        assert auth["deviceToken"] != token
        assert (await _call(ws, "status"))["ok"] is True
        await ws.close()
        log = gw.log_tail()
        audit = log.index("security audit: device access upgrade requested reason=scope-upgrade")
        assert log.index("device pairing auto-approved", audit) > audit


@pytest.mark.asyncio
async def test_rejection_sends_error_then_closes() -> None:
    async with serve_reference(cfg(), env={}) as gw:
        ws, res = await _handshake(gw.url, _connect_params(["operator.read"], token="bad"))
        assert res["ok"] is False and res["error"]["details"]["code"] == "AUTH_TOKEN_MISMATCH"
        code, reason = await _closed(ws)
        assert code == 1008 and reason == res["error"]["message"]
        ws, res = await _handshake(gw.url, _connect_params([], proto=3))
        assert res["error"]["message"] == "protocol mismatch"
        assert (await _closed(ws))[0] == 1002


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "payload,expected",
    [
        ("this is not json", (1000, "")),
        (json.dumps({"type": "event", "event": "x"}), (1008, "invalid request frame")),
        ("x" * 70000, (1009, "")),
    ],
    ids=["not-json", "not-a-request", "oversize"],
)
async def test_malformed_first_frames(payload: str, expected: tuple[int, str]) -> None:
    async with serve_reference(cfg(), env={}) as gw, ws_connect(gw.url, max_size=None) as ws:
        await _recv(ws)
        await ws.send(payload)
        assert await _closed(ws) == expected


@pytest.mark.asyncio
async def test_first_request_not_connect() -> None:
    async with serve_reference(cfg(), env={}) as gw, ws_connect(gw.url) as ws:
        await _recv(ws)
        await ws.send(json.dumps({"type": "req", "id": "1", "method": "status"}))
        res = await _recv(ws)
        assert res["error"] == {
            "code": "INVALID_REQUEST",
            "message": "invalid handshake: first request must be connect",
        }
        assert await _closed(ws) == (1008, "invalid handshake: first request must be connect")


@pytest.mark.asyncio
async def test_handshake_timeout_from_env() -> None:
    env = {"OPENCLAW_HANDSHAKE_TIMEOUT_MS": "200"}
    async with serve_reference(cfg(), env=env) as gw, ws_connect(gw.url) as ws:
        await _recv(ws)
        started = time.monotonic()
        code, _ = await _closed(ws)
        assert code == 1000
        assert time.monotonic() - started < 3


@pytest.mark.asyncio
async def test_http_403_for_untrusted_proxy_headers() -> None:
    async with serve_reference(cfg(), env={}) as gw:
        with pytest.raises(InvalidStatus) as info:
            await ws_connect(gw.url, additional_headers={"X-Forwarded-For": "1.2.3.4"})
        assert info.value.response.status_code == 403


@pytest.mark.asyncio
async def test_http_403_for_trusted_proxy_forwarding_for_loopback() -> None:
    # Observed on real 2026.9.6 (2026-11-25): trustedProxies ["127.0.0.1"], token auth.
    async with serve_reference(cfg(trustedProxies=["127.0.0.1"]), env={}) as gw:
        with pytest.raises(InvalidStatus) as info:
            await ws_connect(gw.url, additional_headers={"X-Forwarded-For": "127.0.0.1"})
        assert info.value.response.status_code == 403
        # The same trusted peer forwarding for a public client reaches the WebSocket layer and
        # is not local (device-less cli/cli: scopes cleared, §5.3 A1c).
        ws, res = await _handshake(
            gw.url, _connect_params(ALL5), additional_headers={"X-Forwarded-For": "203.0.113.7"}
        )
        assert res["ok"] is True
        assert res["payload"]["auth"]["scopes"] == []
        await ws.close()


def test_subprocess_readiness_and_sigterm() -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(cfg(), fh)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_gateway", "--config", fh.name, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("[gateway] listening on ws://127.0.0.1:")
        assert proc.stdout.readline().strip() == "[gateway] ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.unlink(fh.name)
