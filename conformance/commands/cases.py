"""`openclaw-conformance cases`: list the matrix, one case a line (id, severity, axes)."""

from __future__ import annotations

import argparse
import sys

from conformance.cases.loader import CaseFileError, load_cases, packaged_case_paths


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "cases", help="list the cases of the matrix", description=__doc__
    )
    parser.add_argument(
        "--cases",
        action="append",
        default=[],
        metavar="PATH",
        help="extra case file or folder, listed with the packaged matrix; repeatable",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        cases = load_cases([*packaged_case_paths(), *args.cases])
    except CaseFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    width = max(len(c.id) for c in cases)
    for case in cases:
        axes = " ".join(f"{k}={v}" for k, v in case.axes.items())
        print(f"{case.id:<{width}}  {case.severity.value:<6}  {axes}")
    print(f"{len(cases)} cases", file=sys.stderr)
    return 0
