"""`conformance.versions`: the one release-version type."""

from __future__ import annotations

import pytest

from conformance.versions import Version, VersionError, is_exact


@pytest.mark.parametrize(
    ("text", "release", "pre"),
    [
        ("2026.9.6", (2026, 9, 6), None),
        ("2026.3.13-beta.1", (2026, 3, 13), "beta.1"),
        ("2026.7.1+build.5", (2026, 7, 1), None),
    ],
)
def test_parse(text: str, release: tuple[int, int, int], pre: str | None) -> None:
    v = Version.parse(text)
    assert v.release == release
    assert v.prerelease == pre
    assert str(v) == text


@pytest.mark.parametrize("text", ["latest", "2026.9", "v2026.9.6", "2026.9.6-", "^2026.9.6", ""])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(VersionError, match="not a release version"):
        Version.parse(text)
    assert not is_exact(text)


def test_prerelease_sorts_before_its_release_and_numbers_compare_as_numbers() -> None:
    given = ["2026.10.1", "2026.7.1", "2026.7.1-beta.1", "2026.6.35"]
    assert [str(v) for v in sorted(map(Version.parse, given))] == [
        "2026.6.35",
        "2026.7.1-beta.1",
        "2026.7.1",
        "2026.10.1",
    ]
    assert Version.parse("2026.7.1+a") == Version.parse("2026.7.1+b")


def test_tags_and_reported_versions() -> None:
    assert Version.from_tag("v2026.9.6") == Version.parse("2026.9.6")
    assert Version.from_tag("latest") is None
    assert Version.leading("2026.3.13 (abc123)") == Version.parse("2026.3.13")
    assert Version.leading("dev") is None
    assert Version.leading(None) is None
