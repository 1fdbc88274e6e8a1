"""The protocol client: one bounded handshake and, when accepted, RPC calls on the connection.

Every wait has a timeout; a gateway that hangs, closes early or sends garbage ends as a
`HandshakeOutcome` that says what happened, never as a hang. What to send is decided by the caller
(`build_first_frame(nonce)`), so broken frames and device proofs go through the same path as good
ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from conformance.protocol.sockets import Vantage
from conformance.protocol.text import cap, cap_value

# What the first frame looks like: a JSON-able object (sent as JSON text), raw text, or None to
# send nothing at all (the silent client of the handshake-timeout case).
FirstFrame = dict[str, Any] | str | None


@dataclass(frozen=True)
class Timeouts:
    open: float = 5.0  # TCP + HTTP upgrade
    challenge: float = 5.0
    response: float = 10.0  # connect request -> res
    close: float = 3.0  # after a rejection, waiting for the close frame
    call: float = 5.0  # one RPC after hello-ok


@dataclass(frozen=True)
class GatewayError:
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    retryable: bool | None = None
    retry_after_ms: int | None = None

    @classmethod
    def from_wire(cls, raw: Any) -> GatewayError:
        if not isinstance(raw, dict):
            return cls(code="<malformed>", message=cap(repr(raw), 200))
        details = raw.get("details")
        return cls(
            code=cap(str(raw.get("code", "<missing>")), 200),
            message=cap(str(raw.get("message", ""))),
            details=cap_value(details) if isinstance(details, dict) else {},  # type: ignore[arg-type]
            retryable=raw.get("retryable"),
            retry_after_ms=raw.get("retryAfterMs"),
        )

    @property
    def details_code(self) -> str | None:
        code = self.details.get("code")
        return code if isinstance(code, str) else None


@dataclass
class HandshakeOutcome:
    """Everything observable about one connect attempt."""

    accepted: bool = False
    hello: dict[str, Any] | None = None
    error: GatewayError | None = None
    response: bool = False  # a `res` to the connect request arrived
    close_code: int | None = None
    close_reason: str | None = None
    http_status: int | None = None
    nonce: str | None = None
    transport_error: str | None = None  # refused, timeout, garbage: the harness could not judge
    elapsed_s: float = 0.0
    connection: GatewayConnection | None = None

    @property
    def protocol(self) -> int | None:
        return (self.hello or {}).get("protocol")

    @property
    def auth(self) -> dict[str, Any] | None:
        auth = (self.hello or {}).get("auth")
        return auth if isinstance(auth, dict) else None

    def summary(self) -> str:
        if self.transport_error:
            return f"transport error: {self.transport_error}"
        if self.http_status is not None:
            return f"HTTP {self.http_status} at the upgrade"
        if self.accepted:
            return f"accepted (protocol {self.protocol})"
        if self.error:
            return (
                f"rejected {self.error.code}/{self.error.details_code} "
                f"{self.error.message!r}, close {self.close_code}"
            )
        return f"closed without response, close {self.close_code} {self.close_reason!r}"


@dataclass(frozen=True)
class RpcResult:
    ok: bool
    payload: Any = None
    error: GatewayError | None = None
    transport_error: str | None = None


class GatewayConnection:
    """An accepted connection: request/response calls, skipping server events."""

    def __init__(self, ws: ClientConnection, timeouts: Timeouts) -> None:
        self._ws = ws
        self._timeouts = timeouts
        self._ids = itertools.count(1)

    async def call(self, method: str, params: Any = None) -> RpcResult:
        req_id = f"c{next(self._ids)}"
        frame: dict[str, Any] = {"type": "req", "id": req_id, "method": method}
        if params is not None:
            frame["params"] = params
        try:
            await self._ws.send(json.dumps(frame))
            res = await _await_res(self._ws, req_id, self._timeouts.call)
        except TimeoutError:
            return RpcResult(
                False, transport_error=f"no answer to {method} within {self._timeouts.call:g}s"
            )
        except ConnectionClosed as exc:
            return RpcResult(
                False, transport_error=f"connection closed during {method}: {_close_text(exc)}"
            )
        except ValueError as exc:
            return RpcResult(False, transport_error=str(exc))
        if res.get("ok") is True:
            return RpcResult(True, payload=res.get("payload"))
        return RpcResult(False, error=GatewayError.from_wire(res.get("error")))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(), 2)


async def _await_res(ws: ClientConnection, req_id: str, timeout: float) -> dict[str, Any]:
    """The `res` frame answering `req_id`; events in between are skipped."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        raw = await asyncio.wait_for(ws.recv(), remaining)
        frame = _parse(raw)
        if frame.get("type") == "res" and frame.get("id") == req_id:
            return frame


def _parse(raw: str | bytes) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"gateway sent a frame that is not JSON: {str(raw)[:120]!r}") from exc
    if not isinstance(frame, dict):
        raise ValueError(f"gateway sent a JSON frame that is not an object: {str(raw)[:120]!r}")
    return frame


def _close_text(exc: ConnectionClosed) -> str:
    rcvd = exc.rcvd
    return f"code {rcvd.code} {rcvd.reason!r}" if rcvd else "no close frame"


