"""The npm-release target: real OpenClaw gateways from a published npm version.

One hermetic gateway per distinct GatewaySpec: its own temp folder (HOME, state dir, config file,
TMPDIR), random secrets, a free port, its own process group, and a log file. Readiness is decided
by a real handshake, not by a log line, because the readiness lines differ between releases and
9.6 accepts TCP connections (answering `UNAVAILABLE "gateway starting"`) seconds before it serves.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from conformance.cases.gateway import GatewaySpec
from conformance.protocol.sockets import SocketFactory, Vantage
from conformance.targets import hermetic, registry
from conformance.targets import npmcache as provisioning
from conformance.targets.base import (
    CaseNotApplicable,
    CliRun,
    Endpoint,
    GatewayPool,
    GatewayStartError,
    TargetUnavailable,
)
from conformance.targets.process import (
    LOG_TAIL_LINES,
    STOP_GRACE_S,
    GatewayProcess,
    free_port,
    stop_all,
)
from conformance.targets.reload import (
    APPLY_TIMEOUT_S,
    Janitor,
    SwitchFailed,
    log_size,
    verify,
    wait_applied,
    wipe_pairings,
    write_config,
)
from conformance.targets.schedule import config_order
from conformance.versions import is_exact

if TYPE_CHECKING:
    from conformance.cases.model import Case

START_TIMEOUT_S = 60.0  # spawn to ready; 9.6 needs ~8-11 s on 2 cores, so this only bounds hangs
# Gateway processes alive at once (about 0.9 GB each for 9.6): two that take turns on the
# configs of one bind address and environment (one runs cases while the other switches), plus
# one per other bind address or environment the matrix needs.
MAX_LANES = 4
# A second lane of one kind measured slower on 2 cores: its cold start costs more CPU than
# the switches it hides.
LANES_PER_CLASS = 1
PREPARE_WORKERS = 1  # background starts and switches at a time (2 cores: one, beside the cases)
INTERRUPTED_GRACE_S = 1.0  # SIGTERM to SIGKILL for a gateway whose start was interrupted


class NetnsLike(Protocol):
    """What this target uses of `conformance.targets.netns` (written separately)."""

    inner_ip: str  # the gateway's address inside the namespace
    outer_ip: str  # the address the gateway sees for remote clients

    def wrap(self, argv: list[str]) -> list[str]: ...

    def loopback_connector(self, port: int) -> SocketFactory: ...


@dataclass
class _Gateway:
    """One gateway process (a lane): the config it runs now, and what a switch needs."""

    spec: GatewaySpec
    workdir: Path
    port: int
    process: GatewayProcess
    start_seconds: float | None = None
    endpoint: Endpoint | None = None
    bind: str = "loopback"
    drop: tuple[str, ...] = ()  # settings the release refused at the cold start
    janitor: Janitor | None = None
    busy: bool = False  # a start or switch owns it
    retired: bool = False
    configs: int = 1  # configs served so far

    def log_tail(self, n: int = LOG_TAIL_LINES) -> str:
        return self.process.tail(n)

    @property
    def log_path(self) -> Path:
        return self.process.log_path


def _enable_jiti_cache(package: Path) -> None:
    """Give the release a shared on-disk cache for jiti, its TypeScript loader.

    jiti caches transpiled plugins in `<dir>/node_modules/.cache/jiti` when
    `<dir>/node_modules` exists, `<dir>` being that of the file that created the loader
    (`<package>/dist`), else under TMPDIR, which is private to each gateway here (and
    JITI_FS_CACHE can only switch the cache on or off, not move it). A flat npm install of 3.13 has
    no such folder, so every start re-transpiled its extensions: ~18 s of CPU instead of ~2 s.
    Cache entries end with a hash of their source and jiti ignores an entry without it, so
    gateways writing the cache concurrently cannot load a torn file.
    """
    with contextlib.suppress(OSError):  # a read-only cache only costs start time
        (package / "dist" / "node_modules").mkdir(exist_ok=True)


class NpmTarget(GatewayPool):
    """Gateways started from `openclaw@<version>`, installed once into the cache."""

    kind = "npm"

    def __init__(
        self,
        version: str,
        cache_dir: str | os.PathLike[str] | None = None,
        progress: provisioning.ProgressFn = print,
        netns: NetnsLike | None = None,
        start_timeout: float = START_TIMEOUT_S,
        reuse: bool = True,
    ) -> None:
        self.spec_text = provisioning.normalize_spec(version)
        self.name = f"{provisioning.PACKAGE}@{self.spec_text}"
        self.version = self.spec_text if is_exact(self.spec_text) else None
        self.cache_dir = cache_dir
        self.progress = progress
        self.netns = netns
        self.start_timeout = start_timeout
        self.start_times: dict[GatewaySpec, float] = {}  # seconds from spawn to ready, per config
        self._node: Path | None = None
        self._package: Path | None = None
        self._provision_error: TargetUnavailable | None = None
        self._init_pool()
        self._all: list[_Gateway] = []  # every process started, including failed ones
        self._configs: dict[GatewaySpec, dict[str, Any]] = {}  # the last config written, per spec
        # Reuse: a running gateway is switched to the next config when it reloads its config
        # file (conformance.targets.reload); off for the rest of the run after a reload that
        # did not apply.
        self.reuse = reuse
        self.switch_times: dict[GatewaySpec, float] = {}
        self.cold_starts = 0
        # Seconds the cases waited for a gateway (starts and switches in the background that
        # finished before they were needed cost none).
        self.wait_seconds = 0.0
        self._order: list[GatewaySpec] = []
        self._position = -1  # index in _order of the config whose cases run now
        self._lanes_lock = threading.RLock()  # lanes, _all, _gateways, jobs: never held long
        self._jobs: dict[GatewaySpec, Future[_Gateway]] = {}
        self._held: Counter[GatewaySpec] = Counter()  # background commands using a config
        self._commands: set[subprocess.Popen[bytes]] = set()  # CLI commands running now
        self._executor: ThreadPoolExecutor | None = None
        atexit.register(self.close)

    def plan(self, cases: Iterable[Case], selected: Iterable[Case] | None = None) -> None:
        cases = list(cases)
        super().plan(cases, selected)
        self._order = config_order(c.gateway for c in (cases if selected is None else selected))

    # -- provisioning ------------------------------------------------------------------------

    def _provision(self) -> tuple[Path, Path]:
        """Node and the release, once; a failure is remembered so it is reported only once."""
        if self._provision_error is not None:
            raise self._provision_error
        if self._node is None or self._package is None:
            try:
                self.version = provisioning.resolve_version(
                    self.spec_text, self.cache_dir, self.progress
                )
                self._node = provisioning.ensure_node(self.cache_dir, self.progress)
                self._package = provisioning.ensure_release(
                    self.version, self.cache_dir, self.progress
                )
                _enable_jiti_cache(self._package)
            except (provisioning.ProvisioningError, OSError) as exc:
                self._provision_error = TargetUnavailable(f"cannot provision {self.name}: {exc}")
                raise self._provision_error from exc
        return self._node, self._package

    # -- Target ------------------------------------------------------------------------------

    def endpoint(self, spec: GatewaySpec) -> Endpoint:
        with self._lock:  # the pool's: one foreground request at a time
            if self._closed:
                raise TargetUnavailable(f"{self.name}: target already closed")
            if spec in self._failed:
                raise self._failed[spec]
            if spec in self._order:
                self._position = max(self._position, self._order.index(spec))
            gw = self._serving(spec)
            if gw is None:
                waited = time.monotonic()
                try:
                    gw = self._obtain(spec)
                except (GatewayStartError, CaseNotApplicable) as exc:
                    self._failed[spec] = exc
                    raise
                finally:
                    self.wait_seconds += time.monotonic() - waited
            self._prefetch()
            assert gw.endpoint is not None
            return gw.endpoint

    def _start_gateway(self, spec: GatewaySpec) -> _Gateway:
        return self._obtain(spec)

    # -- lanes: which process serves which config ---------------------------------------------

    def _serving(self, spec: GatewaySpec) -> _Gateway | None:
        with self._lanes_lock:
            gw = self._gateways.get(spec)
            if gw is not None and not gw.busy and not gw.retired and gw.endpoint is not None:
                return gw
            return None

    def _obtain(self, spec: GatewaySpec) -> _Gateway:
        """The gateway for `spec`: the background job preparing it, else a switch of a free
        lane or a cold start, now."""
        with self._lanes_lock:
            job = self._jobs.get(spec)
        if job is not None:
            try:
                return job.result()
            finally:
                with self._lanes_lock:
                    self._jobs.pop(spec, None)
        return self._prepare(spec, self._claim(spec))

    def _done(self, gw: _Gateway) -> bool:
        """Every case of the lane's config ran (cases run grouped, in `_order`), and no
        background command holds it."""
        if self._held[gw.spec]:
            return False
        return gw.spec in self._order and self._order.index(gw.spec) < self._position

    def hold(self, spec: GatewaySpec) -> None:
        with self._lanes_lock:
            self._held[spec] += 1

    def release(self, spec: GatewaySpec) -> None:
        with self._lanes_lock:
            self._held[spec] -= 1

    def _lane_bind(self, spec: GatewaySpec) -> str:
        return self.bind_plan(spec, can_reach_remote=self.netns is not None).bind

    def _claim(self, spec: GatewaySpec) -> _Gateway | None:
        """A free lane that can switch to `spec`, marked busy; None when there is none."""
        if not self.reuse:
            return None
        with self._lanes_lock:
            for gw in self._all:
                free = not gw.busy and not gw.retired and gw.endpoint is not None
                if free and self._same_process(gw, spec) and self._done(gw):
                    gw.busy = True
                    self._gateways.pop(gw.spec, None)
                    return gw
        return None

    def _same_process(self, gw: _Gateway, spec: GatewaySpec) -> bool:
        """`gw` can be switched to `spec`: the same environment and bind address."""
        return gw.spec.environment() == spec.environment() and gw.bind == self._lane_bind(spec)

    def _make_room(self) -> None:
        """Stop a lane whose config is done when MAX_LANES are alive."""
        with self._lanes_lock:
            live = [gw for gw in self._all if not gw.retired]
            starting = sum(1 for j in self._jobs.values() if not j.done())
            if len(live) + starting < MAX_LANES:
                return
            spare = next((gw for gw in live if not gw.busy and self._done(gw)), None)
            if spare is None:
                return
            self._retire(spare)
        self._stop_one(spare)

    def _retire(self, gw: _Gateway) -> None:
        """Take a lane out of service (its process is stopped by the caller)."""
        with self._lanes_lock:
            gw.retired = True
            self._gateways.pop(gw.spec, None)

    def _prepare(self, spec: GatewaySpec, lane: _Gateway | None) -> _Gateway:
        if lane is not None:
            try:
                return self._switch(lane, spec)
            except SwitchFailed as exc:
                self.progress(
                    f"{self.name}: could not switch the gateway [{lane.spec.label}] to "
                    f"[{spec.label}]: {exc}; starting [{spec.label}] cold"
                )
                if not exc.reloads:
                    # The release does not watch its config file: no other switch will work.
                    self.reuse = False
                self._retire(lane)
                self._stop_one(lane)
        self._make_room()
        return self._cold(spec)

    def _prefetch(self) -> None:
        """Prepare, in the background, the next config no lane serves yet: on a lane whose
        cases are done (a switch) or on a new lane (a cold start), one job at a time."""
        if self._closed:
            return
        with self._lanes_lock:
            if any(not j.done() for j in self._jobs.values()):
                return
            served = {gw.spec for gw in self._all if not gw.retired}
            taken = served | set(self._jobs) | set(self._failed)
            upcoming = [s for s in self._order[self._position + 1 :] if s not in taken]
            # A lane no later config can use only costs memory and CPU (a 9.6 gateway keeps
            # working for ~6 s after it is ready): stop it now.
            useless = [gw for gw in self._all
                       if not gw.retired and not gw.busy and self._done(gw)
                       and not any(self._same_process(gw, s) for s in upcoming)]  # fmt: skip
            for gw in useless:
                self._retire(gw)
            if useless:
                threading.Thread(
                    target=lambda: [self._stop_one(gw) for gw in useless],
                    name="conformance-retire", daemon=True,
                ).start()  # fmt: skip
            for spec in upcoming:
                lane = self._claim(spec)
                live = [gw for gw in self._all if not gw.retired]
                spare = any(not gw.busy and self._done(gw) for gw in live)
                if lane is None and len(live) >= MAX_LANES and not spare:
                    continue
                kin = [gw for gw in live if self._same_process(gw, spec)]
                if lane is None and len(kin) >= LANES_PER_CLASS:
                    continue  # one of them will be free to switch: cheaper than a cold start
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        PREPARE_WORKERS, thread_name_prefix="conformance-prepare"
                    )
                self._jobs[spec] = self._executor.submit(self._prepare, spec, lane)
                return

    def _cold(self, spec: GatewaySpec) -> _Gateway:
        node, package = self._provision()
        try:
            gw = self._start(spec, node, package)
        except GatewayStartError as exc:
            # A lost free-port race is not the config's fault: try once more.
            if "EADDRINUSE" in str(exc) or "address already in use" in str(exc):
                gw = self._start(spec, node, package)
            else:
                raise
        self.cold_starts += 1
        with self._lanes_lock:
            self._gateways[spec] = gw
        return gw

    def _switch(self, gw: _Gateway, spec: GatewaySpec) -> _Gateway:
        """Clean the lane, write `spec`'s config, prove the gateway runs it (reload.py)."""
        started = time.monotonic()
        old, endpoint = gw.spec, gw.endpoint
        assert endpoint is not None and endpoint.loopback is not None
        gw.janitor = gw.janitor or Janitor()
        try:
            cleaned = wipe_pairings(
                gw.janitor, endpoint.loopback, endpoint.token, endpoint.password
            )
        except SwitchFailed as exc:
            raise SwitchFailed(f"cannot clean it: {exc}") from exc
        plan = self.bind_plan(spec, can_reach_remote=self.netns is not None)
        token, password = hermetic.new_secrets(spec)
        config = self._render_config(
            spec, token=token, password=password, bind=gw.bind, workdir=gw.workdir
        )
        if gw.drop:
            config = hermetic.without_settings(config, gw.drop)
        offset = log_size(gw.log_path)
        write_config(gw.workdir / "openclaw.json", config)
        self._configs[spec] = config
        applied = wait_applied(
            gw.log_path, offset, exited=gw.process.exit_text, timeout=APPLY_TIMEOUT_S
        )
        verify(
            endpoint.loopback, token=token, password=password, exited=gw.process.exit_text,
            log_tail=gw.log_tail, timeout=APPLY_TIMEOUT_S,
        )  # fmt: skip
        seconds = time.monotonic() - started
        with self._lanes_lock:
            gw.spec = spec
            gw.configs += 1
            gw.endpoint = Endpoint(
                spec=spec,
                loopback=endpoint.loopback,
                remote=endpoint.remote if plan.remote else None,
                token=token,
                password=password,
                remote_peer_ip=endpoint.remote_peer_ip if plan.remote else None,
                log_tail=gw.log_tail,
                version=self.version,
                remote_unavailable=plan.remote_unavailable,
                unsupported=gw.drop,
            )
            gw.busy = False
            self._gateways[spec] = gw
        self.start_times[spec] = self.switch_times[spec] = seconds
        self.progress(
            f"{self.name}: gateway on port {gw.port} switched [{old.label}] -> [{spec.label}] "
            f"in {seconds:.1f} s ({cleaned}; log: {applied[-80:]})"
        )
        return gw

    ships_cli = True

    def run_cli(self, spec: GatewaySpec, args: list[str], timeout: float) -> CliRun:
        """`openclaw ARGS` of this release, with the gateway's own HOME, state dir and config (a
        user on the gateway host), inside the namespace when there is one."""
        self.endpoint(spec)
        node, package = self._provision()
        gw = self._gateways[spec]
        argv = [str(node), str(provisioning.entry_point(package)), *args]
        if self.netns is not None:
            argv = self.netns.wrap(argv)
        env = self._environment(node, gw.workdir, gw.port, spec)
        started = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=gw.workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        # A command may run in the background (the plugin's CLI runs): close() and the next
        # run's sweep must find it too.
        registry.current().add_process(proc.pid)
        with self._lanes_lock:
            self._commands.add(proc)
        try:
            out, _ = proc.communicate(timeout=timeout)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            code = None
        finally:
            with self._lanes_lock:
                self._commands.discard(proc)
            registry.current().discard_process(proc.pid)
        return CliRun(
            argv=tuple(args),
            exit_code=code,
            output=out.decode("utf-8", "replace"),
            seconds=time.monotonic() - started,
        )

    def close(self) -> None:
        """Stop every process group started, then remove the folders. Idempotent, Ctrl-C safe."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            # Jobs not started yet never start; a running one ends when its gateway is stopped
            # below (its wait sees the exit), and its own gateway is registered in _all first.
            executor.shutdown(wait=False, cancel_futures=True)
        with self._lanes_lock:
            gateways, self._all = self._all, []
            self._gateways.clear()
            commands = list(self._commands)
        for proc in commands:  # a CLI command still running in the background
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        _stop_all(gateways)
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    # -- internals ---------------------------------------------------------------------------

    def _render_config(
        self,
        spec: GatewaySpec,
        *,
        token: str | None,
        password: str | None,
        bind: str,
        workdir: Path,
    ) -> dict[str, Any]:
        """The openclaw.json for this spec (a seam: tests override it to produce a bad config)."""
        return hermetic.render_config(
            spec, token=token, password=password,
            remote_peer_ip=self.netns.outer_ip if self.netns is not None else None,
            bind=bind, log_file=str(workdir / "openclaw-file.log"),
        )  # fmt: skip

    def _environment(
        self, node: Path, workdir: Path, port: int, spec: GatewaySpec
    ) -> dict[str, str]:
        env = hermetic.environment(
            str(workdir), port=port, spec=spec,
            compile_cache=str(self._shared_cache("node-compile-cache")),
        )  # fmt: skip
        env["PATH"] = os.pathsep.join([str(node.parent), "/usr/local/bin", "/usr/bin", "/bin"])
        # 2026.4.21 and 4.25 npm-install their bundled plugins' runtime deps before they listen
        # (from the registry, which a gateway in the run's network namespace cannot reach: never
        # ready). No handshake case needs a bundled plugin (channels, providers, tools); without
        # them those releases start in seconds, and other releases ignore the variable.
        env["OPENCLAW_DISABLE_BUNDLED_PLUGINS"] = "1"
        return env

    def _shared_cache(self, kind: str) -> Path:
        # Per release: entries are keyed by content anyway, but this keeps each bounded and
        # removable with its release. Node's compile cache adds a node-version subfolder itself.
        path = provisioning.cache_dir(self.cache_dir) / "runtime-cache" / str(self.version) / kind
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _start(self, spec: GatewaySpec, node: Path, package: Path) -> _Gateway:
        """Start the config as the release accepts it: when a start fails because the release
        refuses a setting no case of the config depends on (hermetic.refused_settings) or
        loopback as the bind address (hermetic.refuses_loopback_bind), start it once more
        without that; any other start failure is the config's error."""
        drop: tuple[str, ...] = ()
        bind: str | None = None
        while True:
            try:
                return self._launch(spec, node, package, drop=drop, bind=bind)
            except GatewayStartError as exc:
                text = str(exc)
                if hermetic.refuses_auth_mode(text):
                    # 2026.2.1 has neither auth none nor trusted-proxy: no config of that mode
                    # exists there, so its cases are not applicable (said once per config).
                    raise CaseNotApplicable(
                        f"this release has no gateway auth mode {spec.auth!r} (its config "
                        "validation refuses gateway.auth.mode)"
                    ) from exc
                refused = tuple(
                    s
                    for s in hermetic.refused_settings(self._configs.get(spec, {}), text)
                    if s not in drop
                )
                lan = bind is None and hermetic.refuses_loopback_bind(text)
                if not refused and not lan:
                    raise
            drop += refused
            bind = "lan" if lan else bind
            what = [
                *(f"refuses {s}" for s in refused),
                *(["will not bind loopback"] if lan else []),
            ]
            self.progress(
                f"{self.name}: the release {' and '.join(what)}; starting [{spec.label}] again "
                "without it (cases that depend on it are not applicable here)"
            )

    def _launch(
        self,
        spec: GatewaySpec,
        node: Path,
        package: Path,
        *,
        drop: tuple[str, ...],
        bind: str | None,
    ) -> _Gateway:
        self.progress(f"{self.name}: starting a gateway [{spec.label}]...")
        plan = self.bind_plan(spec, can_reach_remote=self.netns is not None)
        remote_ok, bind = plan.remote, bind or plan.bind
        token, password = hermetic.new_secrets(spec)
        workdir = Path(tempfile.mkdtemp(prefix=f"openclaw-npm-{hermetic.safe_label(spec)}-"))
        registry.current().add("folder", str(workdir))
        for sub in ("home", "state", "tmp"):
            (workdir / sub).mkdir()
        try:
            config = self._render_config(
                spec, token=token, password=password, bind=bind, workdir=workdir
            )
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        if drop:
            config = hermetic.without_settings(config, drop)
        self._configs[spec] = config  # one start per config at a time (the pool's)
        (workdir / "openclaw.json").write_text(json.dumps(config, indent=2))
        port = free_port()
        argv = [
            str(node), str(provisioning.entry_point(package)),
            "gateway", "run", "--port", str(port), "--bind", bind, "--allow-unconfigured",
        ]  # fmt: skip
        if self.netns is not None:
            argv = self.netns.wrap(argv)
        started = time.monotonic()
        try:
            process = GatewayProcess(
                argv,
                env=self._environment(node, workdir, port, spec),
                log_path=workdir / "gateway.log",
                cwd=workdir,
            )
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise TargetUnavailable(f"{self.name}: cannot run {argv[0]}: {exc}") from exc
        gw = _Gateway(
            spec=spec, workdir=workdir, port=port, process=process, bind=bind, drop=drop, busy=True
        )
        # Registered before waiting, so Ctrl-C during the wait still stops it (close/atexit).
        with self._lanes_lock:
            if self._closed:
                _stop_all([gw])
                raise TargetUnavailable(f"{self.name}: target closed while starting")
            self._all.append(gw)

        remote: Vantage | None = None
        remote_peer_ip: str | None = None
        if self.netns is not None:
            loopback = Vantage("127.0.0.1", port, connect=self.netns.loopback_connector(port))
            if remote_ok:
                remote, remote_peer_ip = Vantage(self.netns.inner_ip, port), self.netns.outer_ip
        else:
            loopback = Vantage("127.0.0.1", port)

        try:
            _, hello = process.wait_ready(
                loopback,
                token=token,
                password=password,
                timeout=max(0.0, started + self.start_timeout - time.monotonic()),
                what=f"{self.name}: gateway [{spec.label}]",
                error=GatewayStartError,
            )
        except Exception:
            self._stop_one(gw)
            raise
        except BaseException:
            # Ctrl-C or SIGTERM during the start: no later start (a background one included)
            # may begin, and a gateway still starting up (9.6 ignores SIGTERM then) is not given
            # the full grace.
            self._closed = True
            self._stop_one(gw, grace=INTERRUPTED_GRACE_S)
            raise
        gw.start_seconds = time.monotonic() - started
        self.start_times[spec] = gw.start_seconds
        if self.protocol is None and hello.protocol is not None:
            self.protocol = hello.protocol
        self.progress(
            f"{self.name}: gateway [{spec.label}] ready on port {port} in {gw.start_seconds:.1f} s"
        )
        gw.endpoint = Endpoint(
            spec=spec,
            loopback=loopback,
            remote=remote,
            token=token,
            password=password,
            remote_peer_ip=remote_peer_ip,
            log_tail=gw.log_tail,
            version=self.version,
            remote_unavailable=plan.remote_unavailable,
            unsupported=drop,
        )
        gw.busy = False
        return gw

    def _stop_one(self, gw: _Gateway, grace: float = STOP_GRACE_S) -> None:
        _stop_all([gw], grace)
        with self._lanes_lock, contextlib.suppress(ValueError):
            self._all.remove(gw)


def _stop_all(gateways: list[_Gateway], grace: float = STOP_GRACE_S) -> None:
    """Stop every gateway's process group, then remove the folders (the log tail is kept)."""
    try:
        stop_all([gw.process for gw in gateways], grace)
    finally:
        for gw in gateways:
            shutil.rmtree(gw.workdir, ignore_errors=True)
            registry.current().discard("folder", str(gw.workdir))
