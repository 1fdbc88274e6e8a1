"""Bisect's search over releases, with a stand-in for running a release."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.commands.bisect import BisectError, Probe, between, bisect, version_key

PUBLISHED = [
    "2026.6.10",
    "2026.6.11-beta.2",
    "2026.6.11",
    "2026.6.33",
    "2026.6.34",
    "2026.6.35",
    "2026.7.1-beta.1",
    "2026.7.1",
    "2026.7.33",
    "2026.7.34",
    "2026.7.35",
    "2026.9.6",
]


def test_version_order_puts_prereleases_before_their_release() -> None:
    assert sorted(["2026.7.1", "2026.7.1-beta.1", "2026.6.35", "2026.10.1"], key=version_key) == [
        "2026.6.35",
        "2026.7.1-beta.1",
        "2026.7.1",
        "2026.10.1",
    ]


def test_between_keeps_releases_and_both_ends() -> None:
    assert between(PUBLISHED, "2026.6.11", "2026.7.35", prereleases=False) == [
        "2026.6.11",
        "2026.6.33",
        "2026.6.34",
        "2026.6.35",
        "2026.7.1",
        "2026.7.33",
        "2026.7.34",
        "2026.7.35",
    ]
    assert "2026.7.1-beta.1" in between(PUBLISHED, "2026.6.11", "2026.7.35", prereleases=True)
    with pytest.raises(BisectError, match="not a published release"):
        between(PUBLISHED, "2026.6.12", "2026.7.35", prereleases=False)
    with pytest.raises(BisectError, match="must be older"):
        between(PUBLISHED, "2026.7.35", "2026.6.11", prereleases=False)


def fake(changed_in: str, tried: list[str]):
    def run_probe(case_id: str, version: str, workdir: Path) -> Probe:
        tried.append(version)
        keeps = version_key(version) >= version_key(changed_in)
        scopes = ["operator.read"] if keeps else []
        return Probe(
            version, "passed" if keeps else "failed", {"accepted": True, "scopes": scopes}, "", 0.0
        )

    return run_probe


@pytest.mark.parametrize("changed_in", ["2026.6.33", "2026.6.35", "2026.7.1", "2026.7.35"])
def test_finds_the_first_release_that_differs(changed_in: str) -> None:
    tried: list[str] = []
    probes, before, after, n = bisect(
        "c",
        "2026.6.11",
        "2026.7.35",
        versions=PUBLISHED,
        run_probe=fake(changed_in, tried),
        progress=lambda m: None,
    )
    assert after.version == changed_in
    assert version_key(before.version) < version_key(after.version)
    assert n == 8
    assert len(tried) <= 2 + 3  # both ends, then log2(8) steps
    assert [p.version for p in probes] == tried


def test_same_behaviour_at_both_ends_is_an_error() -> None:
    with pytest.raises(BisectError, match="behaves the same"):
        bisect(
            "c",
            "2026.6.11",
            "2026.7.35",
            versions=PUBLISHED,
            run_probe=fake("2027.1.1", []),
            progress=lambda m: None,
        )
