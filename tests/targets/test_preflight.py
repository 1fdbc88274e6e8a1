"""The preflight against servers that are not a usable gateway: each answers within the connect
timeout plus one second, with one line naming what was tried and what came back."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from conformance.protocol.sockets import Vantage
from conformance.targets import preflight

TIMEOUT = 1.0


def _serve(handler: Callable[[socket.socket], None]) -> Iterator[int]:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conns.append(conn)
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        t.join(2)
        for c in conns:
            c.close()
        srv.close()


def _silent(conn: socket.socket) -> None:
    time.sleep(5)


def _http_garbage(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


def _close_at_once(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.close()


def _run(port: int) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(preflight.PreflightError) as info:
        asyncio.run(
            preflight.run(
                Vantage("127.0.0.1", port),
                url=f"ws://127.0.0.1:{port}",
                token="t",
                password=None,
                timeout=TIMEOUT,
            )
        )
    return str(info.value), time.monotonic() - started


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (_silent, "no answer"),
        (_http_garbage, "HTTP 404 at the WebSocket upgrade"),
        (_close_at_once, "does not speak the OpenClaw gateway protocol"),
    ],
    ids=["silent", "http-404", "closes"],
)
def test_not_a_gateway_is_one_bounded_error(handler, expected: str) -> None:
    for port in _serve(handler):
        message, seconds = _run(port)
        assert expected in message, message
        assert message.startswith(f"ws://127.0.0.1:{port}: ")
        assert "\n" not in message
        assert seconds <= TIMEOUT + 1.0, seconds


def test_nothing_listening_is_refused_at_once() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    message, seconds = _run(port)
    assert (
        message
        == f"ws://127.0.0.1:{port}: connection refused (is the gateway running on that port?)"
    )
    assert seconds < 1.0


def test_config_inside_the_answer_shapes() -> None:
    gw = {"gateway": {"auth": {"mode": "token"}}}
    assert preflight.config_from_payload(gw) == gw
    assert preflight.config_from_payload({"exists": True, "config": gw}) == gw
    assert preflight.config_from_payload({"raw": "{}", "hash": "x"}) is None
    assert preflight.config_from_payload(["not", "a", "mapping"]) is None
