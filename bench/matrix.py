"""Whole-matrix runs as a user runs them, split into phases, and the matrix command.

    python bench/matrix.py [--target reference] [--target openclaw@2026.9.6] [--repeat 3]
    python bench/matrix.py --command reference openclaw@2026.3.13 openclaw@2026.9.6

Each run is `pytest --pyargs conformance --gateway TARGET` in a child process with a small
timing plugin. Per target it prints, as min/median/max over `--repeat` runs: the wall time and
its split into start-up (process start to the first case), the wait for gateway starts and
switches (target.wait_seconds: background work done in time costs none), cases, teardown
(last case to exit); cases/s; and for the reference its floor: the cases' handshakes at the
bare websockets rate measured in the same run, plus the handshake-timeout waits. `--command` times
`openclaw-conformance matrix TARGETS --fresh` instead (warm caches, every target run).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Loaded into the child pytest with -p: records when each phase ends.
PLUGIN = """
import json, os, time
from conformance.plugin.hooks import SESSION_KEY
OUT = os.environ["OCC_BENCH_OUT"]
marks = {"plugin": time.time()}
def pytest_runtest_logstart(nodeid, location):
    marks.setdefault("first_case", time.time())
def pytest_runtest_logfinish(nodeid, location):
    marks["last_case"] = time.time()
def pytest_sessionfinish(session):
    conf = session.config.stash.get(SESSION_KEY, None)
    target = conf.gateways.target if conf is not None else None
    times = getattr(target, "start_times", {}) or {}
    waited = getattr(target, "wait_seconds", None)
    marks["gateway_s"] = waited if waited is not None else sum(times.values())
    marks["gateways"] = len(times)
    marks["cold_starts"] = getattr(target, "cold_starts", None)
    marks["switches"] = len(getattr(target, "switch_times", {}) or {})
def pytest_unconfigure(config):
    marks["unconfigure"] = time.time()
    with open(OUT, "w") as fh:
        json.dump(marks, fh)
"""


def _fmt(values: list[float], digits: int = 1) -> str:
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return f"{lo:.{digits}f}/{mid:.{digits}f}/{hi:.{digits}f}"


def run_once(target: str, tmp: Path) -> dict[str, float]:
    out, report = tmp / "marks.json", tmp / "report.json"
    (tmp / "occ_bench_timing.py").write_text(PLUGIN)
    env = {
        **os.environ,
        "OCC_BENCH_OUT": str(out),
        "PYTHONPATH": os.pathsep.join([str(tmp), os.environ.get("PYTHONPATH", "")]),
    }
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        "conformance",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "occ_bench_timing",
        # as from the checkout (pyproject addopts): hypothesis' plugin costs 0.8 s a run
        "-p",
        "no:hypothesispytest",
        "--gateway",
        target,
        "--conformance-report",
        str(report),
    ]
    started = time.time()
    proc = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, check=False)
    ended = time.time()
    marks = json.loads(out.read_text())
    data = json.loads(report.read_text())
    summary = data["summary"]
    cases = sum(summary.values())
    waits = silent_wait_s()
    return {
        "wall": ended - started,
        "startup": marks["first_case"] - started,
        "gateways": marks["gateway_s"],
        "cases": marks["last_case"] - marks["first_case"] - marks["gateway_s"],
        "teardown": ended - marks["last_case"],
        "cases_per_s": cases / max(1e-9, marks["last_case"] - marks["first_case"]),
        "n": cases,
        "waits": waits,
        "cold_starts": marks.get("cold_starts") or marks["gateways"],
        "switches": marks.get("switches") or 0,
        "rc": proc.returncode,
        "summary": summary,
    }


def silent_wait_s() -> float:
    """What the cases that send nothing must wait: their gateway's handshake timeout."""
    from conformance.cases.loader import load_cases, packaged_case_paths
    from conformance.cases.model import FirstFrame

    return sum(
        (c.gateway.handshake_timeout_ms or 0) / 1000
        for c in load_cases(packaged_case_paths())
        if c.first_frame is FirstFrame.SILENT
    )


def bare_handshake_s(tmp: Path, count: int = 300) -> float:
    """Seconds per sequential handshake against the bare websockets server (bench/handshakes)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import asyncio

    import handshakes

    server = handshakes.start_bare(tmp)
    try:
        t0 = time.perf_counter()

        async def loop() -> None:
            for _ in range(count):
                await handshakes._one(server.port, None, False)

        asyncio.run(loop())
        return (time.perf_counter() - t0) / count
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", action="append", dest="targets")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--command", nargs="+", metavar="TARGET", help="time the matrix command")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="occ-bench-matrix-"))
    if args.command:
        walls = []
        for _ in range(args.repeat):
            t0 = time.time()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "conformance.commands.main",
                    "matrix",
                    *args.command,
                    "--fresh",
                    "--out",
                    str(tmp / "matrix"),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            walls.append(time.time() - t0)
            last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
            print(f"  run: {walls[-1]:.1f} s, exit {proc.returncode}: {last[:160]}", flush=True)
        print(f"matrix {' '.join(args.command)}: wall {_fmt(walls)} s (min/median/max)")
        return
    targets = args.targets or ["reference"]
    bare = bare_handshake_s(tmp)
    print(f"bare websockets handshake: {bare * 1000:.2f} ms (sequential, this run)")
    for target in targets:
        runs = []
        for _ in range(args.repeat):
            runs.append(run_once(target, tmp))
            r = runs[-1]
            print(f"  {target}: {r['wall']:.2f} s, {r['summary']}", flush=True)
        print(f"{target}: {runs[0]['n']} cases, {args.repeat} runs (min/median/max)")
        for key, label in (
            ("wall", "wall"),
            ("startup", "start-up"),
            ("gateways", "waiting for gateways"),
            ("cases", "cases"),
            ("teardown", "teardown"),
        ):
            print(f"  {label:24} {_fmt([r[key] for r in runs], 2)} s")
        print(f"  {'cases/s':24} {_fmt([r['cases_per_s'] for r in runs], 0)}")
        label = "gateway configs" if target.startswith("reference") else "cold starts / switches"
        print(f"  {label:24} {runs[0]['cold_starts']} / {runs[0]['switches']}")
        if target.startswith("reference"):
            floor = runs[0]["n"] * bare + statistics.median(r["waits"] for r in runs)
            walls = [r["wall"] for r in runs]
            print(
                f"  floor {floor:.2f} s ({runs[0]['n']} x {bare * 1000:.2f} ms + the "
                f"handshake-timeout wait, which the run overlaps); wall/floor "
                f"{_fmt([w / floor for w in walls], 2)}"
            )


if __name__ == "__main__":
    main()
