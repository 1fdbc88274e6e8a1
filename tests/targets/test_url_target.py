"""`--gateway-url`: a gateway someone else runs (here a reference gateway started by the test).

Only cases whose gateway config matches what the user declared run; cases that pair devices need
an explicit opt-in; with it, the run removes what it paired and rejects what it left pending.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.protocol.client import handshake
from conformance.protocol.sockets import Vantage
from tests._matrix import run_matrix

TOKEN = "url-target-test-token"
ORIGIN = "https://control.conformance.test"


def start_reference(tmp_path: Path, config: dict) -> tuple[subprocess.Popen, str]:
    """A reference gateway as a user starts one by hand; its log goes to a file (a pipe nobody
    reads would fill up and stall the gateway)."""
    path = tmp_path / "openclaw.json"
    path.write_text(json.dumps(config))
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reference_gateway", "--config", str(path), "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        first = log.read_text().splitlines()[:1]
        if first and first[0].startswith("[gateway] listening on ws://"):
            port = first[0].split()[-1].rsplit(":", 1)[1]
            return proc, f"ws://127.0.0.1:{port}"
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"reference gateway did not start: {log.read_text()[-2000:]}")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    config = {
        "gateway": {
            "mode": "local",
            "auth": {"mode": "token", "token": TOKEN},
            "controlUi": {"allowedOrigins": [ORIGIN]},
        }
    }
    proc, url = start_reference(tmp_path, config)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def pair_list(url: str) -> dict:
    host, port = url.removeprefix("ws://").rsplit(":", 1)

    async def go() -> dict:
        def frame(nonce: str) -> dict:
            return {
                "type": "req",
                "id": "x",
                "method": "connect",
                "params": {
                    "minProtocol": 3,
                    "maxProtocol": 4,
                    "role": "operator",
                    "client": {"id": "cli", "mode": "cli", "version": "t", "platform": "linux"},
                    "scopes": ["operator.pairing"],
                    "auth": {"token": TOKEN},
                },
            }

        out = await handshake(Vantage(host, int(port)), frame)
        assert out.connection is not None, out.summary()
        res = await out.connection.call("device.pair.list", {})
        await out.connection.close()
        return res.payload

    return asyncio.run(go())


def test_without_opt_in_devices_are_not_sent(tmp_path: Path, gateway: str) -> None:
    run = run_matrix(
        tmp_path,
        "--gateway-url",
        gateway,
        "--gateway-token",
        TOKEN,
        "--gateway-allowed-origin",
        ORIGIN,
        "-m",
        "auth_token",
    )
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["target"]["kind"] == "url"
    assert run.ids("passed"), run.output[-2000:]
    assert all(run.case(i)["axes"]["device"] == "none" for i in run.ids("passed"))
    reasons = {run.case(i)["message"] for i in run.ids("skipped")}
    assert any("--gateway-allow-pairing" in r for r in reasons)
    assert any("needs a remote vantage point" in r for r in reasons)
    assert pair_list(gateway) == {"pending": [], "paired": []}


def test_with_opt_in_the_gateway_is_left_as_found(tmp_path: Path, gateway: str) -> None:
    run = run_matrix(
        tmp_path,
        "--gateway-url",
        gateway,
        "--gateway-token",
        TOKEN,
        "--gateway-allowed-origin",
        ORIGIN,
        "--gateway-allow-pairing",
        "-m",
        "auth_token and locality_loopback",
    )
    assert run.returncode == 0, run.output[-3000:]
    paired_cases = [i for i in run.ids("passed") if run.case(i)["axes"]["device"] != "none"]
    assert paired_cases
    cleanup = [ln for ln in run.output.splitlines() if ln.startswith("cleanup:")]
    assert len(cleanup) == 1, run.output[-2000:]
    assert cleanup[0].startswith("cleanup: removed ")
    assert not cleanup[0].startswith("cleanup: removed 0 ")
    assert pair_list(gateway) == {"pending": [], "paired": []}
