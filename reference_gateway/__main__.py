"""`python -m reference_gateway --config FILE --port N [--host H] [--profile P]`, or several
gateways in one process: `python -m reference_gateway --manifest FILE [--profile P]`.

Single mode prints `[gateway] listening on ws://<host>:<port>` then `[gateway] ready` on stdout,
one log line per connect decision and per RPC error after that, and stops cleanly on
SIGTERM/SIGINT.

Manifest mode serves every gateway of a JSON file `{"gateways": [{"config": FILE, "port": N,
"host": H, "log": FILE, "env": {...}}]}` from one event loop, each with its own config, port,
state, environment overrides and log file (the same lines as single mode's stdout). One Python
start-up instead of one per config is most of what a reference run spends on starting
gateways. A gateway whose config is refused writes its error and `[gateway] exited with code N`
(the code single mode would exit with) to its own log; the others serve on.
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from reference_gateway.config import ConfigError, GatewayConfig, load_config
from reference_gateway.profiles import PROFILES, get_profile
from reference_gateway.server import serve_reference

EXIT_MARKER = "[gateway] exited with code"  # manifest mode: how one gateway of many "exits"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reference_gateway", description="OpenClaw reference gateway (conformance)"
    )
    p.add_argument("--config", help="openclaw.json-shaped config file")
    p.add_argument("--port", type=int)
    p.add_argument(
        "--host",
        default=None,
        help="address to listen on (default: from gateway.bind, as OpenClaw: loopback -> "
        "127.0.0.1, lan -> 0.0.0.0, custom -> gateway.customBindHost)",
    )
    p.add_argument("--profile", default="current", choices=sorted(PROFILES))
    p.add_argument("--manifest", help="JSON file naming several gateways to serve at once")
    return p


class Refused(Exception):
    """A gateway that must not start, with the exit code single mode uses for it."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _read_config(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise Refused(f"[gateway] cannot read config {path}: {exc}", 2) from exc
    if not isinstance(data, dict):
        raise Refused(f"[gateway] config {path} is not a JSON object", 2)
    return data


def _prepare(
    data: dict[str, Any], host: str | None, env: Mapping[str, str]
) -> tuple[GatewayConfig, str]:
    """The loaded config and the address to listen on, or Refused as OpenClaw refuses."""
    try:
        config = load_config(data, env)
    except (ConfigError, ValueError) as exc:
        raise Refused(f"[gateway] {exc}", 1) from exc
    host = host if host is not None else _bind_host(data)
    if config.auth_mode == "none" and not _is_loopback(host):
        # As OpenClaw does (observed on 2026.9.6, exit 78): an unauthenticated gateway listens
        # on loopback only.
        raise Refused(f"Refusing to bind gateway to {host} without auth.", 78)
    return config, host


class LogFile:
    """A gateway's log lines, written to its file at the end of the event-loop step that
    produced them: one write per burst instead of a blocking write and flush per line, and
    never later than the next loop iteration, so a harness reading the log after an answer
    finds the lines of that answer."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending: list[str] = []

    def __call__(self, line: str) -> None:
        if not self._pending:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop (start-up, shutdown): write now
                self._pending.append(line)
                self.flush()
                return
        self._pending.append(line)

    def flush(self) -> None:
        if self._pending:
            text = "\n".join(self._pending) + "\n"
            self._pending.clear()
            with contextlib.suppress(OSError, ValueError):
                self._stream.write(text)
                self._stream.flush()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


@dataclass
class _Entry:
    """One gateway of a run: where it listens, what it reads, where it logs."""

    config: GatewayConfig
    host: str
    port: int
    log: Callable[[str], None]
    env: Mapping[str, str]  # read for the handshake timeout (OPENCLAW_HANDSHAKE_TIMEOUT_MS)


async def _serve(entries: list[_Entry], profile: str) -> None:
    stop = _stop_event()
    async with contextlib.AsyncExitStack() as stack:
        running = []
        for entry in entries:
            running.append(
                await stack.enter_async_context(
                    serve_reference(
                        entry.config,
                        host=entry.host,
                        port=entry.port,
                        profile=profile,
                        log=entry.log,
                        env=entry.env,
                    )
                )
            )
        for entry, gw in zip(entries, running, strict=True):
            # The listening line is logged by serve_reference; then readiness.
            entry.log("[gateway] ready")
            gw.gateway.log(
                f"profile={profile} version={gw.gateway.profile.version} "
                f"auth={gw.gateway.config.auth_mode} "
                f"handshakeTimeoutMs={gw.gateway.handshake_timeout_ms}"
            )
        await stop.wait()
        for gw in running:
            gw.gateway.log("shutting down")


def _single(args: argparse.Namespace) -> int:
    if args.config is None or args.port is None:
        print("[gateway] --config and --port are required (or --manifest)", file=sys.stderr)
        return 2
    try:
        data = _read_config(args.config)
        get_profile(args.profile)
        config, host = _prepare(data, args.host, os.environ)
    except Refused as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return exc.code
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    log = LogFile(sys.stdout)
    try:
        asyncio.run(_serve([_Entry(config, host, args.port, log, os.environ)], args.profile))
    except OSError as exc:
        print(f"[gateway] cannot listen on {host}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        log.flush()
    return 0


def _many(args: argparse.Namespace) -> int:
    try:
        with open(args.manifest, encoding="utf-8") as fh:
            manifest = json.load(fh)
        items = manifest["gateways"]
        assert isinstance(items, list)
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        print(f"[gateway] cannot read manifest {args.manifest}: {exc!r}", file=sys.stderr)
        return 2
    streams: list[TextIO] = []
    logs: list[LogFile] = []
    entries: list[_Entry] = []
    try:
        for item in items:
            # backslashreplace: a line quoting a client's lone surrogate is still written.
            stream = open(item["log"], "a", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
            streams.append(stream)
            log = LogFile(stream)
            logs.append(log)
            env = {**os.environ, **item.get("env", {})}
            try:
                config, host = _prepare(_read_config(item["config"]), item.get("host"), env)
            except Refused as exc:
                log(str(exc))
                log(f"{EXIT_MARKER} {exc.code}")
                log.flush()
                continue
            entries.append(_Entry(config, host, int(item["port"]), log, env))
        if not entries:
            return 1
        try:
            asyncio.run(_serve(entries, args.profile))
        except OSError as exc:
            for entry in entries:
                entry.log(f"[gateway] cannot listen on {entry.host}:{entry.port}: {exc}")
                entry.log(f"{EXIT_MARKER} 1")
            return 1
        return 0
    finally:
        for log in logs:
            log.flush()
        for stream in streams:
            stream.close()


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
    return _many(args) if args.manifest else _single(args)


if __name__ == "__main__":
    sys.exit(main())
