"""Releases older than a setting or a proof format the harness uses by default are still judged
on what they do, not on the harness's config (issue 9): 2026.2.1 refuses
gateway.controlUi.allowedOrigins, 2026.2.19 refuses trusted-proxy on loopback and verifies
only v2 device proofs, and neither has an approver through a trusted proxy."""

from __future__ import annotations

from pathlib import Path

from tests._matrix import NO_PROXY_APPROVER, Run, run_matrix
from tests.targets.npm.test_real_releases import node_available  # noqa: F401 (autouse)


def judged_on(tmp_path: Path, version: str, selection: str) -> Run:
    """The selected cases against a real release; every one of them judged or skipped with a
    reason, none an error of the harness."""
    run = run_matrix(tmp_path, "--gateway", f"openclaw@{version}", "-k", selection, timeout=900)
    assert run.report, run.output[-3000:]
    assert run.ids("error") == set(), run.output[-3000:]
    return run


def test_2026_2_1_starts_without_the_origin_allowlist_it_does_not_know(tmp_path: Path) -> None:
    run = judged_on(
        tmp_path,
        "2026.2.1",
        "token.loopback.no-device.cli or token.loopback.origin-allowed.no-device.cli "
        "or token.loopback.unpaired.cli or none.loopback.no-device.backend",
    )
    assert "the release refuses gateway.controlUi.allowedOrigins" in run.output
    # judged: the seed bug's case and an unpaired device
    assert {"token.loopback.no-device.cli", "token.loopback.unpaired.cli"} <= run.ids("passed")
    skipped = run.case("token.loopback.origin-allowed.no-device.cli")
    assert skipped["outcome"] == "skipped"
    assert "no gateway.controlUi.allowedOrigins setting" in skipped["message"]
    # auth none does not exist on 2026.2.1: its config cannot be started, so not applicable
    none = run.case("none.loopback.no-device.backend")
    assert none["outcome"] == "skipped", none
    assert "no gateway auth mode 'none'" in none["message"]


def test_2026_2_19_is_judged_with_the_proofs_and_bind_it_accepts(tmp_path: Path) -> None:
    run = judged_on(
        tmp_path,
        "2026.2.19",
        "none.loopback.unpaired.cli or token.loopback.paired.cli or proof.v3.loopback "
        "or trusted-proxy.loopback-proxy.no-device.cli or trusted-proxy.proxied.paired.cli",
    )
    # v2 proofs, as the release's clients signed: devices pair and connect
    assert {"none.loopback.unpaired.cli", "token.loopback.paired.cli"} <= run.ids("passed")
    assert "since 2026.2.26" in run.case("proof.v3.loopback.unpaired.cli")["message"]
    # trusted-proxy on loopback refused at start: started on lan, the case judged
    assert "will not bind loopback" in run.output
    assert run.case("trusted-proxy.loopback-proxy.no-device.cli")["outcome"] in ("passed", "failed")
    for case_id in (
        "trusted-proxy.proxied.paired.cli",
        "trusted-proxy.proxied.paired.cli.device-token",
    ):
        case = run.case(case_id)
        assert case["outcome"] == "skipped" and NO_PROXY_APPROVER in case["message"], case
