"""Fixtures shared across the harness's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._matrix import run_matrix


@pytest.fixture
def matrix(tmp_path: Path):
    """Run the conformance suite in a child pytest under `tmp_path`: `matrix("--gateway", ...)`."""
    return lambda *args, **kw: run_matrix(tmp_path, *args, **kw)
