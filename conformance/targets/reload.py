"""Switching a running gateway to another config: clean what the last config's cases left, write
the new config file, and prove the gateway now runs it.

OpenClaw watches its config file (`gateway.reload.mode`, default hybrid): on 2026.9.6 new
secrets, trusted proxies and Control UI origins apply hot in 0.7-0.8 s, an auth-mode or Control
UI flag change restarts the gateway in-process in 3.3-3.9 s (a cold start is 7-9 s); 2026.3.13
restarts in-process on any gateway change, 0.65 s after the write. A switch is trusted only when
the gateway's log says the reload was applied after the write *and* a handshake with the new
config's secret is answered without an auth error; anything else is a failed switch, which the
caller turns into a cold start, never into cases run against the wrong config.

The clean-up: every paired device and pending request goes before the next config's cases run,
so no case sees state another config's cases left. It is done by a janitor device the harness
pairs once per gateway process and reconnects with its device token (accepted in every auth mode
on 2026.9.6, trusted-proxy included).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conformance.protocol.client import HandshakeOutcome, Timeouts, handshake
from conformance.protocol.frames import ConnectPlan, shared_auth
from conformance.protocol.identity import DeviceIdentity
from conformance.protocol.sockets import Vantage
from conformance.targets.cleanup import JANITOR_SCOPES
from conformance.targets.process import run_coroutine, wait_ready

APPLY_TIMEOUT_S = 20.0  # write to "applied" in the log; 9.6's restart is ~3.5 s
LOG_POLL_S = 0.02
# What a release logs once a reload took effect: 9.6 "config hot reload applied (...)" or, after
# an in-process restart, "[gateway] ready"; 3.13 "[gateway] listening on ws://..." after its
# restart.
_APPLIED = re.compile(r"config hot reload applied|\[gateway\] ready\b|\[gateway\] listening on ws")
_AUTH_ERRORS = ("AUTH_TOKEN_MISMATCH", "AUTH_PASSWORD_MISMATCH", "AUTH_TOKEN_MISSING",
                "AUTH_PASSWORD_MISSING", "AUTH_UNAUTHORIZED")  # fmt: skip


# A reload the release refused: 9.6 "config reload skipped (invalid config): gateway.controlUi:
# Unrecognized key: "allowInsecureAuth"" (a key its start-up still accepts).
_REFUSED = re.compile(r"config reload skipped|reload failed|failed to reload", re.IGNORECASE)
_RELOADS = re.compile(r"\[reload\]|config change detected")


class SwitchFailed(Exception):
    """The gateway did not (provably) switch to the new config. `reloads`: the release's log
    showed it watches its config file (False: it never said a word of it)."""

    def __init__(self, message: str, *, reloads: bool = True) -> None:
        super().__init__(message)
        self.reloads = reloads


def write_config(path: Path, config: dict[str, Any]) -> None:
    """Replace the config file in one rename: a watcher never reads half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(config, indent=2))
    os.replace(tmp, path)


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def wait_applied(
    log_path: Path, offset: int, *, exited: Callable[[], str | None], timeout: float
) -> str:
    """Block until the log, past `offset`, says a reload took effect; return that line."""
    deadline = time.monotonic() + timeout
    while True:
        died = exited()
        if died is not None:
            raise SwitchFailed(f"the gateway {died} while reloading its config")
        try:
            with open(log_path, "rb") as fh:
                fh.seek(offset)
                fresh = fh.read().decode("utf-8", "replace")
        except OSError:
            fresh = ""
        refused = _REFUSED.search(fresh)
        if refused:
            end = fresh.find("\n", refused.end())
            line = fresh[fresh.rfind("\n", 0, refused.start()) + 1 : end if end >= 0 else None]
            raise SwitchFailed(f"the release refused the reload: {line.strip()[-300:]}")
        found = _APPLIED.search(fresh)
        if found:
            start = fresh.rfind("\n", 0, found.start()) + 1
            end = fresh.find("\n", found.end())
            return fresh[start : end if end >= 0 else None].strip()
        if time.monotonic() >= deadline:
            said = [ln for ln in fresh.splitlines() if "reload" in ln][-2:]
            raise SwitchFailed(
                f"no reload applied {timeout:g} s after the config was written"
                + (f" (log: {' / '.join(said)})" if said else " (the log says nothing of it)"),
                reloads=bool(_RELOADS.search(fresh)),
            )
        time.sleep(LOG_POLL_S)


