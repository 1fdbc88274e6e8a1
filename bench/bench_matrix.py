"""Figures for the reference run: loader speed, gateway start, per-case latency, whole matrix.

    python bench/bench_matrix.py [--profile current|2026.3.13] [--repeat N]

Prints numbers; asserts nothing (targets are judged by reading them, not by timed tests).
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

from conformance.cases.loader import load_cases, packaged_case_paths
from conformance.judge.runner import run_case_sync
from conformance.targets.base import CaseNotApplicable
from conformance.targets.netns import Netns, NetnsUnavailable
from conformance.targets.reference import ReferenceTarget


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="current")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    tracemalloc.start()
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        cases = load_cases(packaged_case_paths())
    load_s = (time.perf_counter() - t0) / args.repeat
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"loader: {len(cases)} cases in {load_s * 1000:.1f} ms "
        f"({len(cases) / load_s:.0f} cases/s), peak {peak / 1e6:.1f} MB"
    )

    try:
        netns = Netns.create(tag="bench")
    except NetnsUnavailable as exc:
        netns = None
        print(f"no namespace ({exc}): remote cases skipped")
    target = ReferenceTarget(args.profile, netns=netns)
    target.plan(cases)  # every config in one process, as a run starts them
    try:
        t0 = time.perf_counter()
        for case in cases:
            target.endpoint(case.gateway)
        start_s = time.perf_counter() - t0
        starts = list(target.start_times.values())
        print(
            f"gateways: {len(starts)} configs started in {start_s:.2f} s "
            f"(median {statistics.median(starts):.2f} s each)"
        )
        for round_no in range(1, args.repeat + 1):
            latencies = []
            t0 = time.perf_counter()
            for case in cases:
                c0 = time.perf_counter()
                try:
                    run_case_sync(case, target.endpoint(case.gateway))
                except CaseNotApplicable:
                    continue
                latencies.append(time.perf_counter() - c0)
            wall = time.perf_counter() - t0
            latencies.sort()
            p95 = latencies[int(len(latencies) * 0.95) - 1]
            print(
                f"round {round_no}: {len(latencies)} cases in {wall:.2f} s; per case median "
                f"{statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
                f"max {latencies[-1] * 1000:.1f} ms"
            )
    finally:
        target.close()
        if netns is not None:
            netns.close()


if __name__ == "__main__":
    main()
