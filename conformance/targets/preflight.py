"""The one handshake a run makes before any case against a gateway it was given: is anything
there, does it speak the protocol, does it take the secret, what does it run with.

Everything here answers once, for the session: an unreachable URL or a wrong token is one
message (what was tried, what came back), never one failure per case.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.cases.needs import Deployed, deployed_from_config
from conformance.protocol.client import GatewayConnection, HandshakeOutcome, Timeouts, handshake
from conformance.protocol.frames import ConnectPlan, shared_auth
from conformance.protocol.identity import DeviceIdentity
from conformance.protocol.sockets import Vantage

CONNECT_TIMEOUT_S = 5.0
STARTING_WINDOW_S = 30.0  # a gateway still starting answers UNAVAILABLE with retryAfterMs
FULL_SCOPES = (
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.approvals",
    "operator.pairing",
)


class PreflightError(Exception):
    """The gateway cannot be used at all; the message names what was tried and what came back."""


@dataclass
class Preflight:
    """What the preflight learnt."""

    outcome: HandshakeOutcome
    client: str  # the client label the preflight connected as
    instance_id: str
    version: str | None = None
    protocol: int | None = None
    config: Mapping[str, Any] | None = None  # what config.get returned, if it did
    config_refused: str | None = None  # why config.get gave nothing
    notes: list[str] = field(default_factory=list)


def connect_frame(
    *,
    token: str | None,
    password: str | None,
    client_id: str,
    client_mode: str,
    scopes: tuple[str, ...],
    instance_id: str,
) -> Callable[[str], dict[str, Any]]:
    """A device-less connect with the gateway's secret, told apart by its instanceId."""
    return ConnectPlan(
        client_id=client_id,
        client_mode=client_mode,
        client_version="conformance-preflight",
        scopes=scopes,
        auth=shared_auth(token, password),
        instance_id=instance_id,
        request_id="preflight",
    ).frame


def explain(outcome: HandshakeOutcome, *, url: str, tried: str) -> str | None:
    """None when the gateway accepted; else one line saying what came back, and what to do."""
    if outcome.accepted:
        return None
    if outcome.transport_error:
        text = outcome.transport_error
        if "ConnectionRefused" in text or "Connect call failed" in text:
            return f"{url}: connection refused (is the gateway running on that port?)"
        if "cannot open" in text and ("Timeout" in text or "timed out" in text):
            return f"{url}: no answer within {CONNECT_TIMEOUT_S:g}s ({text})"
        return f"{url}: does not speak the OpenClaw gateway protocol: {text}"
    if outcome.http_status is not None:
        return (
            f"{url}: HTTP {outcome.http_status} at the WebSocket upgrade ({tried}); "
            "is this the gateway's port?"
        )
    err = outcome.error
    if err is None:
        return (
            f"{url}: closed the connection without answering {tried} "
            f"(close {outcome.close_code} {outcome.close_reason or ''!s})".rstrip()
        )
    code = f"{err.code}/{err.details_code}" if err.details_code else err.code
    hint = ""
    if (err.details_code or "").startswith("AUTH_"):
        hint = " (check --gateway-token / --gateway-password, or OPENCLAW_GATEWAY_TOKEN/PASSWORD)"
    elif err.details_code == "DEVICE_IDENTITY_REQUIRED":
        hint = " (the gateway wants a credential: give --gateway-token or --gateway-password)"
    return (
        f"{url}: rejected {tried}: {code} {err.message[:200]!r}, close {outcome.close_code}{hint}"
    )


