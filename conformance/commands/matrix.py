"""`openclaw-conformance matrix TARGET...`: the suite against each target, one after another
(cached installs are reused), rendered as one case x target table in JSON, Markdown and HTML."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from conformance.commands.suite import run_suite, target_args


def _target(value: str) -> str:
    """A target the suite can run, checked before the first (possibly long) run starts."""
    try:
        target_args(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "matrix", help="run several targets, render a case x target table", description=__doc__
    )
    parser.add_argument(
        "targets",
        nargs="+",
        type=_target,
        metavar="TARGET",
        help="reference, reference@<profile>, openclaw@<version>, or an image",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        default=Path("."),
        help="folder for matrix.json, matrix.md, matrix.html (default: here)",
    )
    parser.add_argument(
        "--pytest-arg",
        action="append",
        default=[],
        dest="pytest_args",
        metavar="ARG",
        help="extra argument for every run, e.g. --pytest-arg=-m --pytest-arg=must",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from conformance.reports import render  # the renderer only when there is a table to render

    started = time.monotonic()
    reports = []
    runs_dir = args.out / "runs"
    for target in args.targets:
        safe = target.replace("/", "_").replace(":", "_")
        print(f"[matrix] {target} ...", flush=True)
        suite = run_suite(target, runs_dir / f"{safe}.json", extra=args.pytest_args)
        if suite.report is None:
            print(f"[matrix] {target}: no report (exit {suite.returncode}):\n{suite.output_tail}")
            return 2
        summary = suite.report["summary"]
        print(f"[matrix] {target}: {summary} in {suite.seconds:.0f} s", flush=True)
        reports.append(suite.report)
    matrix = render.matrix_from_reports(reports)
    matrix["duration_s"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "matrix.json").write_text(json.dumps(matrix, indent=2) + "\n")
    (args.out / "matrix.md").write_text(render.matrix_markdown(matrix))
    (args.out / "matrix.html").write_text(render.matrix_html(matrix))
    differing = [c["id"] for c in matrix["cases"] if c["differs"]]
    print(
        f"[matrix] {len(matrix['cases'])} cases x {len(reports)} targets, {len(differing)} rows "
        f"differ; {matrix['duration_s']} s; written to {args.out}/matrix.{{json,md,html}}"
    )
    return 0
