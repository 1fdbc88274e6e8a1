"""OpenClaw release versions: one type for every place the harness reads one (target specs,
case `since`/`until`, npm specs, image tags, bisect ranges, the version a gateway reports).

OpenClaw numbers its releases by date (`2026.9.6`, `2026.3.13-beta.1`); ordering follows semver,
so a prerelease sorts before its release.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_GRAMMAR = r"(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z][0-9A-Za-z.-]*))?(?:\+([0-9A-Za-z.-]+))?"
_EXACT = re.compile(rf"^{_GRAMMAR}$")
_TAG = re.compile(rf"^v?{_GRAMMAR}$")
_LEADING = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


class VersionError(ValueError):
    """Not a release version."""


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str | None = None
    build: str | None = None

    @classmethod
    def parse(cls, text: str) -> Version:
        """An exact version (`2026.9.6`, `2026.7.1-beta.1`); anything else is a VersionError."""
        m = _EXACT.match(text) if isinstance(text, str) else None
        if not m:
            raise VersionError(f"not a release version: {text!r}")
        return cls._of(m)

    @classmethod
    def from_tag(cls, tag: str) -> Version | None:
        """A container image tag naming a release (`2026.9.6`, `v2026.9.6`), else None."""
        m = _TAG.match(tag)
        return cls._of(m) if m else None

    @classmethod
    def leading(cls, text: str | None) -> Version | None:
        """The release a reported version string starts with (`2026.9.6`, `2026.3.13 (abc)`);
        None when it starts with none. Prerelease and build are not read: a gateway's report
        of itself is compared by release only."""
        m = _LEADING.match(text) if text else None
        return cls(int(m[1]), int(m[2]), int(m[3])) if m else None

    @classmethod
    def _of(cls, m: re.Match[str]) -> Version:
        return cls(int(m[1]), int(m[2]), int(m[3]), m[4], m[5])

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def is_prerelease(self) -> bool:
        return self.prerelease is not None

    @property
    def key(self) -> tuple[int, int, int, int, str]:
        # A prerelease sorts before its release; the build part never orders.
        return (*self.release, 0 if self.prerelease else 1, self.prerelease or "")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        text = ".".join(map(str, self.release))
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.build:
            text += f"+{self.build}"
        return text


def is_exact(text: str) -> bool:
    """An exact published version (no dist-tag, no range, no `v`)."""
    try:
        Version.parse(text)
    except VersionError:
        return False
    return True
