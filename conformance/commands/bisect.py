"""`openclaw-conformance bisect CASE --good V --bad V`: the first release whose outcome of one case
differs from the good release's, by binary search over the releases published in between.

Assumes one change between the two ends (as git bisect does); every release it runs is listed, so
a non-monotonic history shows in the output.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.commands.suite import run_suite
from conformance.judge.compare import Behaviour, observed_behaviour, same_behaviour
from conformance.targets import npmcache as provisioning
from conformance.versions import Version, VersionError, is_exact


class BisectError(Exception):
    pass


def version_key(version: str) -> Version:
    try:
        return Version.parse(version)
    except VersionError as exc:
        raise BisectError(str(exc)) from None


def published_versions(progress=print) -> list[str]:
    node = provisioning.ensure_node(progress=progress)
    proc = provisioning._npm(node, ["view", provisioning.PACKAGE, "versions", "--json"], timeout=60)
    if proc.returncode != 0:
        raise BisectError(f"npm view {provisioning.PACKAGE} versions failed: {proc.stderr[-500:]}")
    versions = json.loads(proc.stdout)
    return sorted((v for v in versions if is_exact(v)), key=version_key)


def between(versions: list[str], good: str, bad: str, *, prereleases: bool) -> list[str]:
    lo, hi = version_key(good), version_key(bad)
    if lo >= hi:
        raise BisectError(f"--good {good} must be older than --bad {bad}")
    out = [
        v for v in versions
        if lo <= version_key(v) <= hi and (prereleases or "-" not in v or v in (good, bad))
    ]  # fmt: skip
    for end in (good, bad):
        if end not in out:
            raise BisectError(f"{end} is not a published release of {provisioning.PACKAGE}")
    return out


@dataclass
class Probe:
    version: str
    outcome: str
    observed: dict[str, Any] | None
    message: str
    seconds: float

    @property
    def behaviour(self) -> Behaviour | None:
        return observed_behaviour(self.observed)

    def behaves_like(self, other: Probe) -> bool:
        """What must stay equal for two releases to behave alike on this case: the outcome and
        the observed behaviour (conformance.judge.compare)."""
        return self.outcome == other.outcome and same_behaviour(self.behaviour, other.behaviour)

    def describe(self) -> str:
        o = self.observed or {}
        if o.get("accepted"):
            what = f"accepted, scopes {o.get('scopes')}"
        elif o.get("error"):
            what = f"rejected {o['error'].get('code')}/{o['error'].get('details_code')}"
        elif "exit_code" in o:
            what = f"exit {o.get('exit_code')}"
        else:
            what = self.message or "-"
        return f"{self.version:<14} {self.outcome:<8} {what}  ({self.seconds:.0f} s)"


def probe(case_id: str, version: str, workdir: Path) -> Probe:
    run = run_suite(
        f"openclaw@{version}", workdir / f"{version}.json", extra=["--conformance-case", case_id]
    )
    cases = (run.report or {}).get("cases") or []
    if not cases:
        raise BisectError(f"openclaw@{version}: no result for {case_id}:\n{run.output_tail}")
    case = cases[0]
    return Probe(
        version, case["outcome"], case.get("observed"), case.get("message", ""), run.seconds
    )


def bisect(
    case_id: str,
    good: str,
    bad: str,
    *,
    prereleases: bool = False,
    progress=print,
    versions: list[str] | None = None,
    run_probe=probe,
) -> tuple[list[Probe], Probe, Probe, int]:
    """Returns (probes in the order run, last release like good, first release unlike it,
    number of candidate releases). `versions` and `run_probe` replace the registry and the
    child pytest run (tests)."""
    published = versions if versions is not None else published_versions(progress)
    candidates = between(published, good, bad, prereleases=prereleases)
    progress(f"{len(candidates)} releases from {good} to {bad}: {', '.join(candidates)}")
    probes: list[Probe] = []
    with tempfile.TemporaryDirectory(prefix="occ-bisect-") as tmp:

        def run(version: str) -> Probe:
            p = run_probe(case_id, version, Path(tmp))
            probes.append(p)
            progress(p.describe())
            return p

        first, last = run(good), run(bad)
        if first.behaves_like(last):
            raise BisectError(f"{case_id} behaves the same on {good} and {bad}: {first.describe()}")
        lo, hi = 0, len(candidates) - 1
        at = {0: first, hi: last}
        while hi - lo > 1:
            mid = (lo + hi) // 2
            at[mid] = run(candidates[mid])
            if at[mid].behaves_like(first):
                lo = mid
            else:
                hi = mid
    return probes, at[lo], at[hi], len(candidates)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bisect",
        help="find the release where a case's outcome changed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("case_id", metavar="CASE", help="id of the case to follow")
    parser.add_argument("--good", required=True, help="release with the old behaviour")
    parser.add_argument("--bad", required=True, help="release with the new behaviour")
    parser.add_argument(
        "--prereleases", action="store_true", help="also try beta and other prerelease versions"
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        probes, before, after, n = bisect(
            args.case_id, args.good, args.bad, prereleases=args.prereleases
        )
    except (BisectError, provisioning.ProvisioningError) as exc:
        print(f"bisect: {exc}")
        return 2
    print(
        f"\n{args.case_id}: first release whose outcome differs from {args.good}: {after.version}"
    )
    print(f"  last like {args.good}: {before.describe()}")
    print(f"  first unlike it:  {after.describe()}")
    print(
        f"tried {len(probes)} of {n} releases in {time.monotonic() - started:.0f} s: "
        + ", ".join(p.version for p in probes)
    )
    return 0
