"""What each harness session created and must remove, on disk, so that a session killed with
SIGKILL is cleaned up by the next one (by this record, never by process name).

A session's record (`<cache>/sessions/<pid>-<start>.json`) lists its gateway process groups
(each leader's pid and start time, so a recycled pid is never signalled), network namespaces
with their veth, temp folders and containers. Entries are added when created and dropped when
removed; the record goes when the session ends cleanly. `sweep()` removes, for every record
whose session is no longer alive, everything it still lists, and says what it removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from conformance.targets.npmcache import cache_dir
from conformance.targets.proctree import descendants

KINDS = ("process", "netns", "folder", "container")


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22); None when
    there is no such process or it is a zombie (dead, waiting to be reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def _alive(pid: int, started: int | None) -> bool:
    return started is not None and _start_time(pid) == started


class Registry:
    """This process's record. Thread-safe; every change is written at once (atomically)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or (cache_dir() / "sessions")
        self.pid = os.getpid()
        self.started = _start_time(self.pid)
        self.path = self.root / f"{self.pid}-{self.started}.json"
        self._lock = threading.Lock()
        self._entries: dict[str, list[Any]] = {k: [] for k in KINDS}

    def add(self, kind: str, value: Any) -> None:
        with self._lock:
            if value not in self._entries[kind]:
                self._entries[kind].append(value)
            self._write()

    def discard(self, kind: str, value: Any) -> None:
        with self._lock:
            with contextlib.suppress(ValueError):
                self._entries[kind].remove(value)
            self._write()

    def add_process(self, pid: int) -> None:
        self.add("process", [pid, _start_time(pid)])

    def discard_process(self, pid: int) -> None:
        with self._lock:
            self._entries["process"] = [e for e in self._entries["process"] if e[0] != pid]
            self._write()

    def close(self) -> None:
        """The session ended; what it still lists is removed by whoever removes it."""
        with self._lock:
            if not any(self._entries.values()):
                with contextlib.suppress(OSError):
                    self.path.unlink()

    def _write(self) -> None:
        data = {"pid": self.pid, "started": self.started, **self._entries}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.path)
        except OSError:
            pass  # an unwritable cache only loses the sweep after a SIGKILL


_current: Registry | None = None
_current_lock = threading.Lock()


def current() -> Registry:
    global _current
    with _current_lock:
        if _current is None or _current.pid != os.getpid():  # a forked child has its own
            _current = Registry()
        return _current


def sweep(root: Path | None = None) -> list[str]:
    """Remove what dead sessions left; one line per thing removed."""
    root = root or (cache_dir() / "sessions")
    lines: list[str] = []
    for record in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        if _alive(int(data.get("pid", 0)), data.get("started")):
            continue  # a session running now (another terminal, an xdist worker)
        lines += _remove(data, record.name)
        with contextlib.suppress(OSError):
            record.unlink()
    return lines


def _remove(data: dict[str, Any], name: str) -> list[str]:
    lines = []
    for pid, started in data.get("process") or []:
        if not _alive(pid, started):
            continue
        tree = [pid, *descendants(pid)]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        for p in tree:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGKILL)
        lines.append(f"killed gateway process group {pid} ({len(tree)} processes)")
    for netns in data.get("netns") or []:
        ns, veth = (netns, None) if isinstance(netns, str) else netns
        if veth:
            subprocess.run(["ip", "link", "del", veth], capture_output=True, timeout=10,
                           check=False)  # fmt: skip
        done = subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10,
                              check=False)  # fmt: skip
        if done.returncode == 0:
            lines.append(f"deleted network namespace {ns}" + (f" and veth {veth}" if veth else ""))
    for container in data.get("container") or []:
        done = subprocess.run(["docker", "rm", "-f", container], capture_output=True, timeout=60,
                              check=False)  # fmt: skip
        if done.returncode == 0:
            lines.append(f"removed container {container}")
    for folder in data.get("folder") or []:
        if Path(folder).exists():
            shutil.rmtree(folder, ignore_errors=True)
            lines.append(f"removed folder {folder}")
    return [f"swept session {name}: {line}" for line in lines]
