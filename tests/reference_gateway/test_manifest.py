"""Several reference gateways in one process (`--manifest`): each its own port, config, log and
handshake timeout; a config the reference refuses stops only its own gateway."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from conformance.protocol.frames import ConnectPlan
from reference_gateway.__main__ import EXIT_MARKER

ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(path: Path, text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.02)
    raise AssertionError(f"{text!r} not in {path}: {content!r}")


def _connect(port: int, token: str) -> dict:
    with connect(f"ws://127.0.0.1:{port}", open_timeout=5) as ws:
        nonce = json.loads(ws.recv(timeout=5))["payload"]["nonce"]
        ws.send(json.dumps(ConnectPlan(auth={"token": token}).frame(nonce)))
        return json.loads(ws.recv(timeout=5))


def test_one_process_serves_each_config_on_its_own_port_with_its_own_log(tmp_path: Path) -> None:
    gateways = []
    for name, token, env in (
        ("a", "tok-a", {}),
        ("b", "tok-b", {"OPENCLAW_HANDSHAKE_TIMEOUT_MS": "700"}),
    ):
        config = tmp_path / f"{name}.json"
        config.write_text(json.dumps({"gateway": {"auth": {"mode": "token", "token": token}}}))
        gateways.append(
            {
                "config": str(config),
                "port": _port(),
                "host": "127.0.0.1",
                "log": str(tmp_path / f"{name}.log"),
                "env": env,
            }
        )
    refused = tmp_path / "none.json"
    refused.write_text(json.dumps({"gateway": {"auth": {"mode": "none"}}}))
    gateways.append(
        {
            "config": str(refused),
            "port": _port(),
            "host": "0.0.0.0",
            "log": str(tmp_path / "none.log"),
        }
    )
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"gateways": gateways}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_gateway", "--manifest", str(manifest)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        log_a = _wait_for(tmp_path / "a.log", "[gateway] ready")
        assert f"ws://127.0.0.1:{gateways[1]['port']}" in _wait_for(
            tmp_path / "b.log", "[gateway] ready"
        )
        assert f"ws://127.0.0.1:{gateways[0]['port']}" in log_a
        assert "handshakeTimeoutMs=700" in _wait_for(tmp_path / "b.log", "handshakeTimeoutMs")
        assert "handshakeTimeoutMs=700" not in log_a
        # Each gateway has its own secret: a's token opens a, not b.
        assert _connect(gateways[0]["port"], "tok-a")["ok"] is True
        refused_b = _connect(gateways[1]["port"], "tok-a")
        assert refused_b["error"]["details"]["code"] == "AUTH_TOKEN_MISMATCH"
        # The connect decisions are in each gateway's own log.
        assert "token mismatch" in _wait_for(tmp_path / "b.log", "close=1008")
        assert "close=1008" not in (tmp_path / "a.log").read_text()
        # auth none beyond loopback: refused as OpenClaw refuses it (exit 78), that one only.
        none_log = _wait_for(tmp_path / "none.log", EXIT_MARKER)
        assert "Refusing to bind gateway to 0.0.0.0 without auth." in none_log
        assert f"{EXIT_MARKER} 78" in none_log
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert "shutting down" in (tmp_path / "a.log").read_text()


def _gateway_run(*argv: str) -> subprocess.CompletedProcess[str]:
    """`python -m reference_gateway ARGV` that is expected to stop at once."""
    return subprocess.run(
        [sys.executable, "-m", "reference_gateway", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_manifest_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.json"
    bad.write_text("[]")
    proc = _gateway_run("--manifest", str(bad))
    assert proc.returncode == 2
    assert f"cannot read manifest {bad}" in proc.stderr


@pytest.mark.parametrize("argv", [[], ["--config", "x.json"]])
def test_single_mode_still_needs_a_config_and_a_port(argv: list[str]) -> None:
    proc = _gateway_run(*argv)
    assert proc.returncode == 2
    assert "--config and --port are required" in proc.stderr
