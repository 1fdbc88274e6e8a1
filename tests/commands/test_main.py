"""The `openclaw-conformance` parser: every subcommand has its own --help, --version is the
installed distribution's, and a bad argument is a one-line usage error naming the subcommand."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from conformance.commands.main import main

# (argv before --help, options and arguments its usage must name)
HELP = [
    ([], ["COMMAND", "--version", "cases", "matrix", "bisect", "image"]),
    (["cases"], ["--cases PATH"]),
    (["matrix"], ["TARGET", "--out DIR", "--pytest-arg ARG"]),
    (["bisect"], ["CASE", "--good GOOD", "--bad BAD", "--prereleases"]),
    (["image"], ["ACTION", "build"]),
    (["image", "build"], ["RELEASE", "--tag TAG", "--cache DIR", "--force"]),
]


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


@pytest.mark.parametrize(("command", "names"), HELP, ids=lambda v: " ".join(v) or "top")
def test_every_subcommand_has_help(
    command: list[str], names: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code([*command, "--help"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"usage: {' '.join(['openclaw-conformance', *command])} [-h]"), out
    for name in names:
        assert name in out, f"{name!r} missing from the help of {command}:\n{out}"
    assert err == ""


def test_version_is_the_installed_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["--version"]) == 0
    assert capsys.readouterr().out == f"openclaw-conformance {version('openclaw-conformance')}\n"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        ([], "openclaw-conformance: error: the following arguments are required: COMMAND"),
        (["frob"], "openclaw-conformance: error: argument COMMAND: invalid choice: 'frob'"),
        (["cases", "--bogus"], "openclaw-conformance: error: unrecognized arguments: --bogus"),
        (["matrix"], "openclaw-conformance matrix: error: name at least one TARGET, or --releases"),
        (
            ["matrix", "not-a-target"],
            "openclaw-conformance matrix: error: argument TARGET: target 'not-a-target': expected",
        ),
        (
            ["bisect", "some.case", "--good", "2026.3.13"],
            "openclaw-conformance bisect: error: the following arguments are required: --bad",
        ),
        (["image"], "openclaw-conformance image: error: the following arguments are required"),
        (
            ["image", "build", "openclaw@2026.9.6", "--tag"],
            "openclaw-conformance image build: error: argument --tag: expected one argument",
        ),
    ],
)
def test_bad_argument_is_a_usage_error(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith("usage: openclaw-conformance"), err
    # the usage, then exactly one line that says what is wrong
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1 and errors[0] == lines[-1], err
    assert lines[-1].startswith(error), err


def test_cases_lists_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cases"]) == 0
    out, err = capsys.readouterr()
    ids = [line.split()[0] for line in out.splitlines()]
    assert len(ids) == len(set(ids)) > 100
    assert "token.loopback.no-device.cli" in ids
    assert err == f"{len(ids)} cases\n"


def test_console_script_runs_the_same_parser() -> None:
    """The installed entry point as a user types it, and `python -m`."""
    script = Path(sys.executable).with_name("openclaw-conformance")
    assert script.exists(), f"{script}: the package is not installed in this environment"
    for launcher, command in (
        ([str(script)], ["matrix"]),
        ([sys.executable, "-m", "conformance.commands.main"], ["image", "build"]),
    ):
        proc = subprocess.run(
            [*launcher, *command, "--help"], capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stderr
        usage = f"usage: openclaw-conformance {' '.join(command)} [-h]"
        assert proc.stdout.startswith(usage), proc.stdout


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    # `openclaw-conformance cases | head -1`
    proc = subprocess.run(
        f"{sys.executable} -m conformance.commands.main cases | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
