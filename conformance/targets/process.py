"""Gateway processes the harness owns: started in their own session (so their own process group),
logged to a file, stopped as a group, so nothing outlives the session."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conformance.protocol.client import HandshakeOutcome, Timeouts, handshake
from conformance.protocol.frames import ConnectPlan, shared_auth
from conformance.protocol.sockets import Vantage
from conformance.targets import registry
from conformance.targets.base import GatewayStartError, TargetUnavailable, start_failure_reason
from conformance.targets.proctree import descendants

ATTEMPT_TIMEOUT_S = 10.0
POLL_FIRST_S = 0.01  # readiness polling: the first pause, doubled up to POLL_MAX_S
POLL_MAX_S = 0.25
STOP_GRACE_S = 5.0  # SIGTERM, then SIGKILL
LOG_TAIL_LINES = 40
KEPT_LOG_LINES = 200  # what `tail` still shows once the log's folder is gone


class GatewayProcess:
    """One gateway process: its own session and process group, stdout+stderr in a log file.

    Spawning raises OSError when the program cannot run. `stop` (or `stop_all` for several at
    once) ends the whole group and keeps the last lines of the log, so a failure report can
    still quote it after the caller removed the log's folder.
    """

    def __init__(
        self, argv: list[str], *, env: dict[str, str], log_path: Path, cwd: Path | None = None
    ) -> None:
        self.log_path = log_path
        self._kept: list[str] | None = None  # the log's last lines, once stopped
        with open(log_path, "wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one signal stops it all
            )
        registry.current().add_process(self.proc.pid)  # swept by the next run after a SIGKILL

    @property
    def pid(self) -> int:
        """The leader's pid, which is also the process group id."""
        return self.proc.pid

    def exit_text(self) -> str | None:
        """How the process ended, or None while it runs."""
        code = self.proc.poll()
        return None if code is None else f"exited with code {code}"

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if lines <= 0:
            return ""
        if self._kept is not None:
            kept = self._kept
        else:
            try:
                kept = self.log_path.read_text(errors="replace").splitlines()
            except OSError:
                kept = []
        return "\n".join(kept[-lines:])

    def wait_ready(
        self,
        vantage: Vantage,
        *,
        token: str | None,
        password: str | None,
        timeout: float,
        what: str,
        error: type[Exception] = TargetUnavailable,
    ) -> tuple[float, HandshakeOutcome]:
        """`wait_ready` for this process: its exit ends the wait, its log tail explains it."""
        return wait_ready(
            vantage, token=token, password=password, timeout=timeout, what=what,
            exited=self.exit_text, log_tail=self.tail, error=error,
        )  # fmt: skip

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        stop_all([self], grace)

    def _signal_group(self, sig: signal.Signals) -> None:
        # start_new_session made the leader a group leader: its pid is the group id.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def _keep_tail(self) -> None:
        if self._kept is None:
            with contextlib.suppress(OSError):
                self._kept = self.log_path.read_text(errors="replace").splitlines()[
                    -KEPT_LOG_LINES:
                ]


def stop_all(processes: Sequence[GatewayProcess], grace: float = STOP_GRACE_S) -> None:
    """SIGTERM every group, SIGKILL what is left after `grace`, keep each log's tail."""
    if not processes:
        return
    # Taken before signalling: once the leader dies, its children are reparented and untraceable.
    # Only for leaders still running (poll() is None): a reaped leader's pid may belong to
    # someone else by now.
    strays = {pid for p in processes if p.proc.poll() is None for pid in descendants(p.proc.pid)}
    # Signal everyone first, then wait on one shared deadline: N gateways stop in ~5 s, not 5N.
    for p in processes:
        p._signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    try:
        for p in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    finally:  # even on a second Ctrl-C while waiting: stop harder, still keep the tails
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for p in processes:
            # The group may outlive its leader (children of node), so always sweep it.
            p._signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.proc.wait(timeout=STOP_GRACE_S)
            p._keep_tail()
            registry.current().discard_process(p.proc.pid)


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


def _start_error(error: type[Exception], message: str, tail: str, how: str) -> Exception:
    """The start failure as `error`; a GatewayStartError also gets its short reason: how the
    start failed and, when the log has them, the gateway's own words."""
    if issubclass(error, GatewayStartError):
        said = start_failure_reason(tail)
        return error(message, reason=f"{how}: {said}" if said else how)
    return error(message)


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
    attempts = 0
    while True:
        died = exited()
        if died is not None:
            tail = log_tail()
            raise _start_error(
                error, f"{what} {died} before it was ready ({last}). Log tail:\n{tail}",
                tail, f"{what} {died} before it was ready",
            )  # fmt: skip
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            tail = log_tail()
            raise _start_error(
                error, f"{what} not ready after {timeout:g}s (last attempt: {last}). Log tail:"
                f"\n{tail}", tail, f"{what} not ready after {timeout:g}s ({last})",
            )  # fmt: skip
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
        # Nothing listening yet: poll again soon, then less often (a reference gateway is
        # ready ~0.15 s after spawn, a real one after 3-10 s); a gateway that says when to
        # come back is believed.
        pause = min(POLL_MAX_S, POLL_FIRST_S * 2**attempts)
        attempts += 1
        if err is not None and err.retry_after_ms:
            pause = min(max(err.retry_after_ms / 1000, 0.05), 2.0)
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