def verify(
    vantage: Vantage,
    *,
    token: str | None,
    password: str | None,
    exited: Callable[[], str | None],
    log_tail: Callable[[], str],
    timeout: float,
) -> HandshakeOutcome:
    """A readiness handshake with the new config's secret: answered, and not an auth error
    when there is a secret (the old config would reject it)."""
    _, outcome = wait_ready(
        vantage, token=token, password=password, timeout=timeout,
        what="the reloaded gateway", exited=exited, log_tail=log_tail, error=SwitchFailed,
    )  # fmt: skip
    err = outcome.error
    if (token or password) and err is not None and (err.details_code or "") in _AUTH_ERRORS:
        raise SwitchFailed(f"the new secret is refused after the reload: {outcome.summary()}")
    return outcome


@dataclass
class Janitor:
    """The harness's own admin device on one gateway process."""

    identity: DeviceIdentity = field(default_factory=DeviceIdentity.generate)
    device_token: str | None = None

    @property
    def device_id(self) -> str:
        return self.identity.device_id


def wipe_pairings(
    janitor: Janitor, vantage: Vantage, token: str | None, password: str | None
) -> str:
    """Remove every paired device but the janitor and reject every pending request; then check
    the list is empty. Returns one line; raises SwitchFailed when the gateway is not clean."""
    return run_coroutine(_wipe(janitor, vantage, token, password))


async def _wipe(janitor: Janitor, vantage: Vantage, token: str | None, password: str | None) -> str:
    plan = ConnectPlan(
        client_version="conformance-janitor",
        scopes=tuple(JANITOR_SCOPES),
        identity=janitor.identity,
        request_id="janitor",
    )
    attempts = []
    if janitor.device_token:
        attempts.append({"deviceToken": janitor.device_token})
    attempts.append(shared_auth(token, password))  # first time: silent local pairing
    outcome = None
    for auth in attempts:
        outcome = await handshake(vantage, replace(plan, auth=auth).frame, timeouts=Timeouts())
        if outcome.connection is not None:
            break
    if outcome is None or outcome.connection is None:
        raise SwitchFailed(f"the janitor cannot connect: {outcome.summary() if outcome else '-'}")
    issued = (outcome.auth or {}).get("deviceToken")
    if isinstance(issued, str):
        janitor.device_token = issued
    conn = outcome.connection
    try:
        removed = rejected = 0
        for _ in range(3):  # a request may arrive while we clean: bounded rounds
            listing = await conn.call("device.pair.list", {})
            if not listing.ok:
                why = listing.error.message if listing.error else listing.transport_error
                raise SwitchFailed(f"the janitor cannot list pairings: {why}")
            payload = listing.payload if isinstance(listing.payload, dict) else {}
            pending = [
                p.get("requestId") for p in payload.get("pending") or [] if isinstance(p, dict)
            ]
            paired = [
                p.get("deviceId")
                for p in payload.get("paired") or []
                if isinstance(p, dict) and p.get("deviceId") != janitor.device_id
            ]
            if not pending and not paired:
                return f"removed {removed} paired device(s), rejected {rejected} request(s)"
            for request_id in pending:
                res = await conn.call("device.pair.reject", {"requestId": request_id})
                rejected += res.ok
            for device_id in paired:
                res = await conn.call("device.pair.remove", {"deviceId": device_id})
                removed += res.ok
        raise SwitchFailed(
            f"pairings left after 3 rounds of clean-up ({len(paired)} paired, "
            f"{len(pending)} pending)"
        )
    finally:
        await conn.close()
