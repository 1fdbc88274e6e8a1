"""The harness's power to catch the seed bug is itself under test.

Run the packaged matrix against the reference gateway emulating OpenClaw 2026.3.13, whose gateway
clears the scopes of a device-less local CLI. The expected failures are not computed here: they
are the `openclaw/openclaw#49180` cases and the baseline written by hand from the release's
decision table (cases/baselines/reference@2026.3.13.yaml).
"""

from __future__ import annotations

import yaml

from tests._matrix import BASELINES

SEED_REF = "openclaw/openclaw#49180"
BASELINE = BASELINES / "reference@2026.3.13.yaml"


def baseline_ids() -> set[str]:
    return {e["id"] for e in yaml.safe_load(BASELINE.read_text())["entries"]}


def test_2026_3_13_fails_exactly_its_departures_and_names_the_missing_scope(matrix) -> None:
    run = matrix("--gateway", "reference@2026.3.13")
    assert run.returncode == 1, run.output[-3000:]
    assert run.report["target"]["name"] == "reference@2026.3.13"
    assert run.report["target"]["protocol"] == 3
    failed = run.ids("failed")
    # The CLI cases need a release's own CLI, which the reference does not ship; auth none
    # cannot listen beyond loopback (as OpenClaw refuses to), so its remote cases skip too.
    for case in run.report["cases"]:
        if case["outcome"] == "skipped":
            assert case["id"].startswith("cli.") or case["axes"]["auth"] == "none", case
    seed_cases = {
        c["id"]
        for c in run.report["cases"]
        if SEED_REF in c["refs"] and c["severity"] == "must" and c["outcome"] != "skipped"
    }
    assert seed_cases, "the matrix must carry cases of the seed bug"
    assert seed_cases <= failed
    for case_id in seed_cases:
        case = run.case(case_id)
        # Every seed-bug failure says what a user saw: the read probe denied, scopes cleared.
        assert case["observed"]["accepted"] is True
        assert case["observed"]["scopes"] == []
        probes = " ".join(case["observed"]["probes"].values())
        assert "missing scope: operator.read" in probes
        assert "enforced scopes [] != expected" in case["message"]
    # Everything 2026.3.13 shares with the current contract passes; what fails is exactly what
    # the hand-written baseline says departs.
    assert failed == baseline_ids()
    assert run.ids("error") == set()


def test_2026_3_13_with_its_baseline_is_green(matrix) -> None:
    run = matrix("--gateway", "reference@2026.3.13", "--baseline", str(BASELINE))
    assert run.returncode == 0, run.output[-3000:]
    assert run.ids("xfailed") == baseline_ids()
    assert run.ids("failed") | run.ids("xpassed") | run.ids("error") == set()
