"""The release's own CLI against the gateway under test (npm and container targets)."""

from __future__ import annotations

import pytest

from conformance.cases.model import CliCase
from conformance.plugin.execution import run_cli_case
from conformance.plugin.session import ConformanceSession


def test_cli(
    conformance_cli_case: CliCase,
    conformance_session: ConformanceSession,
    request: pytest.FixtureRequest,
) -> None:
    run_cli_case(conformance_cli_case, conformance_session, request.node)
