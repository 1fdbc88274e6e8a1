"""A thin websockets transport around the policy core.

The transport owns sockets, timers and the per-process pairing state value; every decision is
delegated to `policy.decide_connect` and `methods.handle_rpc`. Whatever a client sends, the
handler answers with the documented error and close code; an unexpected exception is logged and
the socket closed with 1011 rather than propagated.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import traceback
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
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
    ErrorCode,
    ErrorShape,
    challenge_event,
    encode,
    event,
    first_request_not_connect,
    parse_request_frame,
    res_error,
    res_ok,
)
from reference_gateway.hello import build_hello_ok
from reference_gateway.locality import ConnectContext, upgrade_refusal
from reference_gateway.methods import SERVED_METHODS, RpcCall, handle_rpc
from reference_gateway.pairing import PairingState, pending_json
from reference_gateway.policy import Accepted, Rejected, decide_connect
from reference_gateway.profiles import Profile, get_profile

HANDSHAKE_TIMEOUT_ENV = "OPENCLAW_HANDSHAKE_TIMEOUT_MS"
LogFn = Callable[[str], None]


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


@dataclass
class _Conn:
    conn_id: str
    ws: ServerConnection
    accepted: Accepted
    peer: str | None


class ReferenceGateway:
    """One gateway process: config, profile, pairing state and live connections."""

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
        self.state = PairingState()
        self.connections: dict[str, _Conn] = {}
        self.log_lines: deque[str] = deque(maxlen=5000)
        self._sink = log or _stdout_log
        self._started = time.monotonic()

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
        try:
            await self._serve(ws, conn_id)
        except ConnectionClosed:
            pass
        except Exception:
            self.log(f"internal error conn={conn_id}: {traceback.format_exc().strip()}")
            with contextlib.suppress(Exception):
                await ws.close(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            self.connections.pop(conn_id, None)

    async def _close(self, ws: ServerConnection, code: int, reason: str) -> None:
        await ws.close(code, reason)

    async def _serve(self, ws: ServerConnection, conn_id: str) -> None:
        nonce = str(uuid.uuid4())
        peer = _peer_of(ws)
        ctx = ConnectContext(peer=peer, headers=_headers_of(ws.request), nonce=nonce)
        await ws.send(encode(challenge_event(nonce, now_ms())))
        try:
            async with asyncio.timeout(self.handshake_timeout_ms / 1000):
                message = await ws.recv()
        except TimeoutError:
            self.log(f"handshake timeout peer={peer} after={self.handshake_timeout_ms}ms")
            await self._close(ws, CloseCode.NORMAL, "")
            return
        size = len(message) if isinstance(message, bytes) else len(message.encode("utf-8"))
        if size > PREAUTH_MAX_FRAME_BYTES:
            self.log(f"preauth frame too large peer={peer} bytes={size}")
            await self._close(ws, CloseCode.MESSAGE_TOO_BIG, "")  # K16: empty reason
            return
        parsed = parse_request_frame(message)
        if parsed.failure is not None:
            self.log(f"invalid first frame peer={peer} close={parsed.failure.code}")
            await self._close(ws, parsed.failure.code, parsed.failure.reason)
            return
        frame = parsed.frame
        assert frame is not None
        if frame.method != "connect":
            bad = first_request_not_connect(frame)
            self.log(
                f"connect rejected peer={peer} error=INVALID_REQUEST first request "
                f"method={frame.method}"
            )
            await ws.send(encode(res_error(bad.request_id, bad.error)))
            await self._close(ws, bad.code, bad.reason)
            return
        decision = decide_connect(
            self.config, self.profile, self.state, ctx, frame.params, now_ms()
        )
        self.state = decision.state
        if isinstance(decision, Rejected):
            self._log_rejection(decision, peer)
            await ws.send(encode(res_error(frame.id, decision.error)))
            if decision.stage == "pairing":
                self._broadcast_pending(decision)
            await self._close(ws, decision.close_code, decision.close_reason)
            return
        self._log_acceptance(decision, peer)
        conn = _Conn(conn_id, ws, decision, peer)
        self.connections[conn_id] = conn
        hello = build_hello_ok(
            self.profile,
            decision,
            conn_id=conn_id,
            methods=list(SERVED_METHODS),
            uptime_ms=self.uptime_ms(),
            auth_mode=self.config.auth_mode,
            presence=self._presence(),
        )
        await ws.send(encode(res_ok(frame.id, hello)))
        await self._serve_rpcs(conn)

    async def _serve_rpcs(self, conn: _Conn) -> None:
        async for message in conn.ws:
            parsed = parse_request_frame(message)
            if parsed.failure is not None:
                self.log(f"invalid frame conn={conn.conn_id} close=1008")
                await self._close(conn.ws, CloseCode.POLICY_VIOLATION, "invalid request frame")
                return
            frame = parsed.frame
            assert frame is not None
            if frame.method == "connect":
                err = ErrorShape(ErrorCode.INVALID_REQUEST, "connect already completed")
                await conn.ws.send(encode(res_error(frame.id, err)))
                continue
            call = RpcCall(
                config=self.config,
                profile=self.profile,
                state=self.state,
                role=conn.accepted.role,
                scopes=conn.accepted.scopes,
                now_ms=now_ms(),
                uptime_ms=self.uptime_ms(),
                presence=self._presence(),
            )
            result = handle_rpc(call, frame.method, frame.params)
            self.state = result.state
            if result.error is not None:
                self.log(
                    f"res ✗ {frame.method} conn={conn.conn_id} client={conn.accepted.client_id}"
                    f"/{conn.accepted.client_mode} errorCode={result.error.code} "
                    f"errorMessage={result.error.message}"
                )
                await conn.ws.send(encode(res_error(frame.id, result.error)))
            else:
                await conn.ws.send(encode(res_ok(frame.id, result.payload)))
            for name, payload in result.events:
                await self._broadcast(name, payload)

    # -- helpers -------------------------------------------------------------------------
    def _presence(self) -> list[dict[str, Any]]:
        # As OpenClaw 2026.9.6 (observed): an entry per connection with the client's instanceId
        # and, for a non-loopback peer, its ip; CLI, backend and probe connects make none.
        entries = []
        for c in self.connections.values():
            if c.accepted.client_mode in ("cli", "backend", "probe"):
                continue
            client = c.accepted.params.client if c.accepted.params is not None else {}
            entry: dict[str, Any] = {
                "connId": c.conn_id,
                "clientId": c.accepted.client_id,
                "mode": c.accepted.client_mode,
                "role": c.accepted.role,
                "reason": "connect",
            }
            if (
                c.peer
                and not c.peer.startswith("127.")
                and c.peer not in ("::1", "::ffff:127.0.0.1")
            ):
                entry["ip"] = c.peer  # 9.6 records no address for a loopback peer
            if isinstance(client.get("instanceId"), str):
                entry["instanceId"] = client["instanceId"]
            entries.append(entry)
        return entries

    async def _broadcast(self, name: str, payload: Any) -> None:
        text = encode(event(name, payload))
        for conn in list(self.connections.values()):
            with contextlib.suppress(Exception):
                await conn.ws.send(text)

    def _broadcast_pending(self, decision: Rejected) -> None:
        details = decision.error.details if isinstance(decision.error.details, dict) else {}
        request = self.state.pending.get(str(details.get("requestId")))
        if request is not None:
            asyncio.get_running_loop().create_task(
                self._broadcast("device.pair.requested", pending_json(request))
            )

    def _log_rejection(self, d: Rejected, peer: str | None) -> None:
        details = d.error.details if isinstance(d.error.details, dict) else {}
        self.log(
            f"connect rejected client={d.client_id}/{d.client_mode} role={d.role} peer={peer} "
            f"stage={d.stage} error={d.error.code} detailsCode={details.get('code')} "
            f"close={d.close_code} message={d.error.message}"
        )

    def _log_acceptance(self, a: Accepted, peer: str | None) -> None:
        token = "yes" if a.device_token is not None else "no"
        device = a.device_id[:12] if a.device_id else "-"
        if a.pairing == "silent":
            if a.pairing_reason not in (None, "not-paired"):
                self.log(
                    f"security audit: device access upgrade requested "
                    f"reason={a.pairing_reason} device={device} role={a.role} "
                    f"scopes={','.join(a.scopes) or '[]'} peer={peer}"
                )
            self.log(f"device pairing auto-approved device={device} role={a.role}")
        self.log(
            f"connect accepted client={a.client_id}/{a.client_mode} role={a.role} peer={peer} "
            f"auth={a.auth_method} locality={a.locality} pairing={a.pairing} "
            f"device={device} deviceToken={token} "
            f"scopes={','.join(a.scopes) or '[]'}"
        )


def resolve_handshake_timeout_ms(
    profile: Profile,
    config: GatewayConfig,
    env: Mapping[str, str],
    explicit: int | None = None,
) -> int:
    if explicit is not None:
        return explicit
    raw = env.get(HANDSHAKE_TIMEOUT_ENV)
    if raw:
        with contextlib.suppress(ValueError):
            value = int(raw)
            if value > 0:
                return value
    if config.handshake_timeout_ms is not None:
        return config.handshake_timeout_ms
    return profile.handshake_timeout_ms


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
        max_size=MAX_PAYLOAD_BYTES,
        compression=None,
        logger=_quiet_logger(),
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
