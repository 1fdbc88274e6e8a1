"""The embedded reference gateway as a target: one subprocess per gateway config.

A subprocess (rather than an in-process server) gives the reference exactly the life of a real
gateway: its own config file, port, log and network namespace, and the same start/stop path.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from conformance.cases.gateway import GatewaySpec
from conformance.protocol.sockets import Vantage
from conformance.targets import hermetic
from conformance.targets.base import Endpoint, Target, TargetUnavailable
from conformance.targets.netns import Netns
from conformance.targets.process import GatewayProcess, free_port, stop_all
from conformance.versions import Version
from reference_gateway.profiles import PROFILES  # the reference's own: version, protocol

START_TIMEOUT_S = 20.0


def profile_for(version: str | None) -> str:
    """The reference profile nearest a release: the 2026.3.13 emulation for the releases that
    clear device-less scopes without the later fixes (2026.3.12 up to 2026.3.22), else current."""
    parsed = Version.leading(version)
    if parsed is not None and (2026, 3, 12) <= parsed.release < (2026, 3, 22):
        return "2026.3.13"
    return "current"


class ReferenceTarget(Target):
    kind = "reference"

    def __init__(
        self, profile: str = "current", *, netns: Netns | None = None, progress=None
    ) -> None:
        if profile not in PROFILES:
            raise TargetUnavailable(
                f"unknown reference profile {profile!r} (known: {', '.join(PROFILES)})"
            )
        self.profile = profile
        self.name = "reference" if profile == "current" else f"reference@{profile}"
        self.version = PROFILES[profile].version
        self.protocol = PROFILES[profile].protocol
        self.netns = netns
        self._progress = progress or (lambda msg: None)
        self._workdir = Path(tempfile.mkdtemp(prefix="occ-reference-"))
        self._endpoints: dict[GatewaySpec, Endpoint] = {}
        self._processes: list[GatewayProcess] = []
        self.start_times: dict[str, float] = {}

    def endpoint(self, spec: GatewaySpec) -> Endpoint:
        if spec not in self._endpoints:
            self._endpoints[spec] = self._start(spec)
        return self._endpoints[spec]

    def _start(self, spec: GatewaySpec) -> Endpoint:
        n = len(self._processes) + 1
        folder = self._workdir / f"gw{n}"
        folder.mkdir()
        token, password = hermetic.new_secrets(spec)
        ns = self.netns
        # OpenClaw (and so the reference) listens beyond loopback only with auth, and only for a
        # config some case is remote for: the same plan as the real gateways'.
        plan = self.bind_plan(spec, can_reach_remote=ns is not None)
        remote_ok = plan.remote
        config = spec.to_openclaw_config(
            token=token,
            password=password,
            remote_peer_ip=ns.outer_ip if ns else None,
            bind="lan" if remote_ok else "loopback",
        )
        config_path = folder / "openclaw.json"
        config_path.write_text(json.dumps(config, indent=2))
        port = free_port(ns.socket_inside) if ns else free_port()
        argv = [sys.executable, "-m", "reference_gateway", "--config", str(config_path),
                "--port", str(port), "--host", "0.0.0.0" if remote_ok else "127.0.0.1",
                "--profile", self.profile]  # fmt: skip
        if ns:
            argv = ns.wrap(argv)
        env = {**os.environ, **spec.environment(), "PYTHONUNBUFFERED": "1"}
        for var in ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD"):
            env.pop(var, None)  # the config is the whole truth for a gateway we start
        proc = GatewayProcess(argv, env=env, log_path=folder / "gateway.log")
        self._processes.append(proc)
        loopback = Vantage("127.0.0.1", port, ns.loopback_connector(port) if ns else None)
        remote = Vantage(ns.inner_ip, port) if remote_ok and ns else None
        what = f"reference gateway ({self.profile}, {spec.label})"
        seconds, _ = proc.wait_ready(
            loopback, token=token, password=password, timeout=START_TIMEOUT_S, what=what
        )
        self.start_times[spec.label] = seconds
        self._progress(f"{what} ready on port {port} in {seconds:.2f}s")
        return Endpoint(
            spec=spec,
            loopback=loopback,
            remote=remote,
            token=token,
            password=password,
            remote_peer_ip=ns.outer_ip if remote_ok and ns else None,
            log_tail=proc.tail,
            version=self.version,
            remote_unavailable=plan.remote_unavailable,
        )

    def close(self) -> None:
        processes, self._processes = self._processes, []
        stop_all(processes)
        self._endpoints.clear()
        shutil.rmtree(self._workdir, ignore_errors=True)
