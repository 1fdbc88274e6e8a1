"""The reporter's outcome vocabulary, read from pytest's public TestReport attributes."""

from __future__ import annotations

import pytest

from conformance.plugin.reporter import _outcome_of, mark_strict_xpass


def _report(
    outcome: str, when: str = "call", longrepr: object = None, **extra
) -> pytest.TestReport:
    return pytest.TestReport(
        "conformance/test_handshake.py::test_handshake[c]",
        ("test_handshake.py", 0, "test_handshake[c]"),
        {},
        outcome,  # type: ignore[arg-type]
        longrepr,
        when,  # type: ignore[arg-type]
        **extra,
    )


def test_a_failure_is_never_taken_for_a_strict_xpass_by_its_text() -> None:
    # What pytest writes for a strict xpass, on a report nobody marked: still a failure.
    assert _outcome_of(_report("failed", longrepr="[XPASS(strict)] baseline: x")) == "failed"
    marked = _report("failed", longrepr="[XPASS(strict)] baseline: x")
    mark_strict_xpass(marked)
    assert _outcome_of(marked) == "xpassed"


@pytest.mark.parametrize(
    ("outcome", "when", "extra", "expected"),
    [
        ("passed", "call", {}, "passed"),
        ("failed", "call", {}, "failed"),
        ("skipped", "call", {}, "skipped"),
        ("skipped", "call", {"wasxfail": "baseline: x"}, "xfailed"),
        ("passed", "call", {"wasxfail": "baseline: x"}, "xpassed"),  # a non-strict xfail
        ("skipped", "setup", {}, "skipped"),
        ("failed", "setup", {}, "error"),
        ("failed", "teardown", {}, "error"),
        ("passed", "setup", {}, None),
        ("passed", "teardown", {}, None),
    ],
)
def test_outcomes(outcome: str, when: str, extra: dict, expected: str | None) -> None:
    assert _outcome_of(_report(outcome, when, **extra)) == expected


def test_the_mark_survives_serialization(pytestconfig: pytest.Config) -> None:
    """As xdist sends a worker's report to the controller."""
    marked = _report("failed", longrepr="[XPASS(strict)] baseline: x")
    mark_strict_xpass(marked)
    hook = pytestconfig.hook
    data = hook.pytest_report_to_serializable(config=pytestconfig, report=marked)
    again = hook.pytest_report_from_serializable(config=pytestconfig, data=data)
    assert _outcome_of(again) == "xpassed"
