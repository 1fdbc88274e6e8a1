"""Fuzzing the reference with a large budget: the core in-process, then a running gateway over
sockets.

    python bench/fuzz.py [--core 40000] [--sockets 20000] [--concurrency 20]

1. The sans-I/O core: tests/reference_gateway/test_fuzz.py with OCC_FUZZ_EXAMPLES=--core and
   fresh random examples (its properties: no exception, a close action whenever the session
   ends, never 1011, no grant outside requested and policy, node roles without operator
   scopes, the pre-auth limit).
2. A reference gateway process: --sockets connections, each sending one random first frame
   (JSON of any shape, a connect with random params, text, bytes, lone surrogates, deep
   nesting, oversize), counting answers by kind: a response, a close code, a drop without a
   close frame; 1011s; and the gateway's RSS and open fds before and after.

Prints figures; asserts nothing (the tests assert the properties).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
import handshakes

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED_CLOSES = {1000, 1002, 1008, 1009}  # 1002: PROTOCOL_MISMATCH


def _rss_fds(pid: int) -> tuple[int, int]:
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 3.5, 1e308])
    if kind == 3:
        return rng.choice(["", "cli", "node", "operator.admin", "\ud800", "\udfff", "x" * 300])
    if kind == 4:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(12)))
    if kind in (5, 6):
        keys = [
            "type",
            "id",
            "method",
            "params",
            "client",
            "auth",
            "device",
            "role",
            "scopes",
            "minProtocol",
            "maxProtocol",
            "permissions",
            "\ud800",
        ]
        return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def _random_frame(rng: random.Random, token: str) -> str | bytes:
    pick = rng.randrange(10)
    if pick == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    if pick == 1:
        return "[" * rng.randrange(500, 3000) + "]" * 10
    if pick == 2:
        return "x" * rng.choice([70_000, 200_000])
    if pick == 3:
        return json.dumps(_random_value(rng))
    params = {
        "minProtocol": rng.choice([3, 4, 0]),
        "maxProtocol": rng.choice([3, 4, 9]),
        "client": {
            "id": rng.choice(["cli", "node-host", "x"]),
            "version": "1",
            "platform": "linux",
            "mode": rng.choice(["cli", "node", "probe"]),
        },
        "role": rng.choice(["operator", "node", "admin"]),
        "scopes": rng.sample(
            ["operator.admin", "operator.read", "node.x", "\ud800"], rng.randrange(3)
        ),
        "auth": rng.choice([{"token": token}, {"token": "\ud800"}, {}, None]),
    }
    for _ in range(rng.randrange(3)):
        params[rng.choice(["permissions", "caps", "device", "locale", "client"])] = _random_value(
            rng
        )
    return json.dumps(
        {"type": "req", "id": rng.choice(["r", "\ud800", 1]), "method": "connect", "params": params}
    )


async def _one(port: int, frame: str | bytes) -> str:
    try:
        async with connect(f"ws://127.0.0.1:{port}", max_size=None, open_timeout=10) as ws:
            await asyncio.wait_for(ws.recv(), 10)
            await ws.send(frame)
            got = "no response"
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if msg.get("type") == "res":
                    got = "response ok" if msg.get("ok") else "response error"
                    if msg.get("ok"):
                        return got
    except ConnectionClosed as exc:
        if exc.rcvd is None:
            return "dropped without a close frame"
        return f"{got if 'got' in locals() else 'no response'}, close {exc.rcvd.code}"
    except TimeoutError:
        return "no answer in time"
    except Exception as exc:  # counted: the figure is what happened
        return f"client error {type(exc).__name__}"


async def _sockets(port: int, token: str, count: int, concurrency: int, seed: int):
    rng = random.Random(seed)
    frames = [_random_frame(rng, token) for _ in range(count)]
    counts: collections.Counter[str] = collections.Counter()
    queue = iter(frames)

    async def worker() -> None:
        for frame in queue:
            counts[await _one(port, frame)] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--core", type=int, default=40000, help="examples per core property")
    parser.add_argument("--sockets", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.core:
        env = {**os.environ, "OCC_FUZZ_EXAMPLES": str(args.core), "OCC_FUZZ_RANDOM": "1"}
        t0 = time.time()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/reference_gateway/test_fuzz.py",
                "-k",
                "any_first_frame or granted_outside",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        tail = proc.stdout.strip().splitlines()[-1]
        print(f"core: 2 properties x {args.core} examples: {tail} ({time.time() - t0:.0f} s)")
    if args.sockets:
        tmp = Path(tempfile.mkdtemp(prefix="occ-fuzz-"))
        server = handshakes.start_reference(tmp)
        try:
            rss0, fds0 = _rss_fds(server.pid)
            t0 = time.time()
            counts = asyncio.run(
                _sockets(server.port, server.token or "", args.sockets, args.concurrency, args.seed)
            )
            rss1, fds1 = _rss_fds(server.pid)
            print(
                f"sockets: {args.sockets} connections in {time.time() - t0:.0f} s, "
                f"{args.concurrency} at a time"
            )
            for answer, n in counts.most_common():
                print(f"  {n:7}  {answer}")
            closes = collections.Counter()
            for answer, n in counts.items():
                if "close " in answer:
                    closes[int(answer.rsplit(" ", 1)[1])] += n
            undocumented = sum(n for c, n in closes.items() if c not in DOCUMENTED_CLOSES)
            print(
                f"  1011: {closes.get(1011, 0)}; undocumented close codes: {undocumented}; "
                f"dropped without close: {counts.get('dropped without a close frame', 0)}"
            )
            print(
                f"  gateway RSS {rss0 / 1e6:.1f} -> {rss1 / 1e6:.1f} MB, fds {fds0} -> {fds1}; "
                f"still running: {Path(f'/proc/{server.pid}').exists()}"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
