"""The installed distribution's identity, for `--version` and for the keys of stored runs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "openclaw-conformance"


def distribution_version() -> str:
    """The installed distribution's version (the one pip reports), not a copy kept in code."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"
