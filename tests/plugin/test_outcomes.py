"""Outcomes that separate the release from the harness (cases/README.md "Outcomes"): a gateway
that did not start and a precondition the harness could not set up are errors, never failures
of the release; a precondition that is itself contract (silent local pairing) refused is a
failure that says so. The harness's trouble is injected with a plugin module in the child run."""

from __future__ import annotations

from pathlib import Path

from tests._matrix import run_matrix

TOKEN_CASE = "token.loopback.no-device.cli"
PASSWORD_CASE = "password.loopback.no-device.cli"
PAIRED_CASE = "token.loopback.paired.cli"

# Password gateways of the reference "do not start", with the words a release would log.
FAILING_START = """
from conformance.targets import reference
from conformance.targets.base import GatewayStartError

_start = reference.ReferenceTarget._start

def _failing(self, spec):
    if spec.auth == "password":
        raise GatewayStartError(
            "reference: gateway [password] exited with code 78 before it was ready. Log tail:\\n"
            "Gateway failed to start: Error: injected by the test",
            reason="gateway [password] exited with code 78: injected by the test",
        )
    return _start(self, spec)

reference.ReferenceTarget._start = _failing
"""

PAIRING = """
from conformance.judge import runner

async def _pair(case, endpoint, ident, paired_as=None):
    raise runner.{exc}

runner._pair = _pair
"""


def _plugin(tmp_path: Path, name: str, text: str) -> tuple[str, str]:
    (tmp_path / f"{name}.py").write_text(text)
    return "-p", name


def test_a_gateway_that_does_not_start_is_an_error_for_every_case_of_its_config(
    tmp_path: Path,
) -> None:
    run = run_matrix(
        tmp_path,
        *_plugin(tmp_path, "failstart", FAILING_START),
        "-k", f"{TOKEN_CASE} or {PASSWORD_CASE} or password.remote.no-device.cli",
    )  # fmt: skip
    outcomes = run.outcomes()
    assert outcomes[TOKEN_CASE] == "passed", run.output[-3000:]
    assert outcomes[PASSWORD_CASE] == "error"
    assert outcomes["password.remote.no-device.cli"] == "error"
    for case_id in (PASSWORD_CASE, "password.remote.no-device.cli"):
        message = run.case(case_id)["message"]
        assert message == (
            "gateway did not start: gateway [password] exited with code 78: injected by the test"
        )
    # Nothing departed, but not everything was judged: neither 0 nor 1.
    assert run.returncode == 8, run.output[-3000:]
    errors = run.ids("error")
    assert run.report["summary"]["errors"] == len(errors) >= 2
    assert all("password" in case_id for case_id in errors), errors
    assert "failed" not in set(outcomes.values())
    # pytest's own summary says error too, not FAILED.
    nodeid = f"test_handshake.py::test_handshake[{PASSWORD_CASE}]"
    assert f"ERROR {nodeid}" in run.output
    assert f"FAILED {nodeid}" not in run.output


def test_a_start_error_next_to_a_departure_exits_1(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "schema: openclaw-conformance/cases/v1\ncases:\n  - id: mine.departs\n"
        "    severity: must\n    gateway: {auth: token}\n    client: {id: cli, mode: cli}\n"
        "    credentials: {token: right}\n    scopes: [operator.read]\n"
        "    expect: {accepted: false, error: NOT_PAIRED, close: 1008}\n"
    )
    run = run_matrix(
        tmp_path,
        *_plugin(tmp_path, "failstart", FAILING_START),
        "--cases", str(extra),
        "-k", f"mine.departs or {PASSWORD_CASE}",
    )  # fmt: skip
    outcomes = run.outcomes()
    assert outcomes.pop("mine.departs") == "failed", run.output[-3000:]
    assert outcomes and set(outcomes.values()) == {"error"}, outcomes
    assert run.returncode == 1


def test_a_precondition_that_cannot_be_set_up_is_an_error(tmp_path: Path) -> None:
    code = PAIRING.format(exc='PreconditionError("pairing the device as cli/cli got no answer")')
    run = run_matrix(tmp_path, *_plugin(tmp_path, "nopair", code), "-k", PAIRED_CASE)
    assert run.outcomes()[PAIRED_CASE] == "error", run.output[-3000:]
    assert run.case(PAIRED_CASE)["message"] == (
        "precondition could not be set up: pairing the device as cli/cli got no answer"
    )
    assert run.returncode == 8


def test_a_refused_silent_local_pairing_is_a_failure_that_says_so(tmp_path: Path) -> None:
    code = PAIRING.format(
        exc='PreconditionDeparture("silent local pairing refused", expected="accepted", '
        'observed="NOT_PAIRED/PAIRING_REQUIRED", detail="pairing the device as cli/cli")'
    )
    run = run_matrix(tmp_path, *_plugin(tmp_path, "refusepair", code), "-k", PAIRED_CASE)
    case = run.case(PAIRED_CASE)
    assert case["outcome"] == "failed", run.output[-3000:]
    assert case["message"] == "precondition departs from the contract: silent local pairing refused"
    assert [p["field"] for p in case["problems"]] == ["precondition"]
    assert case["problems"][0]["observed"] == "NOT_PAIRED/PAIRING_REQUIRED"
    assert run.returncode == 1
