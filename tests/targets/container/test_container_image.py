"""`conformance.targets.image`: a runnable gateway image built without a registry, cached by tag."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conformance.commands.main import main as cli
from conformance.targets import image as images


def test_second_build_is_a_cache_hit(
    image_tag: str, container_version: str, docker_client: Any
) -> None:
    before = docker_client.api.inspect_image(image_tag)["Id"]
    lines: list[str] = []
    started = time.monotonic()
    again = images.build_image(container_version, progress=lines.append)
    elapsed = time.monotonic() - started
    assert again == image_tag == images.default_tag(container_version)
    assert docker_client.api.inspect_image(image_tag)["Id"] == before  # not rebuilt
    assert any("already built" in line for line in lines), lines
    assert elapsed < 5, f"a cache hit took {elapsed:.1f} s"


def test_image_shape(image_tag: str, container_version: str, docker_client: Any) -> None:
    info = docker_client.api.inspect_image(image_tag)
    config = info["Config"]
    labels = config["Labels"]
    assert labels[images.LABEL_VERSION] == container_version
    assert labels[images.OCI_VERSION] == container_version
    assert labels[images.LABEL_FORMAT] == images.IMAGE_FORMAT
    # Like the official image: running it with no command starts the gateway from /app.
    assert config["WorkingDir"] == images.APP_DIR
    assert config["Entrypoint"] == ["node", f"{images.APP_DIR}/openclaw.mjs"]
    assert config["Cmd"] == ["gateway", "--allow-unconfigured"]
    # One imported layer: no base image was pulled from anywhere.
    assert len(info["RootFS"]["Layers"]) == 1


def test_image_node_runs(image_tag: str, docker_client: Any) -> None:
    """The node binary, its libraries and the loader are all in the image."""
    # A non-zero exit raises ContainerError, with the container's stderr.
    out = docker_client.containers.run(
        image_tag, ["-e", "console.log(process.version, require('os').userInfo().username)"],
        entrypoint="node", remove=True,
    ).decode()  # fmt: skip
    assert out.startswith("v24.") and out.split()[1] == "root", out


def test_cli_build_prints_the_tag(
    image_tag: str, container_version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["image", "build", f"openclaw@{container_version}"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == image_tag
    assert "already built" in err


def test_build_without_docker_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "docker_unavailable_reason", lambda: "no Docker daemon here")
    with pytest.raises(images.ImageBuildError, match="no Docker daemon here"):
        images.build_image("2026.9.6", progress=lambda _line: None)
    assert cli(["image", "build", "openclaw@2026.9.6"]) == 1
