"""An image import cut short is never tagged: a later build must not take it as built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.targets import image


def test_a_failed_root_filesystem_tar_leaves_no_tagged_image(
    tmp_path: Path, docker_client: Any
) -> None:
    staging = tmp_path / "staging"
    (staging / "etc").mkdir(parents=True)
    (staging / "etc" / "hostname").write_text("partial\n")
    release_root = tmp_path / "release"  # no node_modules: tar fails after the staging part
    release_root.mkdir()
    tag = "openclaw-conformance/partial-test:0.0.0"
    before = {i.id for i in docker_client.images.list(all=True)}
    with pytest.raises(image.ImageBuildError, match="tar of the root filesystem failed"):
        image._import(staging, release_root, tag, "0.0.0")
    assert image.image_labels(tag) is None  # not tagged
    after = {i.id for i in docker_client.images.list(all=True)}
    assert after <= before  # and the untagged partial import was removed
