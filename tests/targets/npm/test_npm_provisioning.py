"""Provisioning of Node and releases: cache location, idempotence, locking, atomic failures."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from conformance.targets import npmcache as provisioning


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(provisioning.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert provisioning.cache_dir() == tmp_path / "xdg" / "openclaw-conformance"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert provisioning.cache_dir() == Path.home() / ".cache" / "openclaw-conformance"
    monkeypatch.setenv(provisioning.CACHE_ENV, str(tmp_path / "env"))
    assert provisioning.cache_dir() == tmp_path / "env"
    assert provisioning.cache_dir(tmp_path / "arg") == tmp_path / "arg"


@pytest.mark.parametrize(
    ("given", "spec"),
    [("2026.9.6", "2026.9.6"), ("openclaw@2026.3.13", "2026.3.13"), ("openclaw@", "latest")],
)
def test_normalize_spec(given: str, spec: str) -> None:
    assert provisioning.normalize_spec(given) == spec


def test_lock_serialises_installers(tmp_path: Path) -> None:
    # flock is per open file, so two threads of one process contend like two xdist workers.
    lock = tmp_path / ".x.lock"
    events: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with provisioning._locked(lock, "x", events.append):
            events.append("first in")
            holding.set()
            time.sleep(0.8)
            events.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with provisioning._locked(lock, "x", events.append):
        events.append("second in")
    thread.join()
    assert events == [
        "first in",
        "waiting for another process installing x...",
        "first out",
        "second in",
    ]


def test_ensure_release_is_idempotent(release: Path, npm_version: str) -> None:
    lines: list[str] = []
    started = time.monotonic()
    again = provisioning.ensure_release(npm_version, progress=lines.append)
    elapsed = time.monotonic() - started
    assert again == release
    assert provisioning.entry_point(again).is_file()
    assert elapsed < 1.0, f"cache hit took {elapsed:.2f} s"
    assert lines == []  # nothing installed, nothing to say


def test_failed_install_leaves_nothing(
    tmp_path: Path, node_bin: Path, npm_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reuse the Node already provisioned instead of pip-installing it into this empty cache.
    monkeypatch.setattr(provisioning, "ensure_node", lambda *a, **k: node_bin)
    missing = "0.0.1-no-such-version.0"
    with pytest.raises(provisioning.ProvisioningError) as info:
        provisioning.ensure_release(missing, tmp_path, progress=lambda line: None)
    message = str(info.value)
    assert f"npm install openclaw@{missing} failed" in message
    assert "npm" in message.split("\n", 1)[1]  # npm's own stderr tail follows
    leftovers = sorted(p.name for p in (tmp_path / "openclaw").iterdir())
    assert leftovers == [f".{missing}.lock"], leftovers  # no release, no temp folder
