"""The websockets transport: moves bytes between sockets and `session.Session`.

Everything the protocol says (challenge, timers, frame limits, the connect decision, RPCs,
broadcasts) is decided by the session; this module accepts sockets, turns what happens on them
into session events, executes the actions it gets back in order, and keeps the one current
`GatewayState` of the process. HTTP-level handling stays here: the upgrade refusal (HTTP 403,
decided by `locality.upgrade_refusal`). An unexpected exception is logged and the socket closed
with 1011 rather than propagated.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import traceback
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from reference_gateway.config import GatewayConfig, load_config
from reference_gateway.frames import (
    MAX_PAYLOAD_BYTES,
    PREAUTH_MAX_FRAME_BYTES,
    CloseCode,
    encode,
)
from reference_gateway.locality import upgrade_refusal
from reference_gateway.pairing import PairingState
from reference_gateway.profiles import Profile, get_profile
from reference_gateway.session import (
    HANDSHAKE_TIMEOUT_ENV,
    Action,
    Broadcast,
    CancelTimer,
    Close,
    Closed,
    Event,
    FrameReceived,
    GatewayState,
    HandshakeTimerFired,
    Log,
    Opened,
    Phase,
    Send,
    Session,
    StartTimer,
    resolve_handshake_timeout_ms,
)

__all__ = [
    "HANDSHAKE_TIMEOUT_ENV",
    "ReferenceGateway",
    "RunningGateway",
    "resolve_handshake_timeout_ms",
    "serve_reference",
]

LogFn = Callable[[str], None]
LISTEN_BACKLOG = 1024


def now_ms() -> int:
    return int(time.time() * 1000)


def _stdout_log(line: str) -> None:
    print(line, flush=True)


def _headers_of(request: Request | None) -> dict[str, str]:
    """Lowercased header map; repeated headers are joined the way Node joins them."""
    out: dict[str, str] = {}
    if request is None:
        return out
    for name, value in request.headers.raw_items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _peer_of(ws: ServerConnection) -> str | None:
    addr = ws.remote_address
    if isinstance(addr, tuple) and addr:
        return str(addr[0])
    return None


class _Connection(ServerConnection):
    """A server connection whose 1009 carries no reason, as OpenClaw's (both releases): the
    transport's own refusal of an oversize frame would say "frame with N bytes exceeds ..."."""

    def __init__(self, protocol: Any, *args: Any, **kwargs: Any) -> None:
        fail = protocol.fail

        def quiet_fail(code: int, reason: str = "") -> None:
            fail(code, "" if code == CloseCode.MESSAGE_TOO_BIG else reason)

        protocol.fail = quiet_fail
        super().__init__(protocol, *args, **kwargs)


@dataclass
class _Link:
    """One socket and its session; `deadline` is the running handshake timer (loop time)."""

    ws: ServerConnection
    session: Session
    deadline: float | None = None
    raised: bool = False  # the frame limit is maxPayload (after hello-ok)


