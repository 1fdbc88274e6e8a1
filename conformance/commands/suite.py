"""Running the conformance suite against one target in a child pytest, for the commands that
compare targets (`matrix`, `bisect`). A child process per target keeps each run's gateways,
namespace and state apart, exactly as a user's own `pytest --pyargs conformance` run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SuiteRun:
    target: str
    returncode: int
    report: dict[str, Any] | None
    output_tail: str
    seconds: float


def target_args(target: str) -> list[str]:
    """`reference`, `reference@P`, `openclaw@V` are gateways; anything shaped like an image
    reference (`repo/name:tag`) is a container image."""
    name = target.split("@", 1)[0]
    if name in ("reference", "openclaw"):
        return ["--gateway", target]
    if "/" in target or ":" in target:
        return ["--gateway-image", target]
    raise ValueError(
        f"target {target!r}: expected reference, reference@<profile>, openclaw@<version> or an "
        "image such as openclaw-conformance/openclaw:2026.9.6"
    )


STOP_WAIT_S = 10.0


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def run_suite(
    target: str,
    report_path: Path,
    *,
    extra: list[str] | None = None,
    timeout: float = 3600.0,
    stream: bool = False,
) -> SuiteRun:
    argv = [
        sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider",
        "-q", "--no-header", "--conformance-report", str(report_path),
        *target_args(target), *(extra or []),
    ]  # fmt: skip
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.unlink(missing_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, stdout=None if stream else subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        code, output = proc.returncode, out or ""
    except subprocess.TimeoutExpired:
        _stop(proc)
        code, output = -1, f"timed out after {timeout:g}s"
    except BaseException:
        # Ctrl-C or SIGTERM here: the child run stops as a user's run would (SIGTERM is its
        # Ctrl-C), removing its gateways, instead of being killed with them still running.
        _stop(proc)
        raise
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    tail = "\n".join(output.splitlines()[-30:])
    return SuiteRun(target, code, report, tail, time.monotonic() - started)
