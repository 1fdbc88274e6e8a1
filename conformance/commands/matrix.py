"""`openclaw-conformance matrix TARGET...`: the suite against each target, one after another
(cached installs are reused), rendered as one case x target table in JSON, Markdown and HTML."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from conformance.commands.suite import run_suite, target_args
from conformance.reports import render


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="openclaw-conformance matrix", description=__doc__)
    parser.add_argument(
        "targets", nargs="+", help="reference, reference@<profile>, openclaw@<version>, or an image"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="folder for matrix.json, matrix.md, matrix.html (default: here)",
    )
    parser.add_argument(
        "--pytest-arg",
        action="append",
        default=[],
        dest="pytest_args",
        help="extra argument for every run, e.g. --pytest-arg=-m --pytest-arg=must",
    )
    args = parser.parse_args(argv)
    try:
        for target in args.targets:
            target_args(target)
    except ValueError as exc:
        parser.error(str(exc))
    started = time.monotonic()
    reports = []
    runs_dir = args.out / "runs"
    for target in args.targets:
        safe = target.replace("/", "_").replace(":", "_")
        print(f"[matrix] {target} ...", flush=True)
        run = run_suite(target, runs_dir / f"{safe}.json", extra=args.pytest_args)
        if run.report is None:
            print(f"[matrix] {target}: no report (exit {run.returncode}):\n{run.output_tail}")
            return 2
        summary = run.report["summary"]
        print(f"[matrix] {target}: {summary} in {run.seconds:.0f} s", flush=True)
        reports.append(run.report)
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