class ReferenceGateway:
    """One gateway process: config, profile, the shared state and the open sockets."""

    def __init__(
        self,
        config: GatewayConfig,
        profile: Profile,
        *,
        handshake_timeout_ms: int,
        log: LogFn | None = None,
    ) -> None:
        self.config = config
        self.profile = profile
        self.handshake_timeout_ms = handshake_timeout_ms
        self.shared = GatewayState()
        self.sockets: dict[str, ServerConnection] = {}
        self.log_lines: deque[str] = deque(maxlen=5000)
        self._sink = log or _stdout_log
        self._started = time.monotonic()

    @property
    def state(self) -> PairingState:
        return self.shared.pairing

    # -- logging -------------------------------------------------------------------------
    def log(self, line: str) -> None:
        text = f"[gateway] {line}"
        self.log_lines.append(text)
        with contextlib.suppress(Exception):
            self._sink(text)

    def log_tail(self, n: int = 50) -> str:
        return "\n".join(list(self.log_lines)[-n:])

    def uptime_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    # -- HTTP upgrade --------------------------------------------------------------------
    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        profile = self.profile
        untrusted = profile.http_403_for_untrusted_proxy_headers
        proxied_loopback = profile.http_403_for_proxied_loopback_client
        if not (untrusted or proxied_loopback):
            return None
        reason = upgrade_refusal(
            _peer_of(connection),
            _headers_of(request),
            self.config,
            untrusted_proxy_headers=untrusted,
            proxied_loopback=proxied_loopback,
        )
        if reason is None:
            return None
        self.log(f"upgrade refused status=403 peer={_peer_of(connection)} reason={reason}")
        return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")

    # -- WebSocket -------------------------------------------------------------------------
    async def handler(self, ws: ServerConnection) -> None:
        conn_id = str(uuid.uuid4())
        session = Session(
            conn_id, self.config, self.profile, handshake_timeout_ms=self.handshake_timeout_ms
        )
        link = _Link(ws, session)
        self.sockets[conn_id] = ws
        try:
            await self._serve(link)
        except ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
                # Refused by the transport while reading the frame header (the pre-auth limit,
                # then maxPayload): the session never saw the frame.
                self.log(f"frame too large peer={_peer_of(ws)} close=1009")
        except Exception:
            self.log(f"internal error conn={conn_id}: {traceback.format_exc().strip()}")
            with contextlib.suppress(Exception):
                await ws.close(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            self.sockets.pop(conn_id, None)
            self._feed(session, Closed())

    def _feed(self, session: Session, event: Event) -> tuple[Action, ...]:
        # Synchronous, so no other connection's event interleaves between read and write.
        step = session.handle(event, self.shared)
        self.shared = step.state
        return step.actions

    async def _serve(self, link: _Link) -> None:
        ws, session = link.ws, link.session
        opened = Opened(_peer_of(ws), _headers_of(ws.request), now_ms())
        await self._execute(link, self._feed(session, opened))
        while not session.closed:
            event: Event
            try:
                async with asyncio.timeout_at(link.deadline):  # None: no timer running
                    message = await ws.recv()
            except TimeoutError:
                link.deadline = None
                event = HandshakeTimerFired()
            else:
                event = FrameReceived(message, now_ms(), self.uptime_ms())
            await self._execute(link, self._feed(session, event))
            if session.phase is Phase.OPEN and not link.raised:
                # Past hello-ok the limit is maxPayload; before it, the transport refuses a
                # frame over 64 KiB at its header, so an unauthenticated client can make the
                # gateway buffer no more than that.
                link.ws.protocol.max_message_size = MAX_PAYLOAD_BYTES
                link.raised = True

    async def _execute(self, link: _Link, actions: Iterable[Action]) -> None:
        for action in actions:
            match action:
                case Send(frame=frame):
                    await link.ws.send(encode(frame))
                case Close(code=code, reason=reason):
                    await link.ws.close(code, reason)
                case Broadcast(frame=frame, to=to):
                    await self._broadcast(encode(frame), to)
                case StartTimer(delay_ms=delay_ms):
                    link.deadline = asyncio.get_running_loop().time() + delay_ms / 1000
                case CancelTimer():
                    link.deadline = None
                case Log(line=line):
                    self.log(line)

    async def _broadcast(self, text: str, to: Iterable[str]) -> None:
        for conn_id in to:
            ws = self.sockets.get(conn_id)
            if ws is None:
                continue  # gone since the event
            with contextlib.suppress(Exception):
                await ws.send(text)


@dataclass
class RunningGateway:
    """What `serve_reference` yields."""

    gateway: ReferenceGateway
    server: Server
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    @property
    def state(self) -> PairingState:
        return self.gateway.state

    def log_tail(self, n: int = 50) -> str:
        return self.gateway.log_tail(n)


@asynccontextmanager
async def serve_reference(
    config: Mapping[str, Any] | GatewayConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    profile: str | Profile = "current",
    env: Mapping[str, str] | None = None,
    handshake_timeout_ms: int | None = None,
    log: LogFn | None = None,
) -> AsyncIterator[RunningGateway]:
    """Run the reference gateway in this event loop for the duration of the block.

    `config` is an OpenClaw config dict (or an already loaded GatewayConfig); ConfigError is
    raised for the startup refusals of §3.1. `env` defaults to os.environ.
    """
    env = os.environ if env is None else env
    prof = get_profile(profile) if isinstance(profile, str) else profile
    cfg = config if isinstance(config, GatewayConfig) else load_config(config, env)
    gateway = ReferenceGateway(
        cfg,
        prof,
        handshake_timeout_ms=resolve_handshake_timeout_ms(prof, cfg, env, handshake_timeout_ms),
        log=log if log is not None else (lambda line: None),
    )
    server = await serve(
        gateway.handler,
        host,
        port,
        process_request=gateway.process_request,
        max_size=PREAUTH_MAX_FRAME_BYTES,  # raised to MAX_PAYLOAD_BYTES after hello-ok
        compression=None,
        logger=_quiet_logger(),
        # asyncio's default of 100 overflowed at 200 concurrent connects (SYN retransmits add a
        # 1 s tail); the kernel caps it at net.core.somaxconn.
        backlog=LISTEN_BACKLOG,
        create_connection=_Connection,
    )
    try:
        sock = next(iter(server.sockets))
        bound_port = int(sock.getsockname()[1])
        url_host = f"[{host}]" if ":" in host else host
        gateway.log(f"listening on ws://{url_host}:{bound_port}")
        yield RunningGateway(gateway, server, host, bound_port)
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)


def _quiet_logger() -> Any:
    import logging

    logger = logging.getLogger("reference_gateway.websockets")
    logger.setLevel(logging.WARNING)
    return logger
