"""Gateway processes the harness owns: started in their own process group, logged to a file,
stopped as a group, so nothing outlives the session."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from conformance.client import Timeouts, handshake
from conformance.targets.base import TargetUnavailable, Vantage


class GatewayProcess:
    def __init__(
        self, argv: list[str], *, env: dict[str, str], log_path: Path, cwd: Path | None = None
    ) -> None:
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: one signal stops it all
        )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            data = self.log_path.read_bytes()[-64_000:]
        except OSError:
            return ""
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # Children that outlived the leader still carry the group id.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def free_port(
    make_socket: Callable[[], socket.socket] | None = None, host: str = "127.0.0.1"
) -> int:
    """A port nobody listens on now (racy by nature; the start is retried if it is taken)."""
    sock = make_socket() if make_socket else socket.socket()
    with sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def readiness_frame(token: str | None, password: str | None):
    """A device-less cli/cli connect: every release answers it (accepted or not) once ready."""

    def build(nonce: str) -> dict:
        auth = {k: v for k, v in (("token", token), ("password", password)) if v}
        params: dict = {
            "minProtocol": 3,
            "maxProtocol": 4,
            "client": {
                "id": "cli",
                "version": "conformance-ready",
                "platform": "linux",
                "mode": "cli",
            },
            "role": "operator",
            "scopes": [],
        }
        if auth:
            params["auth"] = auth
        return {"type": "req", "id": "ready", "method": "connect", "params": params}

    return build


def wait_ready(
    vantage: Vantage,
    *,
    token: str | None,
    password: str | None,
    process: GatewayProcess | None,
    timeout: float,
    what: str,
) -> float:
    """Block until a real handshake gets an answer that is not UNAVAILABLE; return seconds.

    A log line alone is not readiness: 9.6 prints "listening" before it accepts connects.
    """
    started = time.monotonic()
    deadline = started + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise TargetUnavailable(
                f"{what} exited with code {process.proc.returncode} before it was ready; log "
                f"tail:\n{process.tail()}"
            )
        remaining = max(0.5, deadline - time.monotonic())
        outcome = asyncio.run(
            handshake(
                vantage,
                readiness_frame(token, password),
                timeouts=Timeouts(
                    open=min(3, remaining),
                    challenge=min(5, remaining),
                    response=min(10, remaining),
                    close=1,
                ),
                keep_open=False,
            )
        )
        if outcome.response and not (outcome.error and outcome.error.code == "UNAVAILABLE"):
            return time.monotonic() - started
        last = outcome.summary()
        time.sleep(0.2 if outcome.transport_error else 0.5)
    tail = process.tail() if process else ""
    raise TargetUnavailable(
        f"{what} not ready after {timeout:g}s (last attempt: {last})"
        + (f"; log tail:\n{tail}" if tail else "")
    )
