"""Which OpenClaw releases a history run covers: the published versions (from the npm registry,
or a saved copy of its document), a `SINCE..UNTIL` range over them, stable only unless asked,
sampled every N releases with the range's ends and named releases always kept.

Pure functions over the registry's version list; the one network read is `fetch_versions`,
bounded in time and size.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.targets.npmcache import PACKAGE
from conformance.versions import Version, VersionError

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
FETCH_TIMEOUT_S = 60.0
# The full openclaw document is about 10 MB; a reply far past that is not the registry's.
MAX_DOCUMENT_BYTES = 200 * 1024 * 1024


class ReleaseError(ValueError):
    """A range, a sample or a registry document that cannot give a list of releases."""


def _parse(text: str) -> Version | None:
    try:
        return Version.parse(text.strip())
    except VersionError:
        return None


@dataclass(frozen=True)
class ReleaseRange:
    """`SINCE..UNTIL`, both ends included; either end may be left open (`2026.2.1..`)."""

    since: Version | None
    until: Version | None

    @classmethod
    def parse(cls, text: str) -> ReleaseRange:
        if text.count("..") != 1:
            raise ReleaseError(
                f"release range {text!r}: expected SINCE..UNTIL, e.g. 2026.2.1..2026.9.6 "
                "(either end may be left out)"
            )
        ends: list[Version | None] = []
        for end in text.split(".."):
            end = end.strip().removeprefix(f"{PACKAGE}@")
            if not end:
                ends.append(None)
                continue
            version = _parse(end)
            if version is None:
                raise ReleaseError(
                    f"release range {text!r}: {end!r} is not a version such as 2026.9.6"
                )
            ends.append(version)
        since, until = ends
        if since is not None and until is not None and until < since:
            raise ReleaseError(f"release range {text!r}: {until} comes before {since}")
        return cls(since, until)

    def __contains__(self, version: Version) -> bool:
        # An end given as a release (2026.3.13) holds that release's prereleases too, when
        # they are asked for; an end given as a prerelease is exact.
        since, until = self.since, self.until
        if since is not None and (
            version < since if since.is_prerelease else version.release < since.release
        ):
            return False
        return until is None or (
            not version > until if until.is_prerelease else version.release <= until.release
        )

    def __str__(self) -> str:
        return f"{self.since or ''}..{self.until or ''}"


def versions_from_document(document: object, source: str) -> list[Version]:
    """The published versions of a registry document (`GET <registry>/openclaw`)."""
    if not isinstance(document, dict) or not isinstance(document.get("versions"), dict):
        raise ReleaseError(f"{source}: not an npm registry document (no `versions` object)")
    if document.get("name") not in (None, PACKAGE):
        raise ReleaseError(f"{source}: the document is for {document.get('name')!r}, not openclaw")
    versions = [v for v in (_parse(str(k)) for k in document["versions"]) if v]
    if not versions:
        raise ReleaseError(f"{source}: the document lists no versions")
    return sorted(versions)


def load_versions(path: Path) -> list[Version]:
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise ReleaseError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ReleaseError(f"{path}: not JSON ({exc})") from None
    return versions_from_document(document, str(path))


def fetch_versions(
    registry: str = DEFAULT_REGISTRY, timeout: float = FETCH_TIMEOUT_S
) -> list[Version]:
    url = registry.rstrip("/") + f"/{PACKAGE}"
    # The abbreviated document lists every version without their manifests' full text.
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.npm.install-v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read(MAX_DOCUMENT_BYTES + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ReleaseError(f"cannot read {url}: {getattr(exc, 'reason', exc)}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ReleaseError(f"{url}: the reply is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ReleaseError(f"{url}: not JSON ({exc})") from None
    return versions_from_document(document, url)


def select(
    versions: Iterable[Version], within: ReleaseRange, *, prereleases: bool = False
) -> list[Version]:
    """The versions inside the range, in release order; stable ones only unless asked."""
    chosen = sorted({v for v in versions if v in within and (prereleases or not v.is_prerelease)})
    if not chosen:
        kind = "releases" if prereleases else "stable releases"
        raise ReleaseError(f"no published {kind} in {within}")
    return chosen


def sample(
    selected: Sequence[Version], every: int = 1, include: Sequence[str] = ()
) -> list[Version]:
    """Every `every`-th release from the first, the last one always, and the named ones.

    A named release outside the selection is an error, never dropped silently: a history that
    was asked for 2026.3.13 must show it or say why not."""
    if every < 1:
        raise ReleaseError(f"--every {every}: must be 1 or more")
    if not selected:
        raise ReleaseError("no releases to sample")
    kept = set(selected[::every]) | {selected[-1]}
    by_text = {str(v): v for v in selected}
    for name in include:
        text = name.strip().removeprefix(f"{PACKAGE}@")
        if text not in by_text:
            raise ReleaseError(
                f"--include {name}: not among the {len(selected)} selected releases "
                f"({selected[0]} to {selected[-1]})"
            )
        kept.add(by_text[text])
    return sorted(kept)
