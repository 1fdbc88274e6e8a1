"""`openclaw-conformance matrix [TARGET...] [--releases SINCE..UNTIL]`: the suite against each
target, one after another (cached installs are reused), rendered as one case x target table in
JSON, Markdown and HTML.

With `--releases`, the targets are the published OpenClaw releases in that range (stable ones
unless --prereleases; every N-th with --every N, the range's last release and every --include
always kept), in release order, and the matrix gains the contract's history: per release its
counts, and each failure group with the ranges of releases where it shows.

Runs are resumable: each target's report is kept in OUT/runs/ and reused by a later run with
the same harness, cases and pytest arguments (conformance.commands.runs); --fresh runs every
target again. A target that could not be judged is still a column, marked with the reason,
and makes the command exit 3.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conformance.commands import releases as rel
from conformance.commands import runs
from conformance.commands.suite import run_suite, target_args

EXIT_NOT_ALL_JUDGED = 3  # every table was written, but some target has no judged column


# Two targets at a time on this kind of machine (2 cores): a release's gateway starts beside
# another's cases. Each run is its own pytest, so they share nothing but the CPU.
JOBS = 2


def _target(value: str) -> str:
    """A target the suite can run, checked before the first (possibly long) run starts."""
    try:
        target_args(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _range(value: str) -> rel.ReleaseRange:
    try:
        return rel.ReleaseRange.parse(value)
    except rel.ReleaseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _every(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: a whole number, 1 or more")
    return n


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "matrix",
        help="run several targets (or a range of releases), render a case x target table",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "targets",
        nargs="*",
        type=_target,
        metavar="TARGET",
        help="reference, reference@<profile>, openclaw@<version>, or an image; with "
        "--releases, extra columns before the releases",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        default=Path("."),
        help="folder for matrix.json, matrix.md, matrix.html and runs/ (default: here)",
    )
    parser.add_argument(
        "--pytest-arg",
        action="append",
        default=[],
        dest="pytest_args",
        metavar="ARG",
        help="extra argument for every run, e.g. --pytest-arg=-m --pytest-arg=must",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="run every target again, reusing no stored report"
    )
    parser.add_argument(
        "--jobs",
        type=_every,
        default=JOBS,
        metavar="N",
        help=f"targets run at once, each in its own pytest (default {JOBS}: a reference run "
        "beside a release's, or two releases' gateway starts beside each other's cases)",
    )
    history = parser.add_argument_group("release history")
    history.add_argument(
        "--releases",
        type=_range,
        metavar="SINCE..UNTIL",
        help="the published releases in this range, both ends included, either end optional "
        "(2026.2.1..2026.9.6, 2026.2.1..)",
    )
    history.add_argument(
        "--prereleases", action="store_true", help="include prereleases (default: stable only)"
    )
    history.add_argument(
        "--every",
        type=_every,
        default=1,
        metavar="N",
        help="every N-th release from the first; the last one is always kept",
    )
    history.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="VERSION",
        help="also this release of the range, whatever the sampling (repeatable)",
    )
    history.add_argument(
        "--registry",
        default=rel.DEFAULT_REGISTRY,
        metavar="URL",
        help=f"the npm registry to list releases from (default {rel.DEFAULT_REGISTRY})",
    )
    history.add_argument(
        "--registry-json",
        type=Path,
        metavar="FILE",
        help="a saved copy of the registry's openclaw document, instead of reading the registry",
    )
    history.add_argument(
        "--dry-run",
        action="store_true",
        help="print the targets that would run, and whether a stored report would be reused",
    )
    parser.set_defaults(run=run, parser=parser)
    return parser


def _usage_error(args: argparse.Namespace, message: str) -> int:
    """The usage, then the one line that says what is wrong; exit 2, as argparse's own."""
    args.parser.error(message)
    return 2  # pragma: no cover (error() exits)


def release_targets(args: argparse.Namespace) -> list[str]:
    versions = (
        rel.load_versions(args.registry_json)
        if args.registry_json is not None
        else rel.fetch_versions(args.registry)
    )
    chosen = rel.select(versions, args.releases, prereleases=args.prereleases)
    return [f"openclaw@{v}" for v in rel.sample(chosen, args.every, args.include)]


