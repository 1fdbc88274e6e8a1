"""`--gateway-url` as a user runs it against a gateway configured by hand: only a token set.

The suite must run every case that gateway can serve (with no flag but the token), more with
`--gateway-allow-pairing`, the remote cases too when the gateway listens beyond loopback; and
when nothing can be judged, say so in one line with its own exit code.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._matrix import run_matrix

from .test_url_target import pair_list, start_reference

TOKEN = "url-target-test-token"


def _gateway(tmp_path: Path, bind: str | None = None) -> Iterator[str]:
    gw: dict = {"auth": {"token": TOKEN}}
    if bind:
        gw["bind"] = bind
    proc, url = start_reference(tmp_path, {"gateway": gw})
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[str]:
    yield from _gateway(tmp_path)


def _coverage(run) -> str:
    lines = [ln for ln in run.output.splitlines() if ln.startswith("Coverage: ")]
    assert len(lines) == 1, run.output[-3000:]
    return lines[0]


def _ran(run) -> int:
    return sum(1 for c in run.report["cases"] if c["outcome"] != "skipped")


def test_only_the_token_runs_what_the_gateway_can_serve(tmp_path: Path, plain: str) -> None:
    run = run_matrix(tmp_path, "--gateway-url", plain, "--gateway-token", TOKEN)
    assert run.returncode == 0, run.output[-3000:]
    assert _ran(run) >= 30
    assert not run.ids("failed") and not run.ids("error")
    cov = run.report["coverage"]
    assert cov["ran"] == _ran(run) - sum(1 for i in run.ids("passed") if i.startswith("cli."))
    line = _coverage(run)
    assert line.startswith(f"Coverage: {cov['ran']} of {cov['matrix']} handshake cases ran; ")
    assert "need password auth" in line and "need to pair devices (--gateway-allow-pairing)" in line
    assert line.endswith("use --gateway openclaw@2026.9.6 or --gateway-image to run them all.")
    # what the gateway said about itself, learnt by config.get
    assert "auth token, bind loopback (from config.get)" in run.output
    assert pair_list(plain) == {"pending": [], "paired": []}


def test_pairing_allowed_runs_more_and_leaves_nothing(tmp_path: Path, plain: str) -> None:
    run = run_matrix(
        tmp_path, "--gateway-url", plain, "--gateway-token", TOKEN, "--gateway-allow-pairing"
    )
    assert run.returncode == 0, run.output[-3000:]
    assert _ran(run) >= 80
    assert not run.ids("failed") and not run.ids("error")
    assert pair_list(plain) == {"pending": [], "paired": []}


@pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace needs root")
def test_bound_to_lan_the_remote_cases_run_from_a_namespace(tmp_path: Path) -> None:
    for url in _gateway(tmp_path, bind="lan"):
        run = run_matrix(
            tmp_path, "--gateway-url", url, "--gateway-token", TOKEN, "--gateway-allow-pairing"
        )
        assert run.returncode == 0, run.output[-3000:]
        assert _ran(run) >= 110
        remote = [
            c
            for c in run.report["cases"]
            if c["axes"]["locality"] == "remote" and c["outcome"] == "passed"
        ]
        assert {"token.remote.no-device.cli", "token.remote.unpaired.cli"} <= {
            c["id"] for c in remote
        }
        assert "from network namespace" in run.output


def _one_exit_line(run) -> str:
    lines = [ln for ln in run.output.splitlines() if "_pytest.outcomes.Exit: " in ln]
    assert len(lines) == 1, run.output[-3000:]
    return lines[0].split("_pytest.outcomes.Exit: ", 1)[1].rstrip(" !")


def test_wrong_token_is_one_session_error(tmp_path: Path, plain: str) -> None:
    run = run_matrix(tmp_path, "--gateway-url", plain, "--gateway-token", "wrong")
    assert run.returncode == 6, run.output[-3000:]
    assert _one_exit_line(run) == (
        f"conformance target unavailable: {plain}: rejected a device-less cli/cli connect with "
        'the given token: INVALID_REQUEST/AUTH_TOKEN_MISMATCH "unauthorized: gateway token '
        "mismatch (use this gateway's gateway.auth.token or pair the device)\", close 1008 "
        "(check --gateway-token / --gateway-password, or OPENCLAW_GATEWAY_TOKEN/PASSWORD)"
    )
    assert "FAILED" not in run.output and "Traceback" not in run.output


def test_wrong_port_is_one_session_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = run_matrix(tmp_path, "--gateway-url", f"ws://127.0.0.1:{port}", "--gateway-token", "t")
    assert run.returncode == 6, run.output[-3000:]
    assert _one_exit_line(run) == (
        f"conformance target unavailable: ws://127.0.0.1:{port}: connection refused "
        "(is the gateway running on that port?)"
    )


def test_two_targets_are_a_usage_error(tmp_path: Path) -> None:
    run = run_matrix(
        tmp_path, "--gateway", "openclaw@2026.9.6", "--gateway-url", "ws://127.0.0.1:1"
    )
    assert run.returncode == 4, run.output[-3000:]
    assert (
        "ERROR: conformance: --gateway and --gateway-url both name the gateway under test; "
        "give one of them"
    ) in run.output.splitlines()


def test_an_all_skipped_selection_never_passes(tmp_path: Path, plain: str) -> None:
    run = run_matrix(
        tmp_path, "--gateway-url", plain, "--gateway-token", TOKEN, "-m", "auth_password"
    )
    assert run.returncode == 7, run.output[-3000:]
    assert (
        "conformance: no handshake case ran (38 selected, all skipped); most need password auth "
        "(38); see the coverage line above and each skip's reason (pytest -rs)"
    ) in run.output.splitlines()


def test_min_cases_raises_the_floor(tmp_path: Path, plain: str) -> None:
    run = run_matrix(
        tmp_path, "--gateway-url", plain, "--gateway-token", TOKEN, "--min-cases", "1000"
    )
    assert run.returncode == 7, run.output[-3000:]
    assert any(
        ln.startswith("conformance: only ") and "fewer than --min-cases 1000" in ln
        for ln in run.output.splitlines()
    )


def test_flags_that_contradict_the_gateway(tmp_path: Path, plain: str) -> None:
    run = run_matrix(
        tmp_path,
        "--gateway-url",
        plain,
        "--gateway-token",
        TOKEN,
        "--gateway-allowed-origin",
        "https://ui.example",
    )
    assert run.returncode == 4, run.output[-3000:]
    assert _one_exit_line(run) == (
        "conformance: the flags contradict the gateway: --gateway-allowed-origin "
        "https://ui.example, but config.get allows no origin"
    )


def test_config_file_instead_of_config_get(tmp_path: Path, plain: str) -> None:
    config = tmp_path / "theirs.json"
    config.write_text(
        json.dumps(
            {
                "gateway": {
                    "auth": {"mode": "token"},
                    "controlUi": {"allowedOrigins": ["https://ui.example"]},
                }
            }
        )
    )
    run = run_matrix(
        tmp_path,
        "--gateway-url",
        plain,
        "--gateway-token",
        TOKEN,
        "--gateway-config",
        str(config),
        "-m",
        "auth_token and locality_loopback and device_none",
    )
    # The file says an origin is allowed that the gateway does not allow: the Control UI
    # cases it enables are then refused, which shows the file was read and believed.
    assert f"(from --gateway-config {config})" in run.output, run.output[-3000:]
    assert "token.loopback.no-device.control-ui" in run.ids("failed") | run.ids("passed")
