"""`openclaw-conformance matrix` across two reference profiles: one table, rows that differ."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_matrix_of_two_profiles(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.commands.main",
            "matrix",
            "reference",
            "reference@2026.3.13",
            "--out",
            str(out),
            "--pytest-arg=-m",
            "--pytest-arg=device_none",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    matrix = json.loads((out / "matrix.json").read_text())
    assert matrix["schema"] == "openclaw-conformance/matrix/v1"
    assert [t["name"] for t in matrix["targets"]] == ["reference", "reference@2026.3.13"]
    rows = {c["id"]: c for c in matrix["cases"]}
    seed = rows["token.loopback.no-device.cli"]
    assert seed["differs"] is True
    assert seed["results"]["reference"]["outcome"] == "passed"
    assert seed["results"]["reference@2026.3.13"]["outcome"] == "failed"
    # a row both profiles agree on does not differ
    assert rows["token.remote.no-device.cli"]["differs"] is False
    md = (out / "matrix.md").read_text()
    assert "token.loopback.no-device.cli" in md
    html = (out / "matrix.html").read_text()
    assert html.count('class="case') >= len(rows)
    assert f"{len(rows)} cases x 2 targets" in proc.stdout
