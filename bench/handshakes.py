"""Handshakes per second: a bare websockets floor vs the reference gateway vs a real release.

    python bench/handshakes.py [--levels 1,10,50,200] [--seconds 3] [--clients 2]
                               [--release 2026.9.6] [--devices] [--repeat 3]

Every server gets the same traffic in the same run: connections from `--clients` client
processes (so the client is not the bottleneck), each one the whole handshake a CLI makes
(upgrade, connect.challenge, connect with the gateway token, hello-ok, close). `--devices`
adds a fresh signed device to every connect (a silent local pairing on a real gateway, about
1 ms of Ed25519 on the client). Per server and concurrency level it prints handshakes/s,
p50/p99 latency, errors, and the server's CPU per handshake (from /proc), then the ratios
reference/bare and reference/release, as min/median/max over `--repeat` runs.

The bare floor is websockets itself: the same frames, no policy, no state. Prints figures; asserts
nothing (targets are judged by reading them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import websockets
from websockets.asyncio.client import connect

from conformance.protocol.frames import ConnectPlan
from conformance.protocol.identity import DeviceIdentity

ROOT = Path(__file__).resolve().parent.parent
OPEN_TIMEOUT_S = 10.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the bare floor: challenge, connect, hello-ok, nothing else ----------------------------------
async def _bare_server(port: int) -> None:
    hello = {
        "type": "hello-ok",
        "protocol": 4,
        "server": {"version": "bare"},
        "features": {"methods": [], "events": []},
        "policy": {"maxPayload": 26214400},
    }

    async def handler(ws) -> None:
        nonce = secrets.token_urlsafe(16)
        await ws.send(
            json.dumps(
                {
                    "type": "event",
                    "event": "connect.challenge",
                    "payload": {"nonce": nonce, "ts": int(time.time() * 1000)},
                }
            )
        )
        try:
            frame = json.loads(await ws.recv())
            await ws.send(
                json.dumps({"type": "res", "id": frame.get("id"), "ok": True, "payload": hello})
            )
            await ws.wait_closed()
        except websockets.ConnectionClosed:
            pass

    async with websockets.serve(handler, "127.0.0.1", port, compression=None, backlog=1024):
        print("[bare] ready", flush=True)
        await asyncio.Future()


# -- clients ------------------------------------------------------------------------------------
async def _one(port: int, token: str | None, devices: bool) -> None:
    async with connect(
        f"ws://127.0.0.1:{port}", compression=None, open_timeout=OPEN_TIMEOUT_S, max_size=None
    ) as ws:
        challenge = json.loads(await ws.recv())
        nonce = challenge["payload"]["nonce"]
        plan = ConnectPlan(
            auth={"token": token} if token else {},
            identity=DeviceIdentity.generate() if devices else None,
            scopes=("operator.read",) if devices else (),
        )
        await ws.send(json.dumps(plan.frame(nonce)))
        answer = json.loads(await ws.recv())
        if not answer.get("ok"):
            raise RuntimeError(str(answer.get("error"))[:200])


async def _worker_loop(port, token, devices, concurrency, deadline, latencies, errors) -> None:
    async def worker() -> None:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                await asyncio.wait_for(_one(port, token, devices), OPEN_TIMEOUT_S)
            except Exception as exc:  # counted, never fatal: the figure is the error count
                errors.append(type(exc).__name__ + ": " + str(exc)[:120])
            else:
                latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _client_process(port, token, devices, concurrency, start_at, seconds, out) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + seconds
    asyncio.run(_worker_loop(port, token, devices, concurrency, deadline, latencies, errors))
    out.put((latencies, errors))


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (of the process itself)
    return total / CLOCK_TICKS


def _process_tree(root: int) -> list[int]:
    from conformance.targets.process import descendants

    return [root, *descendants(root)]


@dataclass
class Level:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # server CPU per handshake
    sample_error: str


def _run_level(server: Server, concurrency: int, clients: int, seconds: float, devices: bool):
    clients = min(clients, concurrency)
    shares = [
        concurrency // clients + (1 if i < concurrency % clients else 0) for i in range(clients)
    ]
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 0.3
    procs = [
        ctx.Process(
            target=_client_process,
            args=(server.port, server.token, devices, n, start_at, seconds, out),
        )
        for n in shares
    ]
    pids = _process_tree(server.pid)
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = _cpu_seconds(pids)
    results = [out.get(timeout=seconds + 60) for _ in procs]
    cpu1 = _cpu_seconds(pids)
    for p in procs:
        p.join(10)
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = [e for _, errs in results for e in errs]
    n = len(latencies)
    return Level(
        rate=n / seconds,
        p50_ms=1000 * latencies[n // 2] if n else float("nan"),
        p99_ms=1000 * latencies[min(n - 1, int(n * 0.99))] if n else float("nan"),
        errors=len(errors),
        cpu_ms=1000 * (cpu1 - cpu0) / max(n, 1),
        sample_error=errors[0] if errors else "",
    )


# -- servers ------------------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    port: int
    pid: int
    token: str | None
    stop: object


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise SystemExit(f"server on port {port} not up after {timeout} s")


def _spawn(name: str, argv: list[str], port: int, token: str | None, tmp: Path) -> Server:
    log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )
    _wait_port(port, proc)
    return Server(name, port, proc.pid, token, lambda: (proc.terminate(), proc.wait(10)))


def start_bare(tmp: Path) -> Server:
    port = _free_port()
    argv = [sys.executable, __file__, "--bare-server", str(port)]
    return _spawn("bare", argv, port, None, tmp)


def start_reference(tmp: Path) -> Server:
    port, token = _free_port(), secrets.token_urlsafe(24)
    config = {
        "gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": token}}
    }
    path = tmp / "reference.json"
    path.write_text(json.dumps(config))
    argv = [sys.executable, "-m", "reference_gateway", "--config", str(path), "--port", str(port)]
    return _spawn("reference", argv, port, token, tmp)


def start_release(version: str) -> Server:
    from conformance.cases.gateway import GatewaySpec
    from conformance.targets.npm import NpmTarget

    target = NpmTarget(version, progress=lambda m: print(f"  {m}", flush=True))
    spec = GatewaySpec(auth="token")
    endpoint = target.endpoint(spec)
    gw = target._gateways[spec]
    assert endpoint.loopback is not None
    return Server(
        f"openclaw@{version}", endpoint.loopback.port, gw.process.pid, endpoint.token, target.close
    )


# -- main ---------------------------------------------------------------------------------------
def _fmt(values: list[float], digits: int = 0) -> str:
    if not values:
        return "-"
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return f"{lo:.{digits}f}/{mid:.{digits}f}/{hi:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="1,10,50,200")
    parser.add_argument("--seconds", type=float, default=3.0, help="per level and server")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--release", help="also an npm release, e.g. 2026.9.6")
    parser.add_argument("--devices", action="store_true", help="a fresh signed device each")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="comma-separated subset of bare,reference,release")
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        asyncio.run(_bare_server(args.bare_server))
        return

    levels = [int(x) for x in args.levels.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="occ-bench-"))
    servers: list[Server] = []
    wanted = set((args.only or "bare,reference,release").split(","))
    try:
        if "bare" in wanted and not args.devices:  # the bare server checks no device
            servers.append(start_bare(tmp))
        if "reference" in wanted:
            servers.append(start_reference(tmp))
        if args.release and "release" in wanted:
            servers.append(start_release(args.release))
        table: dict[tuple[str, int], list[Level]] = {}
        for _ in range(args.repeat):
            for level in levels:
                for server in servers:  # interleaved, so drift hits every server alike
                    got = _run_level(server, level, args.clients, args.seconds, args.devices)
                    table.setdefault((server.name, level), []).append(got)
        print(
            f"{args.clients} client processes, {args.seconds:g} s per level, "
            f"{args.repeat} runs (min/median/max){', fresh signed devices' if args.devices else ''}"
        )
        print(
            f"{'server':22} {'conc':>5} {'handshakes/s':>17} {'p50 ms':>14} {'p99 ms':>16} "
            f"{'errors':>8} {'cpu ms/hs':>14}"
        )
        for (name, level), runs in table.items():
            print(
                f"{name:22} {level:5} {_fmt([r.rate for r in runs]):>17} "
                f"{_fmt([r.p50_ms for r in runs], 1):>14} {_fmt([r.p99_ms for r in runs], 1):>16} "
                f"{_fmt([r.errors for r in runs]):>8} {_fmt([r.cpu_ms for r in runs], 2):>14}"
            )
            sample = next((r.sample_error for r in runs if r.sample_error), "")
            if sample:
                print(f"{'':28}first error: {sample}")
        names = [s.name for s in servers]
        for other in [n for n in names if n != "reference"]:
            if "reference" not in names:
                break
            for level in levels:
                ratios = [
                    r.rate / o.rate
                    for r, o in zip(table["reference", level], table[other, level], strict=True)
                    if o.rate
                ]
                print(f"reference / {other} at {level}: {_fmt(ratios, 2)} (same run each)")
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