def _column_report(run: runs.TargetRun) -> dict[str, Any]:
    if run.judged and run.report is not None:
        return run.report
    target_info = dict((run.report or {}).get("target") or {"name": run.target})
    target_info.setdefault("name", run.target)
    return {"target": target_info, "cases": [], "not_judged": run.problem}


def _said(result: runs.TargetRun, runs_dir: Path) -> None:
    target = result.target
    if result.reused:
        print(f"[matrix] {target}: reused {runs_dir}/{runs.safe_name(target)}.json", flush=True)
    elif result.judged and result.report is not None:
        summary = result.report["summary"]
        print(f"[matrix] {target}: {summary} in {result.seconds:.0f} s", flush=True)
    else:
        print(f"[matrix] {target}: NOT JUDGED, {result.problem}:\n{result.output_tail}", flush=True)


def run(args: argparse.Namespace) -> int:
    from conformance.reports import render  # the renderer only when there is a table to render
    from conformance.reports.history import Column, history_from_columns

    history_flags = args.every != 1 or args.include or args.prereleases
    if args.releases is None and (history_flags or args.registry_json is not None):
        return _usage_error(
            args, "--every, --include, --prereleases and --registry-json need --releases"
        )
    targets = list(args.targets)
    release_names: list[str] = []
    if args.releases is not None:
        try:
            release_names = release_targets(args)
        except rel.ReleaseError as exc:
            return _usage_error(args, str(exc))
        targets += [t for t in release_names if t not in targets]
    if not targets:
        return _usage_error(args, "name at least one TARGET, or --releases SINCE..UNTIL")

    runs_dir = args.out / "runs"
    if args.dry_run:
        for target in targets:
            path = runs_dir / f"{runs.safe_name(target)}.json"
            key = runs.run_key(target, args.pytest_args)
            stored = None if args.fresh else runs.reusable(path, key)
            print(f"{target}\t{'reuse' if stored is not None else 'run'}")
        print(f"[matrix] {len(targets)} targets ({len(release_names)} releases); nothing was run")
        return 0

    started = time.monotonic()

    def one(n: int, target: str) -> runs.TargetRun:
        print(f"[matrix] {n}/{len(targets)} {target} ...", flush=True)
        result = runs.run_target(
            target, runs_dir, args.pytest_args, fresh=args.fresh, suite=run_suite
        )
        _said(result, runs_dir)
        return result

    # Each target is its own child pytest (its own gateways, namespace and state), so several
    # can run at once; the table keeps the order of the command line.
    with ThreadPoolExecutor(max(1, min(args.jobs, len(targets)))) as pool:
        done = list(pool.map(one, range(1, len(targets) + 1), targets))

    matrix = render.matrix_from_reports([_column_report(r) for r in done])
    matrix["duration_s"] = round(time.monotonic() - started, 1)
    matrix["runs"] = {
        "reused": sum(1 for r in done if r.reused),
        "ran": sum(1 for r in done if not r.reused),
        "run_seconds": round(sum(r.seconds for r in done), 1),
    }
    if release_names:
        columns = [
            Column(r.target, r.report, None if r.judged else r.problem, r.reused)
            for r in done
            if r.target in release_names
        ]
        matrix["history"] = history_from_columns(columns)
        matrix["history"]["range"] = str(args.releases)
        matrix["history"]["every"] = args.every
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "matrix.json").write_text(json.dumps(matrix, indent=2) + "\n")
    (args.out / "matrix.md").write_text(render.matrix_markdown(matrix))
    (args.out / "matrix.html").write_text(render.matrix_html(matrix))
    differing = [c["id"] for c in matrix["cases"] if c["differs"]]
    unjudged = [r.target for r in done if not r.judged]
    print(
        f"[matrix] {len(matrix['cases'])} cases x {len(done)} targets, {len(differing)} rows "
        f"differ; {matrix['duration_s']} s ({matrix['runs']['reused']} reused); written to "
        f"{args.out}/matrix.{{json,md,html}}"
    )
    if unjudged:
        print(f"[matrix] not judged: {', '.join(unjudged)}")
        return EXIT_NOT_ALL_JUDGED
    return 0
