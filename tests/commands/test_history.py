"""`matrix --releases`: which releases a history covers, resumable runs, and the history drawn
from the runs' reports (real reference runs standing in for releases, so the verdicts are the
suite's own, not values written here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.commands import main as cli
from conformance.commands import matrix as matrix_command
from conformance.commands import runs
from conformance.commands.releases import (
    ReleaseError,
    ReleaseRange,
    load_versions,
    sample,
    select,
)
from conformance.commands.suite import SuiteRun, run_suite
from conformance.reports.history import Column, history_from_columns, quiet_row
from conformance.versions import Version

PUBLISHED = [
    "0.0.1",
    "2026.2.1",
    "2026.2.26",
    "2026.3.13-beta.1",
    "2026.3.13",
    "2026.3.22",
    "2026.3.24",
    "2026.3.28",
    "2026.9.6",
    "2026.10.1",
]


def _versions(texts: list[str]) -> list[Version]:
    return sorted(Version.parse(t) for t in texts)


def _texts(versions: list[Version]) -> list[str]:
    return [str(v) for v in versions]


def _registry(tmp_path: Path, versions: list[str] = PUBLISHED) -> Path:
    path = tmp_path / "registry.json"
    document = {"name": "openclaw", "versions": {v: {"version": v} for v in versions}}
    path.write_text(json.dumps(document))
    return path


# -- which releases ----------------------------------------------------------------------------


def test_versions_order_numerically_with_prereleases_before_their_release() -> None:
    assert _texts(_versions(["2026.10.1", "2026.9.6", "2026.3.13", "2026.3.13-beta.1"])) == [
        "2026.3.13-beta.1",
        "2026.3.13",
        "2026.9.6",
        "2026.10.1",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026.2.1", "expected SINCE..UNTIL"),
        ("2026.2.1..2026.3..1", "expected SINCE..UNTIL"),
        ("2026.9..", "'2026.9' is not a version"),
        ("2026.9.6..2026.2.1", "2026.2.1 comes before 2026.9.6"),
    ],
)
def test_a_bad_range_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ReleaseError, match=message):
        ReleaseRange.parse(text)


def test_select_keeps_stable_releases_of_the_range_unless_prereleases_are_asked() -> None:
    published = _versions(PUBLISHED)
    assert _texts(select(published, ReleaseRange.parse("2026.2.26..2026.3.24"))) == [
        "2026.2.26",
        "2026.3.13",
        "2026.3.22",
        "2026.3.24",
    ]
    with_pre = select(published, ReleaseRange.parse("2026.2.26..2026.3.13"), prereleases=True)
    assert _texts(with_pre) == ["2026.2.26", "2026.3.13-beta.1", "2026.3.13"]
    # open ends; 2026.10.1 is after 2026.9.6, not between 2026.1 and 2026.2
    assert _texts(select(published, ReleaseRange.parse("2026.9.6.."))) == ["2026.9.6", "2026.10.1"]
    assert _texts(select(published, ReleaseRange.parse("..2026.2.1"))) == ["0.0.1", "2026.2.1"]
    with pytest.raises(
        ReleaseError, match=r"no published stable releases in 2026\.4\.1\.\.2026\.9\.5"
    ):
        select(published, ReleaseRange.parse("2026.4.1..2026.9.5"))


def test_sample_keeps_every_nth_the_last_and_the_named() -> None:
    chosen = select(_versions(PUBLISHED), ReleaseRange.parse("2026.2.1.."))
    assert _texts(chosen) == [
        "2026.2.1",
        "2026.2.26",
        "2026.3.13",
        "2026.3.22",
        "2026.3.24",
        "2026.3.28",
        "2026.9.6",
        "2026.10.1",
    ]
    assert _texts(sample(chosen, 3)) == ["2026.2.1", "2026.3.22", "2026.9.6", "2026.10.1"]
    assert _texts(sample(chosen, 3, ["openclaw@2026.3.13"])) == [
        "2026.2.1",
        "2026.3.13",
        "2026.3.22",
        "2026.9.6",
        "2026.10.1",
    ]
    assert sample(chosen, 1) == chosen
    with pytest.raises(ReleaseError, match=r"--include 2026\.3\.23: not among the 8 selected"):
        sample(chosen, 3, ["2026.3.23"])


def test_a_registry_document_that_is_not_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"name": "left-pad", "versions": {"1.0.0": {}}}')
    with pytest.raises(ReleaseError, match="not openclaw"):
        load_versions(path)
    path.write_text("[1, 2")
    with pytest.raises(ReleaseError, match="not JSON"):
        load_versions(path)
    with pytest.raises(ReleaseError, match=r"r2\.json"):
        load_versions(tmp_path / "r2.json")


# -- the command line --------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.commands.main", "matrix", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def test_dry_run_lists_the_sampled_releases_without_running_them(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    proc = _cli(
        "--releases", "2026.2.1..2026.9.6", "--every", "3", "--include", "2026.3.13",
        "--registry-json", str(registry), "--out", str(tmp_path / "out"), "--dry-run",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [line.split("\t") for line in proc.stdout.splitlines() if "\t" in line]
    assert lines == [
        ["openclaw@2026.2.1", "run"],
        ["openclaw@2026.3.13", "run"],
        ["openclaw@2026.3.22", "run"],
        ["openclaw@2026.9.6", "run"],
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--every", "2", "REGISTRY"], "need --releases"),
        ([], "name at least one TARGET"),
        (["--releases", "2026.2.1..", "--include", "2026.3.23"], "--include 2026.3.23: not among"),
        (["--releases", "2026.2.1..", "--every", "0"], "1 or more"),
        (["--releases", "2026.9..", "--every", "2"], "is not a version"),
    ],
)
def test_usage_errors_exit_2_with_the_reason(tmp_path: Path, args: list[str], message: str) -> None:
    registry = ["--registry-json", str(_registry(tmp_path))]
    given = [a for arg in args for a in (registry if arg == "REGISTRY" else [arg])]
    if "--releases" in args:
        given += registry
    proc = _cli(*given, "--dry-run", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr


# -- resumable runs ----------------------------------------------------------------------------


class FakeSuite:
    """Writes a report as run_suite does, recording the targets it was asked for."""

    def __init__(self, returncode: int = 0, errors: int = 0, write: bool = True) -> None:
        self.calls: list[str] = []
        self.returncode, self.errors, self.write = returncode, errors, write

    def __call__(self, target: str, report_path: Path, *, extra: list[str]) -> SuiteRun:
        self.calls.append(target)
        report = {
            "target": {"name": target},
            "summary": {"passed": 1, "errors": self.errors},
            "cases": [],
        }
        if self.write:
            report_path.parent.mkdir(parents=True, exist_ok=True)
            report_path.write_text(json.dumps(report))
        return SuiteRun(target, self.returncode, report if self.write else None, "tail", 0.1)


def test_a_finished_run_is_reused_and_anything_else_runs_again(tmp_path: Path) -> None:
    suite = FakeSuite()
    first = runs.run_target("openclaw@2026.9.6", tmp_path, ["-m", "must"], suite=suite)
    assert not first.reused and first.judged
    again = runs.run_target("openclaw@2026.9.6", tmp_path, ["-m", "must"], suite=suite)
    assert again.reused and again.report == first.report
    assert suite.calls == ["openclaw@2026.9.6"]
    # other pytest arguments, or --fresh: run again
    runs.run_target("openclaw@2026.9.6", tmp_path, ["-m", "should"], suite=suite)
    runs.run_target("openclaw@2026.9.6", tmp_path, ["-m", "should"], suite=suite, fresh=True)
    assert len(suite.calls) == 3


@pytest.mark.parametrize(
    ("suite", "judged"),
    [
        (FakeSuite(returncode=2, write=False), False),  # crashed: no report
        (FakeSuite(returncode=6), False),  # target unusable: a report that judges nothing
        (FakeSuite(returncode=8, errors=3), True),  # judged, with errors: shown, not reused
    ],
)
def test_crashed_or_erroring_runs_are_not_reused(
    tmp_path: Path, suite: FakeSuite, judged: bool
) -> None:
    first = runs.run_target("openclaw@2026.3.13", tmp_path, suite=suite)
    assert first.judged is judged
    assert (first.problem is None) is judged
    runs.run_target("openclaw@2026.3.13", tmp_path, suite=suite)
    assert suite.calls == ["openclaw@2026.3.13"] * 2


def test_a_report_made_by_other_judging_code_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = FakeSuite()
    runs.run_target("openclaw@2026.9.6", tmp_path, suite=suite)
    key = runs.run_key("openclaw@2026.9.6", [])
    monkeypatch.setattr(runs, "run_key", lambda t, a: {**key, "code": "0" * 16})
    runs.run_target("openclaw@2026.9.6", tmp_path, suite=suite)
    assert len(suite.calls) == 2


# -- the history -------------------------------------------------------------------------------


def _report(version: str, cases: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """A stored report whose cases fail with the given cause."""
    return {
        "target": {"name": f"openclaw@{version}", "version": version},
        "cases": [
            {
                "id": cid,
                "outcome": outcome,
                "axes": {},
                "refs": [],
                "problems": [{"check": "primary", "cause": cause}] if cause else [],
            }
            for cid, (outcome, cause) in cases.items()
        ],
    }


def test_ranges_follow_consecutive_releases_and_an_unjudged_one_breaks_them() -> None:
    cleared = ("failed", "scopes cleared")
    columns = [
        Column("openclaw@2026.3.13", _report("2026.3.13", {"a": cleared, "b": cleared})),
        Column("openclaw@2026.3.22", _report("2026.3.22", {"a": cleared, "b": ("passed", "")})),
        Column("openclaw@2026.3.24", None, problem="no report (exit 2)"),
        Column("openclaw@2026.3.28", _report("2026.3.28", {"a": cleared, "b": ("passed", "")})),
        Column(
            "openclaw@2026.9.6", _report("2026.9.6", {"a": ("passed", ""), "b": ("passed", "")})
        ),
    ]
    history = history_from_columns(columns)
    (group,) = history["groups"]
    assert group["signature"] == "scopes cleared" and group["releases"] == 3
    assert [(s["text"], s["counts"]) for s in group["spans"]] == [
        ("2026.3.13\u20132026.3.22", [2, 1]),
        ("2026.3.28", [1]),
    ]
    assert group["spans"][0]["count_text"] == "1\u20132 cases"
    assert [r["judged"] for r in history["releases"]] == [True, True, False, True, True]
    # the change is seen where it happened, comparing judged releases only
    assert [(c["label"], c["gone"]) for c in history["changes"]] == [
        ("2026.9.6", [{"kind": "failure", "signature": "scopes cleared"}])
    ]


def test_quiet_rows_are_those_every_judged_target_passed() -> None:
    row = {"results": {"a": {"outcome": "passed"}, "b": {"outcome": "skipped"}, "c": None}}
    assert quiet_row(row, ["a", "b", "c"])
    row["results"]["c"] = {"outcome": "xfailed"}
    assert not quiet_row(row, ["a", "b", "c"])
    assert quiet_row(row, ["a", "b"])  # c was not judged


# -- end to end: real reference runs stand in for releases --------------------------------------

STAND_INS = {"openclaw@2026.3.13": "reference@2026.3.13", "openclaw@2026.9.6": "reference"}


def test_history_end_to_end_resumes_and_marks_the_release_it_could_not_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []

    def fake_run_suite(target: str, report_path: Path, *, extra: list[str]) -> SuiteRun:
        calls.append(target)
        if target not in STAND_INS:  # this release's run crashes: no report
            return SuiteRun(target, 3, None, "INTERNALERROR> boom", 0.1)
        run = run_suite(STAND_INS[target], report_path, extra=extra)
        assert run.report is not None, run.output_tail
        version = target.split("@", 1)[1]
        run.report["target"].update(name=target, version=version)
        report_path.write_text(json.dumps(run.report))
        return SuiteRun(target, run.returncode, run.report, run.output_tail, run.seconds)

    monkeypatch.setattr(matrix_command, "run_suite", fake_run_suite)
    registry = _registry(tmp_path, ["2026.3.13", "2026.3.22", "2026.9.6"])
    out = tmp_path / "out"
    argv = [
        "matrix", "--releases", "2026.3.13..2026.9.6", "--registry-json", str(registry),
        "--out", str(out), "--pytest-arg=-m", "--pytest-arg=device_none",
    ]  # fmt: skip
    assert cli.main(argv) == matrix_command.EXIT_NOT_ALL_JUDGED
    # targets run two at a time (--jobs 2): each once, in no fixed order
    assert sorted(calls) == ["openclaw@2026.3.13", "openclaw@2026.3.22", "openclaw@2026.9.6"]
    assert "openclaw@2026.3.22: NOT JUDGED, no report (exit 3)" in capsys.readouterr().out

    matrix = json.loads((out / "matrix.json").read_text())
    history = matrix["history"]
    assert [(r["label"], r["judged"]) for r in history["releases"]] == [
        ("2026.3.13", True),
        ("2026.3.22", False),
        ("2026.9.6", True),
    ]
    # the seed bug (device-less local CLI scopes cleared) is 2026.3.13's alone, and the 3.22
    # column, not judged, ends its range there
    cleared = [
        g for g in history["groups"]
        if g["kind"] == "failure"
        and any("token.loopback.no-device.cli" in s["cases"] for s in g["spans"])
    ]  # fmt: skip
    assert cleared and all([s["text"] for s in g["spans"]] == ["2026.3.13"] for g in cleared), (
        cleared
    )
    rows = {c["id"]: c for c in matrix["cases"]}
    assert rows["token.loopback.no-device.cli"]["results"]["openclaw@2026.3.22"] is None
    md = (out / "matrix.md").read_text()
    assert "not judged: no report (exit 3)" in md
    assert "`token.loopback.no-device.cli`" in md
    # rows every release passed are left out of the Markdown table, and counted
    quiet = [
        c["id"]
        for c in matrix["cases"]
        if quiet_row(c, ["openclaw@2026.3.13", "openclaw@2026.9.6"])
    ]
    assert quiet and f"{len(quiet)} rows every release passed are not shown" in md
    assert f"`{quiet[0]}`" not in md
    assert 'id="history"' in (out / "matrix.html").read_text()

    # a second run reuses both judged releases and runs only the crashed one again
    calls.clear()
    assert cli.main(argv) == matrix_command.EXIT_NOT_ALL_JUDGED
    assert calls == ["openclaw@2026.3.22"]
    assert json.loads((out / "matrix.json").read_text())["runs"]["reused"] == 2