async def _open(vantage: Vantage, headers: dict[str, str], timeout: float) -> ClientConnection:
    sock = None
    if vantage.connect is not None:
        sock = await asyncio.to_thread(vantage.connect, timeout)
    return await connect(
        vantage.url,
        sock=sock,
        additional_headers=headers,
        open_timeout=timeout,
        close_timeout=2,
        max_size=32 * 1024 * 1024,
        compression=None,
        # Keepalive pings would race with our bounded reads and add nothing here.
        ping_interval=None,
    )


async def handshake(
    vantage: Vantage,
    build_first_frame: Callable[[str], FirstFrame],
    *,
    headers: dict[str, str] | None = None,
    timeouts: Timeouts = Timeouts(),
    keep_open: bool = True,
) -> HandshakeOutcome:
    """Open, read the challenge, send the first frame, read the answer, all bounded."""
    out = HandshakeOutcome()
    started = time.monotonic()
    try:
        ws = await _open(vantage, headers or {}, timeouts.open)
    except InvalidStatus as exc:
        out.http_status = exc.response.status_code
        out.elapsed_s = time.monotonic() - started
        return out
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        out.transport_error = f"cannot open {vantage.url}: {type(exc).__name__}: {exc}"
        out.elapsed_s = time.monotonic() - started
        return out
    keep = False
    try:
        await _exchange(ws, build_first_frame, timeouts, out)
        if out.accepted and keep_open:
            out.connection = GatewayConnection(ws, timeouts)
            keep = True
    finally:
        if not keep:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)
        out.elapsed_s = time.monotonic() - started
    return out


async def _exchange(
    ws: ClientConnection,
    build_first_frame: Callable[[str], FirstFrame],
    timeouts: Timeouts,
    out: HandshakeOutcome,
) -> None:
    try:
        raw = await asyncio.wait_for(ws.recv(), timeouts.challenge)
        challenge = _parse(raw)
    except TimeoutError:
        out.transport_error = f"no connect.challenge within {timeouts.challenge:g}s"
        return
    except ConnectionClosed as exc:
        out.close_code, out.close_reason = _closed(exc)
        out.transport_error = f"closed before the challenge ({_close_text(exc)})"
        return
    except ValueError as exc:
        out.transport_error = str(exc)
        return
    payload = challenge.get("payload") if challenge.get("event") == "connect.challenge" else None
    nonce = payload.get("nonce") if isinstance(payload, dict) else None
    if not isinstance(nonce, str):
        out.transport_error = (
            f"first frame is not a connect.challenge: {json.dumps(challenge)[:200]}"
        )
        return
    out.nonce = nonce

    first = build_first_frame(nonce)
    req_id = first.get("id") if isinstance(first, dict) else None
    try:
        if first is not None:
            await ws.send(first if isinstance(first, str) else json.dumps(first))
        if isinstance(req_id, str):
            res = await _await_res(ws, req_id, timeouts.response)
        else:
            # Raw text (garbage, an oversize connect) and no frame at all should get no `res`,
            # only a close; a gateway that answers anyway has its answer observed (2026.2.26
            # answers a >64 KiB connect with hello-ok), not a timeout.
            res = await _await_close_or_res(ws, timeouts.response)
    except TimeoutError:
        out.transport_error = f"no answer to the first frame within {timeouts.response:g}s"
        return
    except ConnectionClosed as exc:
        out.close_code, out.close_reason = _closed(exc)
        return
    except ValueError as exc:
        out.transport_error = str(exc)
        return
    out.response = True
    if res.get("ok") is True:
        hello = res.get("payload")
        if not isinstance(hello, dict) or hello.get("type") != "hello-ok":
            out.transport_error = f"connect answered ok without hello-ok: {str(hello)[:200]}"
            return
        out.accepted = True
        out.hello = hello
        return
    out.error = GatewayError.from_wire(res.get("error"))
    try:
        await _await_close(ws, timeouts.close)
    except ConnectionClosed as exc:
        out.close_code, out.close_reason = _closed(exc)
    except (TimeoutError, ValueError):
        pass  # rejected but left open: close_code stays None and the case says so


async def _await_close(ws: ClientConnection, timeout: float) -> None:
    """Read until the gateway closes; ConnectionClosed carries the code."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        await asyncio.wait_for(ws.recv(), remaining)


async def _await_close_or_res(ws: ClientConnection, timeout: float) -> dict[str, Any]:
    """Read until the gateway closes (ConnectionClosed carries the code) or sends a `res`, which
    is returned; other frames (events, or garbage, which is not ours to judge here) are skipped."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        raw = await asyncio.wait_for(ws.recv(), remaining)
        try:
            frame = _parse(raw)
        except ValueError:
            continue
        if frame.get("type") == "res":
            return frame


def _closed(exc: ConnectionClosed) -> tuple[int | None, str | None]:
    if exc.rcvd is not None:
        return exc.rcvd.code, cap(exc.rcvd.reason)
    # The TCP connection dropped without a close frame: 1006 by convention.
    return 1006, None
