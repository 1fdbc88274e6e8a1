"""`python -m reference_gateway --config FILE --port N [--host H] [--profile P]`.

Prints `[gateway] listening on ws://<host>:<port>` then `[gateway] ready` on stdout, one log line
per connect decision and per RPC error after that, and stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import signal
import sys

from reference_gateway.config import ConfigError, load_config
from reference_gateway.profiles import PROFILES, get_profile
from reference_gateway.server import serve_reference


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reference_gateway", description="OpenClaw reference gateway (conformance)"
    )
    p.add_argument("--config", required=True, help="openclaw.json-shaped config file")
    p.add_argument("--port", type=int, required=True)
    p.add_argument(
        "--host",
        default=None,
        help="address to listen on (default: from gateway.bind, as OpenClaw: loopback -> "
        "127.0.0.1, lan -> 0.0.0.0, custom -> gateway.customBindHost)",
    )
    p.add_argument("--profile", default="current", choices=sorted(PROFILES))
    return p


async def _run(args: argparse.Namespace, data: dict[str, object]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

    def out(line: str) -> None:
        print(line, flush=True)

    async with serve_reference(
        data, host=args.host, port=args.port, profile=args.profile, log=out
    ) as running:
        # The listening line is logged by serve_reference; then readiness.
        out("[gateway] ready")
        running.gateway.log(
            f"profile={args.profile} version={running.gateway.profile.version} "
            f"auth={running.gateway.config.auth_mode} "
            f"handshakeTimeoutMs={running.gateway.handshake_timeout_ms}"
        )
        await stop.wait()
        running.gateway.log("shutting down")
    return 0


def _bind_host(data: dict[str, object]) -> str:
    gateway = data.get("gateway")
    gateway = gateway if isinstance(gateway, dict) else {}
    bind = gateway.get("bind") or "loopback"
    if bind == "lan":
        return "0.0.0.0"
    if bind == "custom" and isinstance(gateway.get("customBindHost"), str):
        return str(gateway["customBindHost"])
    return "127.0.0.1"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with open(args.config, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        print(f"[gateway] cannot read config {args.config}: {exc}", file=sys.stderr, flush=True)
        return 2
    if not isinstance(data, dict):
        print(f"[gateway] config {args.config} is not a JSON object", file=sys.stderr, flush=True)
        return 2
    try:
        get_profile(args.profile)
        config = load_config(data, os.environ)
    except (ConfigError, ValueError) as exc:
        print(f"[gateway] {exc}", file=sys.stderr, flush=True)
        return 1
    if args.host is None:
        args.host = _bind_host(data)
    if config.auth_mode == "none" and not _is_loopback(args.host):
        # As OpenClaw does (observed on 2026.9.6, exit 78): an unauthenticated gateway listens
        # on loopback only.
        print(f"Refusing to bind gateway to {args.host} without auth.", file=sys.stderr, flush=True)
        return 78
    try:
        return asyncio.run(_run(args, data))
    except OSError as exc:
        print(
            f"[gateway] cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
            flush=True,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
