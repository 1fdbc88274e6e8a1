"""The packaged matrix through the pytest plugin against a container: `--gateway-image`.

Runs in a child pytest, exactly as a user would:
    python -m pytest --pyargs conformance --gateway-image IMAGE --conformance-report R.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.targets import container as ct
from tests._matrix import expected_skip

MATRIX_TIMEOUT_S = 1200.0
# The entries of cases/baselines/openclaw@<version>.yaml: real findings of the release that no
# container detail changes (`gateway probe` keeps no scopes on a fresh state dir).
KNOWN_FINDINGS = {"2026.9.6": {"cli.gateway-probe"}}


def test_packaged_matrix_through_the_container(
    image_tag: str, container_version: str, tmp_path: Path, docker_client: Any
) -> None:
    report_path = tmp_path / "R.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    try:
        proc = subprocess.run(
            [
                sys.executable, "-m", "pytest", "--pyargs", "conformance",
                "--gateway-image", image_tag, "--baseline", "auto",
                "-p", "no:cacheprovider", "-q",
                "--conformance-report", str(report_path),
            ],
            cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=MATRIX_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the matrix did not finish in {MATRIX_TIMEOUT_S:.0f} s: {exc}")
    tail = "\n".join(proc.stdout.splitlines()[-40:])
    assert report_path.is_file(), f"no report (exit {proc.returncode}):\n{tail}\n{proc.stderr}"
    report = json.loads(report_path.read_text())
    assert report["target"]["kind"] == "container"
    assert report["target"]["version"] == container_version
    assert report["target"]["protocol"] == 4
    summary = report["summary"]
    assert summary["errors"] == 0 and summary["xpassed"] == 0, tail
    # Green with the release's baseline, whose entries are exactly what fails here too.
    assert proc.returncode == 0, tail
    xfailed = {c["id"] for c in report["cases"] if c["outcome"] == "xfailed"}
    assert xfailed == KNOWN_FINDINGS.get(container_version, set()), tail
    skipped = {
        c["id"]: c.get("message") or "" for c in report["cases"] if c["outcome"] == "skipped"
    }
    # Both localities really ran: only auth-none cases may lack a remote vantage (and the
    # trusted-proxy paired cases an approver); the CLI cases ran inside the container.
    for case in report["cases"]:
        if case["outcome"] == "skipped":
            assert expected_skip(case), (case["id"], skipped[case["id"]])
    ran_remote = [
        c for c in report["cases"]
        if c["axes"].get("locality") == "remote" and c["outcome"] == "passed"
    ]  # fmt: skip
    assert len(ran_remote) > 20, len(ran_remote)
    # Nothing left behind by the child session.
    left = docker_client.containers.list(all=True, filters={"label": ct.LABEL_SESSION})
    assert all(_ours_alive(c) for c in left), [c.id for c in left]


def _ours_alive(container: Any) -> bool:
    """A labelled container that belongs to a live session (this one, a parallel run)."""
    pid = container.labels.get(ct.LABEL_SESSION, "")
    return pid.isdigit() and int(pid) != 0 and Path(f"/proc/{pid}").exists()
