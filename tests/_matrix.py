"""The conformance suite run as a user runs it, in a child pytest: shared by the tests of the
plugin, the targets and the commands."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BASELINES = REPO / "cases" / "baselines"


@dataclass
class Run:
    returncode: int
    output: str
    report: dict[str, Any]

    def outcomes(self) -> dict[str, str]:
        return {c["id"]: c["outcome"] for c in self.report["cases"]}

    def ids(self, outcome: str) -> set[str]:
        return {i for i, o in self.outcomes().items() if o == outcome}

    def case(self, case_id: str) -> dict[str, Any]:
        return next(c for c in self.report["cases"] if c["id"] == case_id)


def run_matrix(tmp_path: Path, *args: str, timeout: float = 600) -> Run:
    """The conformance suite as a user runs it, in a child pytest with its own report."""
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "conformance",
            "-p",
            "no:cacheprovider",
            "-q",
            "--conformance-report",
            str(report),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
    output = proc.stdout + proc.stderr
    data = json.loads(report.read_text()) if report.exists() else {}
    return Run(proc.returncode, output, data)
