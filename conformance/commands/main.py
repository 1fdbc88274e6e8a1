"""`openclaw-conformance`: commands around the pytest plugin.

openclaw-conformance cases [--cases PATH ...]        list the matrix: id, severity, axes
openclaw-conformance image build openclaw@VERSION    build a gateway image without a registry
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conformance.cases.loader import CaseFileError, load_cases, packaged_case_paths


def _cases(args: argparse.Namespace) -> int:
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


def _image(args: argparse.Namespace) -> int:
    from conformance.targets import image

    return image.main(args.rest)


def _matrix(args: argparse.Namespace) -> int:
    from conformance.commands import matrix as compat

    return compat.main(args.rest)


def _bisect(args: argparse.Namespace) -> int:
    from conformance.commands import bisect

    return bisect.main(args.rest)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="openclaw-conformance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("cases", help="list the cases of the matrix")
    p.add_argument("--cases", action="append", default=[], help="extra case file or folder")
    p.set_defaults(func=_cases)
    p = sub.add_parser(
        "matrix", help="run several targets, render a case x target table", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_matrix)
    p = sub.add_parser(
        "bisect", help="find the release where a case's outcome changed", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_bisect)
    p = sub.add_parser("image", help="container images (image build openclaw@VERSION)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_image)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
