"""Fixtures for the tests that need Docker: the locally built gateway image, the container target.

They skip, with the reason, when no Docker daemon answers (run scripts/ensure-docker), when
testcontainers is not installed, or when the release cannot be provisioned; unless
OPENCLAW_CONFORMANCE_REQUIRE_DOCKER=1 (CI on a machine that must have them), where they fail
instead. The release under test is OPENCLAW_CONFORMANCE_CONTAINER_VERSION (default 2026.9.6); its
image is built once (`openclaw-conformance/openclaw:<version>`) and is a cache hit afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time

import pytest

from conformance.targets import image as images
from conformance.targets import npmcache as provisioning

VERSION = os.environ.get("OPENCLAW_CONFORMANCE_CONTAINER_VERSION", "2026.9.6")
REQUIRE = os.environ.get("OPENCLAW_CONFORMANCE_REQUIRE_DOCKER") == "1"


def unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason} (and OPENCLAW_CONFORMANCE_REQUIRE_DOCKER=1)", pytrace=False)
    pytest.skip(reason)


def _progress(line: str) -> None:
    # Straight to the real stderr: a first build (npm install + import) must say what it does.
    print(f"[container tests] {line}", file=sys.__stderr__, flush=True)


@pytest.fixture(scope="session")
def progress() -> provisioning.ProgressFn:
    return _progress


@pytest.fixture(scope="session")
def docker_ready() -> None:
    reason = images.docker_unavailable_reason()
    if reason:
        unavailable(f"Docker unavailable: {reason}")
    if importlib.util.find_spec("testcontainers") is None:
        unavailable(
            "testcontainers is not installed (pip install 'openclaw-conformance[container]')"
        )


@pytest.fixture(scope="session")
def container_version() -> str:
    return VERSION


@pytest.fixture(scope="session")
def built_image(docker_ready: None) -> dict[str, object]:
    """The image of the release under test, built once; with how long that first call took."""
    lines: list[str] = []

    def record(line: str) -> None:
        lines.append(line)
        _progress(line)

    started = time.monotonic()
    try:
        tag = images.build_image(VERSION, progress=record)
    except (images.ImageBuildError, provisioning.ProvisioningError, OSError) as exc:
        unavailable(f"cannot build the gateway image of openclaw@{VERSION}: {exc}")
        raise  # unreachable
    return {"tag": tag, "seconds": time.monotonic() - started, "progress": lines}


@pytest.fixture(scope="session")
def image_tag(built_image: dict[str, object]) -> str:
    return str(built_image["tag"])
