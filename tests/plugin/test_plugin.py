"""The plugin end to end on small selections: options, ids, markers, baselines, reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests._matrix import run_matrix

SEED_CASE = "token.loopback.no-device.cli"


def test_report_schema_and_case_ids(tmp_path: Path) -> None:
    run = run_matrix(tmp_path, "--conformance-case", SEED_CASE)
    assert run.returncode == 0, run.output[-2000:]
    rep = run.report
    assert rep["schema"] == "openclaw-conformance/report/v1"
    assert set(rep) == {
        "schema",
        "target",
        "duration_s",
        "summary",
        "coverage",
        "cases",
        "groups",
        "errors",
        "findings",
        "security",
    }
    assert rep["groups"] == rep["errors"] == rep["findings"] == rep["security"] == []
    assert set(rep["target"]) == {"kind", "name", "version", "protocol"}
    assert rep["target"]["kind"] == "reference"
    assert rep["target"]["protocol"] == 4
    assert set(rep["summary"]) == {"passed", "failed", "xfailed", "xpassed", "skipped", "errors"}
    (case,) = rep["cases"]
    assert case["id"] == SEED_CASE
    assert case["axes"] == {
        "auth": "token",
        "locality": "loopback",
        "device": "none",
        "client": "cli/cli",
        "role": "operator",
    }
    assert case["outcome"] == "passed"
    assert "openclaw/openclaw#49180" in case["refs"]
    assert set(case["observed"]) >= {"accepted", "scopes", "reported_scopes", "error", "close_code"}
    assert case["observed"]["scopes"] == sorted(case["expected"]["scopes"])
    # the Markdown and HTML renderings of the same data sit beside the JSON
    md = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    assert SEED_CASE in md and SEED_CASE in html
    assert html.count('class="case"') == 1


def test_markers_select_by_axis(tmp_path: Path) -> None:
    run = run_matrix(tmp_path, "-m", "auth_password and device_none and locality_loopback")
    ids = set(run.outcomes())
    assert ids, run.output[-2000:]
    assert all(run.case(i)["axes"]["auth"] == "password" for i in ids)
    assert all(run.case(i)["axes"]["device"] == "none" for i in ids)


def test_stale_baseline_entry_fails_the_run(tmp_path: Path) -> None:
    baseline = tmp_path / "stale.yaml"
    baseline.write_text(
        "schema: openclaw-conformance/baseline/v1\ntarget: reference\nentries:\n"
        f"  - id: {SEED_CASE}\n    reason: pretend it is broken\n"
    )
    run = run_matrix(tmp_path, "--conformance-case", SEED_CASE, "--baseline", str(baseline))
    assert run.returncode == 1
    assert run.outcomes() == {SEED_CASE: "xpassed"}
    assert "XPASS(strict)" in run.output


def test_bad_case_file_is_a_usage_error_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "schema: openclaw-conformance/cases/v1\ncases:\n  - id: x\n    severity: must\n"
        "    gateway: {auth: token}\n    client: {id: cli, mode: cli}\n"
        "    expect: {accepted: true}\n"
    )
    run = run_matrix(tmp_path, "--cases", str(bad))
    assert run.returncode != 0
    assert (
        f"{bad}:7: case 'x': expect: an accepted case must state its effective scopes" in run.output
    )


def test_extra_cases_run_with_the_packaged_ones(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "schema: openclaw-conformance/cases/v1\ncases:\n  - id: mine.remote-cli-admin\n"
        "    severity: must\n    gateway: {auth: token}\n    client: {id: cli, mode: cli}\n"
        "    credentials: {token: right}\n    scopes: [operator.admin]\n"
        "    expect: {accepted: true, scopes: [operator.admin]}\n"
    )
    run = run_matrix(tmp_path, "--cases", str(extra), "-k", "mine")
    assert run.outcomes() == {"mine.remote-cli-admin": "passed"}, run.output[-2000:]
    case = run.case("mine.remote-cli-admin")
    # admin satisfies every probe; the report lists it as granted (K20)
    assert case["observed"]["reported_scopes"] == ["operator.admin"]
    assert len(case["observed"]["scopes"]) == 5


def test_unreachable_url_fails_once(tmp_path: Path) -> None:
    run = run_matrix(
        tmp_path, "--gateway-url", "ws://127.0.0.1:9", "--gateway-token", "t", timeout=120
    )
    assert run.returncode != 0
    assert run.output.count("conformance target unavailable") == 1, run.output[-2000:]


def test_unavailable_image_fails_once(tmp_path: Path) -> None:
    # Nothing can be pulled here, and without Docker nothing runs at all: one clear message.
    run = run_matrix(
        tmp_path, "--gateway-image", "no-such-registry.invalid/openclaw:0.0.0", timeout=300
    )
    assert run.returncode != 0
    assert run.output.count("conformance target unavailable") == 1, run.output[-2000:]


@pytest.mark.parametrize("flag", ["--gateway", "gateway"])
def test_options_mirrored_as_ini(tmp_path: Path, flag: str) -> None:
    if flag == "gateway":
        (tmp_path / "pytest.ini").write_text("[pytest]\ngateway = reference@2026.3.13\n")
        run = run_matrix(tmp_path, "--conformance-case", SEED_CASE)
    else:
        run = run_matrix(tmp_path, flag, "reference@2026.3.13", "--conformance-case", SEED_CASE)
    assert run.report["target"]["name"] == "reference@2026.3.13"
    assert run.outcomes() == {SEED_CASE: "failed"}
    assert "missing scope: operator.read" in run.output
    data = json.dumps(run.report)
    assert "operator.read" in data


SECOND_313_FAILURE = "token.loopback.no-device.backend"


def _junit(path: Path):
    import xml.etree.ElementTree as ET

    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    suite_props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    cases = {
        c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")}
        for c in suite.iter("testcase")
    }
    return suite_props, cases


# --maxfail stops before the last test: the session fixtures are then torn down after junitxml
# wrote its file, so the suite properties must not wait for their teardown.
@pytest.mark.parametrize("extra", [[], ["--maxfail=1"]], ids=["all", "maxfail"])
def test_junit_carries_the_target(tmp_path: Path, extra: list[str]) -> None:
    junit = tmp_path / "junit.xml"
    run = run_matrix(
        tmp_path,
        "--gateway",
        "reference@2026.3.13",
        "--conformance-case",
        SEED_CASE,
        "--conformance-case",
        SECOND_313_FAILURE,
        f"--junitxml={junit}",
        *extra,
    )
    assert set(run.outcomes().values()) == {"failed"}, run.output[-2000:]
    assert len(run.outcomes()) == (1 if extra else 2)
    suite_props, cases = _junit(junit)
    # the gateway that produced the results, once, on the suite
    assert suite_props == {
        "conformance_target": "reference@2026.3.13",
        "conformance_target_kind": "reference",
        "conformance_target_version": "2026.3.13",
        "conformance_target_protocol": "3",
    }
    # each case carries its own record: what was observed, the message, the target
    record = json.loads(cases[f"test_handshake[{SEED_CASE}]"]["conformance"])
    assert set(record) == {
        "observed",
        "message",
        "problems",
        "need",
        "target",
        "era",
        "expected",
    }
    assert record["message"] == run.case(SEED_CASE)["message"]
    assert record["observed"] == run.case(SEED_CASE)["observed"]
    assert record["target"] == {
        "kind": "reference",
        "name": "reference@2026.3.13",
        "version": "2026.3.13",
        "protocol": 3,
    }


def test_strict_xpass_and_junit_under_xdist(tmp_path: Path) -> None:
    """The outcomes come from the workers' reports: a stale baseline entry is still xpassed
    (not failed), and each JUnit case still carries the target."""
    baseline = tmp_path / "stale.yaml"
    baseline.write_text(
        "schema: openclaw-conformance/baseline/v1\ntarget: reference\nentries:\n"
        f"  - id: {SEED_CASE}\n    reason: pretend it is broken\n"
    )
    junit = tmp_path / "junit.xml"
    run = run_matrix(
        tmp_path,
        "-n",
        "2",
        "--conformance-case",
        SEED_CASE,
        "--conformance-case",
        "token.remote.no-device.cli",
        "--baseline",
        str(baseline),
        f"--junitxml={junit}",
    )
    assert run.returncode == 1, run.output[-2000:]
    assert run.outcomes() == {SEED_CASE: "xpassed", "token.remote.no-device.cli": "passed"}
    assert "XPASS" in run.output and "xpassed=1" in run.output
    _, cases = _junit(junit)
    record = json.loads(cases[f"test_handshake[{SEED_CASE}]"]["conformance"])
    assert record["target"]["name"] == "reference"


def test_no_conformance_test_collected_reads_no_case_file(tmp_path: Path) -> None:
    """The matrix is loaded by the hook that first needs it: a run of other tests only
    never reads the YAML, so a broken extra case file does not stop it."""
    (tmp_path / "test_other.py").write_text("def test_other():\n    pass\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: openclaw-conformance/cases/v1\ncases: [{id: x}]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--cases", str(bad),
         "test_other.py"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
    # and the same file does stop a run that collects the matrix
    run = run_matrix(tmp_path, "--cases", str(bad), "--conformance-case", SEED_CASE)
    assert run.returncode != 0
    assert f"{bad}:2: case 'x': missing required field 'severity'" in run.output


def test_differential_lists_the_cases_that_differ(tmp_path: Path) -> None:
    run = run_matrix(
        tmp_path,
        "--gateway",
        "reference@2026.3.13",
        "--differential",
        "current",
        "-m",
        "auth_token and locality_loopback and device_none",
    )
    diff = json.loads((tmp_path / "report.differential.json").read_text())
    assert diff["schema"] == "openclaw-conformance/differential/v1"
    # the seed bug is a difference between the two profiles; the report names its fields
    assert SEED_CASE in diff["differing"]
    row = next(r for r in diff["cases"] if r["id"] == SEED_CASE)
    assert any(line.startswith("scopes: ") for line in row["differs"])
    assert "differential against the reference (current)" in run.output
