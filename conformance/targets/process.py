"""Gateway processes the harness owns: started in their own process group, logged to a file,
stopped as a group, so nothing outlives the session."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.protocol.client import HandshakeOutcome, Timeouts, handshake
from conformance.protocol.frames import ConnectPlan, shared_auth
from conformance.protocol.sockets import Vantage
from conformance.targets.base import TargetUnavailable

ATTEMPT_TIMEOUT_S = 10.0


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

    def exit_text(self) -> str | None:
        code = self.proc.poll()
        return None if code is None else f"exited with code {code}"

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


def readiness_frame(token: str | None, password: str | None) -> Callable[[str], dict[str, Any]]:
    """A device-less cli/cli connect: every release answers it (accepted or not) once ready."""
    return ConnectPlan(
        client_version="conformance-ready",
        auth=shared_auth(token, password),
        request_id="ready",
    ).frame


def run_coroutine(coro: Any) -> Any:
    """Run a coroutine to completion on a private event loop in a helper thread.

    Target setup is synchronous but may be called from async tests or fixtures, where
    asyncio.run would refuse; and in the main thread asyncio.run turns Ctrl-C into a task
    cancellation that library code may swallow, while here the KeyboardInterrupt lands in join().
    """
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=runner, name="conformance-ready", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def wait_ready(
    vantage: Vantage,
    *,
    token: str | None,
    password: str | None,
    timeout: float,
    what: str,
    exited: Callable[[], str | None] = lambda: None,
    log_tail: Callable[[], str] = lambda: "",
    error: type[Exception] = TargetUnavailable,
) -> tuple[float, HandshakeOutcome]:
    """Block until a real handshake gets an answer that is not UNAVAILABLE; return the seconds
    it took and that answer. `exited()` says how the gateway died, if it did.

    A log line alone is not readiness: 9.6 prints "listening" before it accepts connects and
    answers UNAVAILABLE (with retryAfterMs) until it is ready.
    """
    started = time.monotonic()
    deadline = started + timeout
    last = "no attempt yet"
    while True:
        died = exited()
        if died is not None:
            raise error(f"{what} {died} before it was ready ({last}). Log tail:\n{log_tail()}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise error(
                f"{what} not ready after {timeout:g}s (last attempt: {last}). Log tail:"
                f"\n{log_tail()}"
            )
        attempt = min(ATTEMPT_TIMEOUT_S, max(0.5, remaining))
        outcome = run_coroutine(handshake(
            vantage,
            readiness_frame(token, password),
            timeouts=Timeouts(open=attempt, challenge=attempt, response=attempt, close=1),
            keep_open=False,
        ))  # fmt: skip
        err = outcome.error
        if outcome.response and not (err and err.code == "UNAVAILABLE"):
            return time.monotonic() - started, outcome
        last = outcome.summary()
        pause = 0.25
        if err is not None and err.retry_after_ms:
            pause = min(max(err.retry_after_ms / 1000, 0.05), 2.0)
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
