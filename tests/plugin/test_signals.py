"""A run stopped by a signal leaves nothing behind: SIGTERM and SIGINT end it within 10 s with
every gateway process and temp folder removed; after SIGKILL, the next run sweeps what the dead
session's record lists and says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.targets.registry import _start_time

STOP_BOUND_S = 10.0


def _matrix(selection: str, cache: Path) -> tuple[list[str], dict[str, str]]:
    """A run of the selected cases, as a user starts it, with its own cache (and registry)."""
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        "conformance",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        selection,
    ]
    return argv, {**os.environ, "OPENCLAW_CONFORMANCE_CACHE": str(cache)}


def _start_run(tmp_path: Path, cache: Path) -> subprocess.Popen[str]:
    # frame.silent keeps the run busy for a second with its gateways up.
    argv, env = _matrix("frame.silent or token.loopback", cache)
    return subprocess.Popen(
        argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _record(cache: Path, pid: int, timeout: float = 30.0) -> dict:
    """The session record of `pid` once it lists a gateway process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (cache / "sessions").glob(f"{pid}-*.json"):
            try:
                data = json.loads(path.read_text())
            except ValueError:
                continue
            if data.get("process"):
                return data
        time.sleep(0.05)
    raise AssertionError(f"no session record with a gateway for {pid}")


def _alive(entry: list) -> bool:
    pid, started = entry
    return _start_time(pid) == started


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_run_and_removes_everything(tmp_path: Path, sig: signal.Signals) -> None:
    cache = tmp_path / "cache"
    proc = _start_run(tmp_path, cache)
    record = _record(cache, proc.pid)
    proc.send_signal(sig)
    started = time.monotonic()
    output, _ = proc.communicate(timeout=30)
    assert time.monotonic() - started < STOP_BOUND_S, output[-2000:]
    assert proc.returncode != 0  # interrupted, never "passed"
    assert not any(_alive(e) for e in record["process"]), output[-2000:]
    assert not any(Path(f).exists() for f in record["folder"])
    assert not list((cache / "sessions").glob(f"{proc.pid}-*.json"))  # a clean end


def test_after_sigkill_the_next_run_sweeps_what_the_dead_session_left(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    proc = _start_run(tmp_path, cache)
    record = _record(cache, proc.pid)
    proc.kill()
    proc.communicate(timeout=30)
    assert any(_alive(e) for e in record["process"])  # the gateway outlived its session
    argv, env = _matrix("token.loopback.no-device.cli", cache)
    nxt = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    output = nxt.stdout + nxt.stderr
    assert nxt.returncode == 0, output[-2000:]
    assert f"swept session {proc.pid}-" in output
    assert "killed gateway process group" in output and "removed folder" in output
    assert not any(_alive(e) for e in record["process"])
    assert not any(Path(f).exists() for f in record["folder"])
    assert not list((cache / "sessions").glob(f"{proc.pid}-*.json"))
