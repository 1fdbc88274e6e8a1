"""What the client observes when a gateway answers a frame it should not answer, or closes a
silent client late: the gateway's own behaviour, never a timeout of the harness's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from websockets.asyncio.server import ServerConnection, serve

from conformance.protocol.client import Timeouts, handshake
from conformance.protocol.sockets import Vantage

CHALLENGE = json.dumps(
    {"type": "event", "event": "connect.challenge", "payload": {"nonce": "n", "ts": 0}}
)
HELLO = {"type": "res", "id": "any", "ok": True, "payload": {"type": "hello-ok", "protocol": 3}}


@asynccontextmanager
async def _gateway(behave: Callable[[ServerConnection], object]) -> AsyncIterator[Vantage]:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(CHALLENGE)
        await behave(ws)

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield Vantage("127.0.0.1", port)


async def _answers_anything(ws: ServerConnection) -> None:
    # 2026.2.26: a >64 KiB pre-auth connect gets hello-ok (GHSA-jv4g-m82p-2j93)
    await ws.recv()
    await ws.send(json.dumps({"type": "event", "event": "tick", "payload": {}}))
    await ws.send(json.dumps(HELLO))
    await asyncio.sleep(1)


async def _closes_after(ws: ServerConnection, seconds: float = 1.5) -> None:
    await asyncio.sleep(seconds)
    await ws.close(1000, "handshake timeout")


def test_a_raw_frame_answered_with_hello_ok_is_observed_as_accepted() -> None:
    async def go():
        async with _gateway(_answers_anything) as vantage:
            return await handshake(
                vantage, lambda nonce: "x" * 70_000, timeouts=Timeouts(response=3),
                keep_open=False,
            )  # fmt: skip

    out = asyncio.run(go())
    assert out.transport_error is None
    assert out.response is True
    assert out.accepted is True
    assert out.hello == HELLO["payload"]


def test_a_silent_client_sees_the_gateways_own_late_close() -> None:
    async def go():
        async with _gateway(_closes_after) as vantage:
            return await handshake(vantage, lambda nonce: None, timeouts=Timeouts(response=4))

    out = asyncio.run(go())
    assert out.transport_error is None
    assert out.accepted is False
    assert out.close_code == 1000
    assert 1.4 < out.elapsed_s < 4
