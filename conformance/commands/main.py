"""`openclaw-conformance`: commands around the pytest plugin.

openclaw-conformance cases [--cases PATH ...]          list the matrix: id, severity, axes
openclaw-conformance matrix TARGET... [--out DIR]      the suite per target, one case x target table
openclaw-conformance matrix --releases SINCE..UNTIL    the same over releases, with history
openclaw-conformance bisect CASE --good V --bad V      the release where a case's outcome changed
openclaw-conformance image build openclaw@VERSION      build a gateway image without a registry

One parser holds every subcommand, so each has its own `--help` and a bad argument is a usage
error (exit 2) naming the subcommand. The suite itself runs under pytest: `pytest --pyargs
conformance`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from conformance.commands import bisect, cases, image, matrix
from conformance.commands.distribution import distribution_version


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openclaw-conformance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {distribution_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (cases, matrix, bisect, image):
        command.add_parser(subparsers)
    return parser


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # SIGTERM ends a command as Ctrl-C does: each child run is stopped cleanly (suite.py).
        signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _terminate)  # never a swallowed asyncio cancellation
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("openclaw-conformance: interrupted; child runs stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `openclaw-conformance cases | head`: the reader left; no traceback, and no second
        # error when Python flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports it


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
