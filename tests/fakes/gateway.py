"""A gateway that fails in one named way, for the harness's own robustness tests.

    python -m tests.fakes.gateway MODE PORT

Modes: `no-upgrade` (plain HTTP 200, never a WebSocket), `503` (refuses every upgrade with
503 forever), `rst` (accepts TCP, resets it), `no-challenge` (upgrades, then says nothing),
`hang-after-challenge` (challenge, then nothing), `garbage` (challenge, then bytes that are
not JSON), `mid-close` (challenge, then closes 1011 before answering), `error-10mb` (rejects
connect with a 10 MB error message and close reason), `frame-10mb` (answers connect with a
10 MB non-JSON frame), `hello-silence` (hello-ok, then never answers an RPC). Prints
`[fake] listening on PORT` once it listens.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import time
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

BIG = 10 * 1024 * 1024


def _challenge() -> str:
    return json.dumps(
        {
            "type": "event",
            "event": "connect.challenge",
            "payload": {"nonce": "fake-nonce", "ts": int(time.time() * 1000)},
        }
    )


def _hello(req_id: Any) -> str:
    return json.dumps(
        {
            "type": "res",
            "id": req_id,
            "ok": True,
            "payload": {
                "type": "hello-ok",
                "protocol": 4,
                "server": {"version": "2026.9.6", "connId": "fake"},
                "features": {"methods": ["status"], "events": []},
                "auth": {"method": "token", "role": "operator", "scopes": ["operator.read"]},
                "policy": {"maxPayload": 26214400},
            },
        }
    )


async def _ws_mode(mode: str, ws: ServerConnection) -> None:
    try:
        if mode == "no-challenge":
            await ws.wait_closed()
            return
        await ws.send(_challenge())
        if mode == "hang-after-challenge":
            await ws.wait_closed()
            return
        frame = json.loads(await ws.recv())
        req_id = frame.get("id")
        if mode == "garbage":
            await ws.send("<<<not json>>>\x00\x01")
            await ws.wait_closed()
        elif mode == "mid-close":
            await ws.close(1011, "fake: gone")
        elif mode == "error-10mb":
            message = "x" * BIG
            await ws.send(
                json.dumps(
                    {
                        "type": "res",
                        "id": req_id,
                        "ok": False,
                        "error": {"code": "INVALID_REQUEST", "message": message},
                    }
                )
            )
            await ws.close(1008, "y" * 120)  # a close reason is at most 123 bytes
        elif mode == "frame-10mb":
            await ws.send("z" * BIG)
            await ws.wait_closed()
        elif mode == "hello-silence":
            await ws.send(_hello(req_id))
            await ws.wait_closed()  # every RPC goes unanswered
    except ConnectionClosed:
        pass


async def _raw_mode(mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        writer.close()
        return
    if mode == "rst":
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return
    status = b"503 Service Unavailable" if mode == "503" else b"200 OK"
    body = b"not a gateway\n"
    writer.write(
        b"HTTP/1.1 "
        + status
        + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        + body
    )
    await writer.drain()
    writer.close()


async def main(mode: str, port: int) -> None:
    if mode in ("no-upgrade", "503", "rst"):
        server = await asyncio.start_server(lambda r, w: _raw_mode(mode, r, w), "127.0.0.1", port)
    else:
        server = await serve(
            lambda ws: _ws_mode(mode, ws), "127.0.0.1", port, max_size=None, compression=None
        )
    print(f"[fake] listening on {port}", flush=True)
    async with server:
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
