"""The harness against gateways that fail in every way we know (tests/fakes/gateway.py): each
run ends with the outcome that names the gateway's failure, within a bounded time, with bounded
output, and never passes or counts its own trouble as the gateway's departure."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.plugin.exitcodes import EXIT_NOT_JUDGED, EXIT_TARGET_UNUSABLE
from tests._matrix import REPO, run_matrix

CASES = (  # device-less token cases a gateway accepts: each needs its probes answered
    "token.loopback.no-device.cli",
    "token.loopback.no-device.backend",
    "token.loopback.token-as-password.no-device.cli",
    "token.loopback.origin-gateway.no-device.cli",
    "token.loopback.origin-allowed.no-device.cli",
    "token.loopback.origin-gateway.no-device.backend",
)
OUTPUT_BOUND = 200_000  # bytes a whole run may print, whatever the gateway sends


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fake(mode: str) -> Iterator[int]:
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.gateway", mode, str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("[fake] listening"), mode
        yield port
    finally:
        proc.kill()
        proc.wait(10)


def _run(tmp_path: Path, port: int) -> tuple[int, str, dict, float]:
    started = time.monotonic()
    args = [
        "--gateway-url",
        f"ws://127.0.0.1:{port}",
        "--gateway-token",
        "fake-token",
        "--gateway-auth",
        "token",
        "--gateway-allowed-origin",
        "https://control.conformance.test",
    ]
    for case in CASES:
        args += ["--conformance-case", case]
    run = run_matrix(tmp_path, *args, timeout=300)
    return run.returncode, run.output, run.report, time.monotonic() - started


# mode -> the words the one-line stop must contain, and the wall-time bound (s)
UNUSABLE = {
    "no-upgrade": ("HTTP 200 at the WebSocket upgrade", 20),
    "503": ("HTTP 503 at the WebSocket upgrade", 20),
    "rst": ("cannot open", 20),
    "no-challenge": ("no connect.challenge within", 30),
    "hang-after-challenge": ("no answer to the first frame within", 30),
    "garbage": ("a frame that is not JSON", 30),
    "mid-close": ("close 1011", 30),
    "error-10mb": ("rejected a device-less cli/cli connect", 30),
    "frame-10mb": ("a frame that is not JSON", 30),
}


@pytest.mark.parametrize("mode", sorted(UNUSABLE))
def test_a_gateway_that_never_completes_a_handshake_stops_the_run_once(
    tmp_path: Path, mode: str
) -> None:
    words, bound = UNUSABLE[mode]
    for port in _fake(mode):
        code, output, report, seconds = _run(tmp_path, port)
        assert code == EXIT_TARGET_UNUSABLE, output[-2000:]
        assert "conformance target unavailable" in output
        assert words in output, output[-2000:]
        assert seconds < bound, seconds
        assert len(output.encode()) < OUTPUT_BOUND, len(output)
        assert not report.get("cases"), "no case may be judged against it"


def test_a_gateway_that_stops_answering_after_hello_trips_the_breaker(tmp_path: Path) -> None:
    for port in _fake("hello-silence"):
        code, output, report, seconds = _run(tmp_path, port)
        outcomes = {c["id"]: c for c in report["cases"]}
        # Never a failure of the gateway, never "denied": the harness could not judge.
        assert {c["outcome"] for c in outcomes.values()} == {"error"}, output[-3000:]
        assert code == EXIT_NOT_JUDGED
        unanswered = [c for c in outcomes.values() if c["message"].startswith("could not judge")]
        stopped = [c for c in outcomes.values() if c["message"].startswith("not run: ")]
        assert len(unanswered) == 3 and len(stopped) == len(CASES) - 3, output[-3000:]
        assert "enforced scopes unknown" in unanswered[0]["message"]
        assert "stopped answering" in stopped[0]["message"]
        assert output.count("STOPPED: ") == 1
        # preflight RPCs (5 s each) + 3 cases x one 5 s probe; the stopped cases cost nothing
        assert seconds < 60, seconds
        assert len(output.encode()) < OUTPUT_BOUND
