"""Resumable runs for the commands that run the suite once per target (`matrix`).

Each target's report lands in `OUT/runs/<target>.json`, with a `.key.json` beside it naming
what produced it: the target, the harness version, a digest of the harness's code and of the
packaged cases, and the extra pytest arguments. A later run with the same key reuses the
report instead of running the target again; a run that crashed (no report, an exit pytest
gives for trouble of its own), that could not judge some cases (errors), or that was made by
other code or other cases is run again. A long history interrupted half-way therefore resumes
where it stopped, and never presents an old verdict as a new one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.commands.distribution import distribution_version
from conformance.commands.suite import SuiteRun, run_suite
from conformance.plugin.exitcodes import EXIT_NOT_JUDGED

# Exits after which every case has an outcome in the report: passed (0), departures (1), some
# cases not judged (8). Anything else (interrupted, internal error, target unusable, a timeout)
# means the report, if any, does not judge the target.
JUDGED_EXIT = (0, 1, EXIT_NOT_JUDGED)
# Only a run that judged every case is kept for reuse: errors are the harness's trouble and
# may be gone next time.
REUSABLE_EXIT = (0, 1)
KEY_SCHEMA = "openclaw-conformance/run-key/v1"

SuiteFn = Callable[..., SuiteRun]


# What only renders or orchestrates runs: changing it changes no verdict in a stored report, so
# a history re-rendered after a renderer fix still reuses its runs.
NOT_JUDGING = (
    "commands/",
    "reports/html.py",
    "reports/markdown.py",
    "reports/matrix.py",
    "reports/history.py",
    "reports/render.py",
    "reports/templates/",
    "reports/static/",
)


@functools.cache  # the tree does not change during one command; a history keys every target
def _digest(roots: tuple[Path, ...], suffixes: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for root in roots:
        files = sorted(p for p in root.rglob("*") if p.suffix in suffixes and p.is_file())
        for path in files:
            rel = path.relative_to(root).as_posix()
            if root.name == "conformance" and rel.startswith(NOT_JUDGING):
                continue
            h.update(rel.encode())
            h.update(b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def code_roots(target: str) -> tuple[Path, ...]:
    """What judges a target: the harness (less NOT_JUDGING); for a reference target, the
    reference gateway too (the target itself)."""
    import conformance
    import reference_gateway

    harness = Path(conformance.__file__).parent
    if target.split("@", 1)[0] == "reference":
        return (harness, Path(reference_gateway.__file__).parent)
    return (harness,)


def case_roots() -> tuple[Path, ...]:
    import conformance_cases

    return (Path(conformance_cases.__file__).parent,)


def run_key(target: str, pytest_args: Sequence[str]) -> dict[str, Any]:
    return {
        "schema": KEY_SCHEMA,
        "target": target,
        "harness": distribution_version(),
        "code": _digest(code_roots(target), (".py",)),
        "cases": _digest(case_roots(), (".yaml", ".json")),
        "pytest_args": list(pytest_args),
    }


def safe_name(target: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "@.-_" else "_" for ch in target)


@dataclass(frozen=True)
class TargetRun:
    target: str
    report: dict[str, Any] | None
    returncode: int | None  # None: reused, not run now
    seconds: float  # this invocation's time for the target (0 when reused)
    reused: bool
    output_tail: str = ""

    @property
    def judged(self) -> bool:
        return self.report is not None and (self.reused or self.returncode in JUDGED_EXIT)

    @property
    def problem(self) -> str | None:
        """Why the target has no usable column, or None."""
        if self.judged:
            return None
        if self.report is None:
            return f"no report (exit {self.returncode})"
        return f"the run ended with exit {self.returncode}, which does not judge the target"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def reusable(report_path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The stored report, if it was made with exactly this key by a run that judged every
    case; None otherwise."""
    stored = _read_json(report_path.with_suffix(".key.json"))
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    if stored.get("returncode") not in REUSABLE_EXIT:
        return None
    report = _read_json(report_path)
    if not isinstance(report, dict):
        return None
    if (report.get("summary") or {}).get("errors", 0):
        return None
    return report


def run_target(
    target: str,
    runs_dir: Path,
    pytest_args: Sequence[str] = (),
    *,
    fresh: bool = False,
    suite: SuiteFn = run_suite,
) -> TargetRun:
    report_path = runs_dir / f"{safe_name(target)}.json"
    key_path = report_path.with_suffix(".key.json")
    key = run_key(target, pytest_args)
    if not fresh:
        report = reusable(report_path, key)
        if report is not None:
            return TargetRun(target, report, None, 0.0, reused=True)
    key_path.unlink(missing_ok=True)  # a run cut short must not leave the old key behind
    started = time.monotonic()
    run = suite(target, report_path, extra=list(pytest_args))
    seconds = time.monotonic() - started
    report = run.report
    if report is not None:
        key_path.write_text(
            json.dumps({"key": key, "returncode": run.returncode, "seconds": round(seconds, 1)})
            + "\n"
        )
    return TargetRun(target, report, run.returncode, seconds, False, run.output_tail)
