"""The embedded reference gateway as a target: one subprocess serving every gateway config the
run needs, each on its own port with its own config file, state, log and handshake timeout.

A subprocess (rather than an in-process server) gives the reference the life of a real gateway:
config files, ports, logs and the network namespace, and the same start/stop path. One process
for all configs (`python -m reference_gateway --manifest`) pays Python's start-up once: twelve
starts one after another were 46% of a reference run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.cases.gateway import GatewaySpec
from conformance.protocol.sockets import Vantage
from conformance.targets import hermetic, registry
from conformance.targets.base import BindPlan, Endpoint, Target, TargetUnavailable
from conformance.targets.netns import Netns
from conformance.targets.process import (
    LOG_TAIL_LINES,
    GatewayProcess,
    free_port,
    stop_all,
    wait_ready,
)
from conformance.versions import Version
from reference_gateway.__main__ import EXIT_MARKER
from reference_gateway.profiles import PROFILES  # the reference's own: version, protocol

if TYPE_CHECKING:
    from conformance.cases.model import Case

START_TIMEOUT_S = 20.0
_EXITED = re.compile(re.escape(EXIT_MARKER) + r" (-?\d+)")


def profile_for(version: str | None) -> str:
    """The reference profile nearest a release: the 2026.3.13 emulation for the releases that
    clear device-less scopes without the later fixes (2026.3.12 up to 2026.3.22), else current."""
    parsed = Version.leading(version)
    if parsed is not None and (2026, 3, 12) <= parsed.release < (2026, 3, 22):
        return "2026.3.13"
    return "current"


@dataclass
class _Slot:
    """One config served by a reference process: its port, secrets and log file."""

    spec: GatewaySpec
    folder: Path
    port: int
    token: str | None
    password: str | None
    plan: BindPlan
    process: GatewayProcess
    kept: str | None = None  # the log's tail once the folder is gone

    @property
    def log_path(self) -> Path:
        return self.folder / "gateway.log"

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if self.kept is not None:
            text = self.kept
        else:
            try:
                text = self.log_path.read_text(errors="replace")
            except OSError:
                text = ""
        if self.process.exit_text() is not None:  # the whole process died: say why
            text = f"{text}\n{self.process.tail(lines)}"
        return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""

    def exited(self) -> str | None:
        """How this config's gateway ended: the process's exit, or the code its own log
        says this one gateway of the process stopped with."""
        died = self.process.exit_text()
        if died is not None:
            return died
        found = _EXITED.search(self.tail(5))
        return f"exited with code {found.group(1)}" if found else None


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
        registry.current().add("folder", str(self._workdir))
        self._endpoints: dict[GatewaySpec, Endpoint] = {}
        self._slots: dict[GatewaySpec, _Slot] = {}
        self._processes: list[GatewayProcess] = []
        self._wanted: tuple[GatewaySpec, ...] = ()
        self._lock = threading.RLock()
        self.start_times: dict[str, float] = {}
        self.wait_seconds = 0.0  # the cases' wait for gateways (bench/matrix.py)

    def plan(self, cases: Iterable[Case], selected: Iterable[Case] | None = None) -> None:
        """Also remember the configs of the selected cases: the first start serves them all."""
        cases = list(cases)
        super().plan(cases)
        chosen = cases if selected is None else list(selected)
        self._wanted = tuple(dict.fromkeys(c.gateway for c in chosen))

    serves_concurrently = True

    def endpoint(self, spec: GatewaySpec) -> Endpoint:
        with self._lock:
            if spec not in self._endpoints:
                waited = time.monotonic()
                try:
                    self._endpoints[spec] = self._start(spec)
                finally:
                    self.wait_seconds += time.monotonic() - waited
            return self._endpoints[spec]

    def _start(self, spec: GatewaySpec) -> Endpoint:
        if spec not in self._slots:
            # Every planned config not served yet starts with this one, in one process.
            self._launch([spec, *(s for s in self._wanted if s not in self._slots and s != spec)])
        slot = self._slots[spec]
        ns = self.netns
        port = slot.port
        loopback = Vantage("127.0.0.1", port, ns.loopback_connector(port) if ns else None)
        remote = Vantage(ns.inner_ip, port) if slot.plan.remote and ns else None
        what = f"reference gateway ({self.profile}, {spec.label})"
        seconds, _ = wait_ready(
            loopback, token=slot.token, password=slot.password, timeout=START_TIMEOUT_S,
            what=what, exited=slot.exited, log_tail=slot.tail,
        )  # fmt: skip
        self.start_times[spec.label] = seconds
        self._progress(f"{what} ready on port {port} in {seconds:.2f}s")
        return Endpoint(
            spec=spec,
            loopback=loopback,
            remote=remote,
            token=slot.token,
            password=slot.password,
            remote_peer_ip=ns.outer_ip if slot.plan.remote and ns else None,
            log_tail=slot.tail,
            version=self.version,
            remote_unavailable=slot.plan.remote_unavailable,
        )

    def _launch(self, specs: list[GatewaySpec]) -> None:
        ns = self.netns
        n = len(self._processes) + 1
        run_dir = self._workdir / f"run{n}"
        run_dir.mkdir()
        entries = []
        slots = []
        for i, spec in enumerate(specs, 1):
            folder = run_dir / f"gw{i}"
            folder.mkdir()
            token, password = hermetic.new_secrets(spec)
            # OpenClaw (and so the reference) listens beyond loopback only with auth, and only
            # for a config some case is remote for: the same plan as the real gateways'.
            plan = self.bind_plan(spec, can_reach_remote=ns is not None)
            config = spec.to_openclaw_config(
                token=token,
                password=password,
                remote_peer_ip=ns.outer_ip if ns else None,
                bind=plan.bind,
            )
            (folder / "openclaw.json").write_text(json.dumps(config, indent=2))
            port = free_port(ns.socket_inside) if ns else free_port()
            entries.append(
                {
                    "config": str(folder / "openclaw.json"),
                    "port": port,
                    "host": "0.0.0.0" if plan.remote else "127.0.0.1",
                    "log": str(folder / "gateway.log"),
                    "env": spec.environment(),
                }
            )
            slots.append((spec, folder, port, token, password, plan))
        manifest = run_dir / "manifest.json"
        manifest.write_text(json.dumps({"gateways": entries}, indent=2))
        argv = [sys.executable, "-m", "reference_gateway", "--manifest", str(manifest),
                "--profile", self.profile]  # fmt: skip
        if ns:
            argv = ns.wrap(argv)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for var in ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD"):
            env.pop(var, None)  # the config is the whole truth for a gateway we start
        env.pop("OPENCLAW_HANDSHAKE_TIMEOUT_MS", None)  # each gateway's own, in the manifest
        proc = GatewayProcess(argv, env=env, log_path=run_dir / "process.log")
        self._processes.append(proc)
        for spec, folder, port, token, password, plan in slots:
            self._slots[spec] = _Slot(spec, folder, port, token, password, plan, proc)

    def close(self) -> None:
        processes, self._processes = self._processes, []
        stop_all(processes)
        for slot in self._slots.values():
            if slot.kept is None:
                slot.kept = slot.tail(200)
        self._endpoints.clear()
        shutil.rmtree(self._workdir, ignore_errors=True)
        registry.current().discard("folder", str(self._workdir))
