"""A release that ignores the handshake timeout it was started with is detected, reported as
such, and judged by its own behaviour (the silent client waits long enough for it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases.loader import load_cases
from conformance.judge.runner import (
    HANDSHAKE_TIMEOUT_GRACE_S,
    SILENT_WAIT_S,
    _timeouts,
    handshake_timeout_note,
)
from conformance.protocol.client import HandshakeOutcome

CASES = Path(__file__).resolve().parents[2] / "cases"


@pytest.fixture(scope="module")
def cases():
    return {c.id: c for c in load_cases(sorted(CASES.glob("*.yaml")))}


def test_a_silent_client_waits_past_a_built_in_timeout(cases) -> None:
    silent = cases["frame.silent"]
    assert silent.gateway.handshake_timeout_ms == 1000
    # 2026.2.26 closes at its built-in 10 s; 9.6's default is 15 s: both within the wait.
    assert _timeouts(silent).response == SILENT_WAIT_S >= 15 + HANDSHAKE_TIMEOUT_GRACE_S
    assert _timeouts(cases["token.loopback.no-device.cli"]).response < SILENT_WAIT_S


def test_a_close_at_the_configured_timeout_is_no_note(cases) -> None:
    kept = HandshakeOutcome(close_code=1000, elapsed_s=1.2)
    assert handshake_timeout_note(cases["frame.silent"], kept) is None


def test_a_close_well_after_it_says_the_setting_was_ignored(cases) -> None:
    late = HandshakeOutcome(close_code=1000, elapsed_s=10.1)
    note = handshake_timeout_note(cases["frame.silent"], late)
    assert note == (
        "the release ignores the configured handshake timeout (OPENCLAW_HANDSHAKE_TIMEOUT_MS=1000)"
        ": it closed the silent connection after 10.1 s (close 1000); judged as observed"
    )


def test_no_close_at_all_is_reported_too(cases) -> None:
    never = HandshakeOutcome(elapsed_s=SILENT_WAIT_S, transport_error="no answer")
    note = handshake_timeout_note(cases["frame.silent"], never)
    assert note is not None and "had not closed the silent connection after 30.0 s" in note


def test_only_silent_cases_with_a_configured_timeout_get_notes(cases) -> None:
    late = HandshakeOutcome(close_code=1000, elapsed_s=20.0)
    assert handshake_timeout_note(cases["token.loopback.no-device.cli"], late) is None