async def _connect(vantage: Vantage, build, timeout: float) -> HandshakeOutcome:
    """One attempt bounded by `timeout` plus a second; retried only while the gateway says it is
    starting (UNAVAILABLE), within STARTING_WINDOW_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTING_WINDOW_S
    timeouts = Timeouts(open=timeout, challenge=timeout, response=timeout, close=1.0)
    while True:
        try:
            outcome = await asyncio.wait_for(
                handshake(vantage, build, timeouts=timeouts), timeout + 1.0
            )
        except TimeoutError:
            outcome = HandshakeOutcome(
                transport_error=f"no answer to the connect within {timeout + 1.0:g}s"
            )
        err = outcome.error
        if err is None or err.code != "UNAVAILABLE" or loop.time() >= deadline:
            return outcome
        await asyncio.sleep(min(max((err.retry_after_ms or 500) / 1000, 0.05), 2.0))


def config_from_payload(payload: Any) -> Mapping[str, Any] | None:
    """The config object inside a `config.get` answer (its shape varies between releases:
    the config itself, or wrapped as `config` / `parsed` / `resolved`)."""
    if not isinstance(payload, Mapping):
        return None
    if isinstance(payload.get("gateway"), Mapping):
        return payload
    for key in ("resolved", "config", "parsed", "effective", "runtime"):
        inner = payload.get(key)
        if isinstance(inner, Mapping) and isinstance(inner.get("gateway"), Mapping):
            return inner
    return None


async def _read_config(conn: GatewayConnection) -> tuple[Mapping[str, Any] | None, str | None]:
    res = await conn.call("config.get", {})
    if not res.ok:
        why = (
            f"{res.error.code} {res.error.message}"[:200] if res.error else str(res.transport_error)
        )
        return None, why
    config = config_from_payload(res.payload)
    if config is None:
        return None, "its answer holds no gateway config"
    return config, None


async def run(
    vantage: Vantage, *, url: str, token: str | None, password: str | None, timeout: float
) -> Preflight:
    """Connect as a device-less local operator with the given secret (a backend client when
    there is none: auth none admits it device-less) and ask for the config."""
    instance_id = f"conformance-{uuid.uuid4().hex[:12]}"
    client_id, mode = ("cli", "cli") if (token or password) else ("gateway-client", "backend")
    tried = f"a device-less {client_id}/{mode} connect " + (
        "with the given token"
        if token
        else "with the given password"
        if password
        else "without a credential"
    )
    build = connect_frame(
        token=token,
        password=password,
        client_id=client_id,
        client_mode=mode,
        scopes=FULL_SCOPES,
        instance_id=instance_id,
    )
    outcome = await _connect(vantage, build, timeout)
    problem = explain(outcome, url=url, tried=tried)
    if problem is not None:
        raise PreflightError(problem)
    server = (outcome.hello or {}).get("server") or {}
    result = Preflight(
        outcome=outcome,
        client=f"{client_id}/{mode}",
        instance_id=instance_id,
        version=server.get("version") if isinstance(server.get("version"), str) else None,
        protocol=outcome.protocol,
    )
    conn = outcome.connection
    if conn is not None:
        try:
            result.config, result.config_refused = await _read_config(conn)
        finally:
            await conn.close()
            outcome.connection = None
    return result


async def read_config_with_device(
    vantage: Vantage, *, token: str | None, password: str | None, timeout: float
) -> tuple[Mapping[str, Any] | None, str | None, str | None]:
    """config.get over a connection with a fresh signed device, which a local gateway pairs
    silently (2026.3.13 clears a device-less CLI's scopes, so only a device can read the config
    there). Returns the config, why there is none, and the device id to remove afterwards."""

    ident = DeviceIdentity.generate()
    plan = ConnectPlan(
        client_version="conformance-preflight",
        scopes=FULL_SCOPES,
        auth=shared_auth(token, password),
        identity=ident,
    )
    outcome = await _connect(vantage, plan.frame, timeout)
    conn = outcome.connection
    if conn is None:
        return None, f"a connect with a device was not accepted ({outcome.summary()})", None
    try:
        config, why = await _read_config(conn)
    finally:
        await conn.close()
    return config, why, ident.device_id


def deployed_from(config: Mapping[str, Any] | None, source: str) -> Deployed | None:
    return None if config is None else deployed_from_config(config, source)
