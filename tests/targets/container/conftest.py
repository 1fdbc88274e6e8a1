"""Fixtures for the tests that need Docker: the locally built gateway image, the container target.

They skip, with the reason, when the docker SDK is not installed or no Docker daemon answers (run
scripts/ensure-docker), or when the release cannot be provisioned; unless
OPENCLAW_CONFORMANCE_REQUIRE_DOCKER=1 (CI on a machine that must have them), where they fail
instead. The release under test is OPENCLAW_CONFORMANCE_CONTAINER_VERSION (default 2026.9.6); its
image is built once (`openclaw-conformance/openclaw:<version>`) and is a cache hit afterwards.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any

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
    reason = images.docker_unavailable_reason()  # also says when the docker SDK is missing
    if reason:
        unavailable(f"Docker unavailable: {reason}")


@pytest.fixture(scope="session")
def docker_client(docker_ready: None) -> Iterator[Any]:
    """A docker SDK client, for the tests' own look at what the targets left."""
    client = images.docker_client()
    yield client
    client.close()


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
