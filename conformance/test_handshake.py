"""The conformance matrix: one test per YAML case (ids are the case ids)."""

from __future__ import annotations

import pytest

from conformance.cases.model import Case
from conformance.plugin.execution import run_conformance_case
from conformance.plugin.session import ConformanceSession


def test_handshake(
    conformance_case: Case, conformance_session: ConformanceSession, request: pytest.FixtureRequest
) -> None:
    run_conformance_case(conformance_case, conformance_session, request.node)
