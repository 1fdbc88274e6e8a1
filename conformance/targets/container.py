"""The container target: real OpenClaw gateways in Docker containers, through the docker SDK.

`--gateway-image IMAGE` takes the official image (`ghcr.io/openclaw/openclaw:<version>`, pulled
where a registry is reachable) or one built locally by `openclaw-conformance image build` (an
image of ours that is missing is built on the spot). The image's own entrypoint/command runs the
gateway; everything else comes from the environment and a mounted folder, as with the official
image: `OPENCLAW_CONFIG_PATH` (the hermetic config), `OPENCLAW_STATE_DIR`, `HOME`, `TMPDIR`,
`OPENCLAW_GATEWAY_PORT` and the same quiet switches as the npm target.

One container per distinct GatewaySpec, on a Docker bridge network. One container serves both
localities:
- **remote**: the harness dials the container's bridge address directly; the gateway sees the
  bridge gateway (the host's address on that bridge) as the peer, which is
  `Endpoint.remote_peer_ip` and what the symbolic `remote-peer` trusted proxy renders to;
- **loopback**: a socket created inside the container's network namespace
  (`/proc/<container pid>/ns/net`, joined with setns in a short-lived thread) dials 127.0.0.1.
OpenClaw refuses a non-loopback bind without auth, so an auth-none gateway listens on loopback
only and has no remote vantage (`Endpoint.remote_unavailable` says so); so does a config none of
whose cases is remote (`Target.bind_plan`).

Which bridge: by default (`network=None`) the target creates its own bridge network in
198.19.<k>.0/24 (the benchmarking range, like the netns of the other targets; 198.18.x is theirs)
and removes it at close. Docker's default bridge (`network="bridge"`, 172.17.0.0/16) works too,
but its addresses are private (RFC 1918), and 2026.9.6 treats a private peer differently from a
public one: it accepts the gateway-host Origin (`http://172.17.0.x:18789`) from a non-local
Control UI, which a non-private remote peer is refused (K9). Two packaged cases
(`token.remote.origin-gateway.unpaired.control-ui`,
`trusted-proxy.proxied.no-device.control-ui.gateway-origin`) then fail on the default bridge only.

No container outlives the session: each is labelled with this session (pid and its start time)
and this target, `close()` removes them (also at exit, and after Ctrl-C through the plugin's
unconfigure), and a new session first removes labelled containers whose session has died.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.cases.gateway import REMOTE_PEER_PROXY, GatewaySpec
from conformance.protocol.sockets import Vantage, namespace_connector
from conformance.targets import hermetic
from conformance.targets import image as images
from conformance.targets import npmcache as provisioning
from conformance.targets.base import (
    BindPlan,
    CliRun,
    Endpoint,
    GatewayPool,
    GatewayStartError,
    TargetUnavailable,
)
from conformance.targets.process import descendants, wait_ready
from conformance.versions import Version

START_TIMEOUT_S = 90.0  # create to ready; 9.6 needs ~6-10 s on 2 cores, this only bounds hangs
CLI_DRAIN_S = 5.0  # after a CLI run's timeout: what it wrote so far, once it is killed
LOG_TAIL_LINES = 40
GATEWAY_PORT = 18789  # inside the container's own network namespace, so never a conflict
MOUNT = "/openclaw-conformance"  # the per-gateway folder inside the container
WORKDIR_PREFIX = "openclaw-container-"  # host temp folders, one per gateway
CACHE_MOUNT = "/openclaw-conformance-cache"  # shared per image: node's compile cache

LABEL_SESSION = "openclaw-conformance.session"  # pid of the harness process
LABEL_SESSION_START = "openclaw-conformance.session-start"  # its start time (pid reuse)
LABEL_HOST = "openclaw-conformance.host"  # boot id: pids only mean something on this boot
LABEL_TARGET = "openclaw-conformance.target"  # one ContainerTarget instance
LABEL_SPEC = "openclaw-conformance.spec"

OWN_SUBNET_PREFIX = "198.19"  # own networks: 198.19.<k>.0/24, k in 1..250


class ContainerStartError(GatewayStartError):
    """One gateway config failed to start in a container; message has the log tail.

    Not a TargetUnavailable: another config of the same image may start fine.
    """


# ---------------------------------------------------------------------------------------------
# sessions and leftovers


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return socket.gethostname()


def _process_start(pid: int) -> str | None:
    """The start time of a process in clock ticks since boot, or None if it does not run.

    A zombie (killed, not reaped yet by its parent) counts as not running.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # state, ppid, ...; starttime is field 22
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _session_alive(pid: int, start: str | None) -> bool:
    """Whether the session that labelled a container still runs (same pid, same start time)."""
    if Path("/proc").is_dir():
        current = _process_start(pid)
        return current is not None and (not start or current == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def session_labels() -> dict[str, str]:
    pid = os.getpid()
    return {
        LABEL_SESSION: str(pid),
        LABEL_SESSION_START: _process_start(pid) or "",
        LABEL_HOST: _boot_id(),
    }


def _of_dead_session(labels: dict[str, str], boot: str) -> bool:
    """Labelled by a session of this boot whose process is gone (or whose pid was reused)."""
    if labels.get(LABEL_HOST) != boot:
        return False
    try:
        pid = int(labels.get(LABEL_SESSION, ""))
    except ValueError:
        return False
    return not _session_alive(pid, labels.get(LABEL_SESSION_START) or None)


def sweep_stale(client: Any, progress: provisioning.ProgressFn = print) -> list[str]:
    """Remove containers left by dead sessions of this harness on this machine; return their ids.

    Only containers labelled by a session on this boot whose process is gone (or whose pid now
    belongs to another process) are removed: a live session's containers are never touched.
    """
    removed: list[str] = []
    boot = _boot_id()
    for container in client.containers.list(all=True, filters={"label": LABEL_SESSION}):
        if not _of_dead_session(container.labels or {}, boot):
            continue
        workdirs = [
            Path(m["Source"])
            for m in container.attrs.get("Mounts") or []
            if m.get("Destination") == MOUNT
            and Path(m.get("Source") or "/").name.startswith(WORKDIR_PREFIX)
        ]
        with contextlib.suppress(Exception):
            container.remove(force=True, v=True)
            removed.append(container.id)
            for workdir in workdirs:  # its hermetic folder, which the dead session left too
                shutil.rmtree(workdir, ignore_errors=True)
    networks = 0
    for network in client.networks.list(filters={"label": LABEL_SESSION}):
        if not _of_dead_session(network.attrs.get("Labels") or {}, boot):
            continue
        with contextlib.suppress(Exception):
            network.remove()
            networks += 1
    if removed or networks:
        progress(
            f"removed {len(removed)} container(s) and {networks} network(s) left by dead "
            "conformance sessions"
        )
    return removed


def _host_ipv4_in_use() -> str:
    with contextlib.suppress(Exception):
        return subprocess.run(
            ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=10,
            check=False,
        ).stdout  # fmt: skip
    return ""


def create_own_network(client: Any, name: str, labels: dict[str, str]) -> Any:
    """A bridge network in a free 198.19.<k>.0/24; Docker refuses overlapping pools atomically."""
    import docker

    used = _host_ipv4_in_use()
    start = os.getpid() % 250
    last: Exception | None = None
    for i in range(250):
        k = (start + i) % 250 + 1
        subnet, gateway = f"{OWN_SUBNET_PREFIX}.{k}.0/24", f"{OWN_SUBNET_PREFIX}.{k}.1"
        if f" {OWN_SUBNET_PREFIX}.{k}." in used:
            continue
        ipam = docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=gateway)]
        )
        try:
            return client.networks.create(name, driver="bridge", ipam=ipam, labels=labels)
        except docker.errors.APIError as exc:
            if "overlap" not in str(exc).lower():
                raise
            last = exc
    raise TargetUnavailable(f"no free {OWN_SUBNET_PREFIX}.x.0/24 for a Docker network ({last})")


# ---------------------------------------------------------------------------------------------
# the target


@dataclass
class _Gateway:
    spec: GatewaySpec
    workdir: Path
    container: Any  # docker.models.containers.Container
    start_seconds: float | None = None
    endpoint: Endpoint | None = None
    final_tail: list[str] = field(default_factory=list)  # kept after the container is removed
    removed: bool = False

    def log_tail(self, n: int = LOG_TAIL_LINES) -> str:
        if n <= 0:
            return ""
        lines = self.final_tail
        if not self.removed:
            try:
                raw = self.container.logs(stdout=True, stderr=True, tail=n)
                lines = raw.decode("utf-8", "replace").splitlines()
            except Exception:
                lines = self.final_tail
        return "\n".join(lines[-n:])

    def state(self) -> dict[str, Any]:
        self.container.reload()
        return self.container.attrs.get("State") or {}


def _network_gateway(attrs: dict[str, Any]) -> str | None:
    """The host's IPv4 address on a Docker network: the peer its containers see for the host.

    The IPAM config names it when set explicitly; the default bridge often lists only the
    subnet, so ask the bridge interface itself, and fall back to the subnet's first address,
    which is what Docker assigns to the bridge by default.
    """
    configs = (attrs.get("IPAM") or {}).get("Config") or []
    for cfg in configs:
        gw = cfg.get("Gateway")
        if gw and ":" not in gw:
            return str(gw)
    bridge = (attrs.get("Options") or {}).get("com.docker.network.bridge.name")
    if bridge and shutil.which("ip"):
        with contextlib.suppress(Exception):
            out = subprocess.run(
                ["ip", "-4", "-o", "addr", "show", "dev", bridge],
                capture_output=True, text=True, timeout=10, check=False,
            ).stdout  # fmt: skip
            m = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/", out)
            if m:
                return m.group(1)
    for cfg in configs:
        with contextlib.suppress(ValueError, TypeError):
            net = ipaddress.ip_network(cfg.get("Subnet"), strict=False)
            if net.version == 4:
                return str(next(net.hosts()))
    return None


def _version_from_tag(image: str) -> str | None:
    ref = image.split("@", 1)[0]
    tail = ref.rsplit("/", 1)[-1]
    if ":" not in tail:
        return None
    version = Version.from_tag(tail.rsplit(":", 1)[1])
    return str(version) if version else None


class ContainerTarget(GatewayPool):
    """Gateways started from a container image, one container per distinct GatewaySpec."""

    kind = "container"

    def __init__(
        self,
        image: str,
        *,
        progress: provisioning.ProgressFn = print,
        cache_dir: str | os.PathLike[str] | None = None,
        start_timeout: float = START_TIMEOUT_S,
        command: list[str] | None = None,
        network: str | None = None,
    ) -> None:
        self.image = image
        self.name = image
        self.version = _version_from_tag(image)
        self.progress = progress
        self.cache_dir = cache_dir
        self.start_timeout = start_timeout
        self.command = command  # None: the image's own entrypoint/command runs the gateway
        self.network = network  # None: a network of our own, created at prepare
        self._own_network: Any = None
        self.target_id = uuid.uuid4().hex[:12]
        self.labels = {**session_labels(), LABEL_TARGET: self.target_id}
        self.start_times: dict[GatewaySpec, float] = {}  # seconds from create to ready
        self.bridge_gateway: str | None = None  # the peer address remote clients appear as
        self._image_user = ""
        self._image_workdir = images.APP_DIR  # where `node openclaw.mjs` runs (official: /app)
        self._client: Any = None
        self._prepared = False
        self._prepare_error: TargetUnavailable | None = None
        self._init_pool()
        self._all: list[_Gateway] = []  # every container started, including failed ones
        atexit.register(self.close)

    # -- preparation -------------------------------------------------------------------------

    def prepare(self) -> None:
        """Docker answers, the image is here (pulled or built if needed), leftovers swept."""
        with self._lock:
            if self._prepare_error is not None:
                raise self._prepare_error
            if self._prepared:
                return
            try:
                self._prepare()
            except TargetUnavailable as exc:
                self._prepare_error = exc
                raise
            self._prepared = True

    def _prepare(self) -> None:
        try:
            self._client = images.docker_client()
        except images.ImageBuildError as exc:
            raise TargetUnavailable(f"{self.name}: {exc}") from exc
        try:
            sweep_stale(self._client, self.progress)
            img = self._ensure_image()
            if self.network is None:
                name = f"openclaw-conformance-{os.getpid()}-{self.target_id[:6]}"
                self._own_network = create_own_network(self._client, name, self.labels)
                self.network = name
                net = self._own_network
                net.reload()
            else:
                net = self._client.networks.get(self.network)
        except TargetUnavailable:
            raise
        except Exception as exc:
            raise TargetUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        labels = img.labels
        self.version = (
            labels.get(images.LABEL_VERSION) or labels.get(images.OCI_VERSION) or self.version
        )
        config = img.attrs.get("Config") or {}
        self._image_user = str(config.get("User") or "")
        self._image_workdir = str(config.get("WorkingDir") or images.APP_DIR)
        self.bridge_gateway = _network_gateway(net.attrs)

    def _ensure_image(self) -> Any:
        import docker

        try:
            return self._client.images.get(self.image)
        except docker.errors.ImageNotFound:
            pass
        repo = self.image.rsplit(":", 1)[0] if ":" in self.image.rsplit("/", 1)[-1] else self.image
        version = _version_from_tag(self.image)
        if repo == images.DEFAULT_REPOSITORY and version:
            # One of ours, not built yet on this machine: build it (no registry involved).
            try:
                images.build_image(version, tag=self.image, cache=self.cache_dir,
                                   progress=self.progress)  # fmt: skip
            except (images.ImageBuildError, provisioning.ProvisioningError) as exc:
                raise TargetUnavailable(f"cannot build image {self.image}: {exc}") from exc
            return self._client.images.get(self.image)
        self.progress(f"image {self.image} is not here: pulling it...")
        try:
            self._client.images.pull(self.image)
            return self._client.images.get(self.image)
        except Exception as exc:
            raise TargetUnavailable(
                f"image {self.image} is not available locally and cannot be pulled ({exc}); "
                "without a registry, build one with "
                "`openclaw-conformance image build openclaw@<version>` and pass "
                f"--gateway-image {images.DEFAULT_REPOSITORY}:<version>"
            ) from exc

    # -- Target ------------------------------------------------------------------------------

    def _start_gateway(self, spec: GatewaySpec) -> _Gateway:
        self.prepare()
        return self._start(spec)

    ships_cli = True

    def run_cli(self, spec: GatewaySpec, args: list[str], timeout: float) -> CliRun:
        """`openclaw ARGS` inside the gateway's container (an exec), with the gateway's own HOME,
        state dir and config: a user on the gateway host. At the timeout what it ran is killed
        (the harness shares the Docker host's pid namespace, as the loopback vantage needs)."""
        self.endpoint(spec)
        gw = self._gateways[spec]
        started = time.monotonic()
        code, output = self._exec(gw, ["node", f"{provisioning.PACKAGE}.mjs", *args], timeout)
        return CliRun(
            argv=tuple(args),
            exit_code=code,
            output=output.decode("utf-8", "replace"),
            seconds=time.monotonic() - started,
        )

    def _exec(self, gw: _Gateway, argv: list[str], timeout: float) -> tuple[int | None, bytes]:
        """Run `argv` in the gateway's container with its environment; return the exit code
        (None: killed at the timeout) and stdout+stderr as written."""
        api = self._client.api
        exec_id = api.exec_create(
            gw.container.id, argv, stdout=True, stderr=True, stdin=False, tty=False,
            environment=[f"{key}={value}" for key, value in self._environment(gw.spec).items()],
            workdir=self._image_workdir,
        )["Id"]  # fmt: skip
        # No tty: stdout and stderr arrive as frames in the order they were written, interleaved
        # as one stream, like a pipe shared by both.
        stream = api.exec_start(exec_id, stream=True, demux=False)
        chunks: list[bytes] = []

        def drain() -> None:
            with contextlib.suppress(Exception):  # the stream is closed under us at a timeout
                for chunk in stream:
                    chunks.append(chunk)

        reader = threading.Thread(target=drain, name="conformance-exec", daemon=True)
        reader.start()
        reader.join(timeout)
        code: int | None = None
        if reader.is_alive():
            self._kill_exec(exec_id)
            reader.join(CLI_DRAIN_S)
            stream.close()
        else:
            code = self._exec_exit_code(exec_id)
        return code, b"".join(chunks)

    def _kill_exec(self, exec_id: str) -> None:
        """SIGKILL an exec'd process and everything it started (host pids, from /proc)."""
        with contextlib.suppress(Exception):
            pid = int(self._client.api.exec_inspect(exec_id).get("Pid") or 0)
            if pid > 0:
                for victim in [pid, *descendants(pid)]:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(victim, signal.SIGKILL)

    def _exec_exit_code(self, exec_id: str) -> int | None:
        """The exit code of a finished exec; the daemon may record it a moment after the output
        ends."""
        deadline = time.monotonic() + CLI_DRAIN_S
        while True:
            info = self._client.api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def close(self) -> None:
        """Remove every container started (and any left labelled with this target). Idempotent."""
        with self._lock:
            self._closed = True
            gateways, self._all = self._all, []
            self._gateways.clear()
            client, self._client = self._client, None
        if gateways:  # in parallel: removing 11 containers takes ~7 s one by one
            with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(self._remove, gateways))
        if client is not None:
            # Also what a Ctrl-C between `create` and our bookkeeping may have left behind.
            with contextlib.suppress(Exception):
                for c in client.containers.list(
                    all=True, filters={"label": f"{LABEL_TARGET}={self.target_id}"}
                ):
                    with contextlib.suppress(Exception):
                        c.remove(force=True, v=True)
            # Our own network, once no container of ours is attached to it any more.
            with contextlib.suppress(Exception):
                for n in client.networks.list(
                    filters={"label": f"{LABEL_TARGET}={self.target_id}"}
                ):
                    with contextlib.suppress(Exception):
                        n.remove()
            client.close()
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    def containers(self) -> list[str]:
        """Ids of the containers this target runs now (for tests and diagnostics)."""
        with self._lock:
            return [gw.container.id for gw in self._all if not gw.removed]

    # -- internals ---------------------------------------------------------------------------

    def _render_config(
        self, spec: GatewaySpec, *, token: str | None, password: str | None, bind: str
    ) -> dict[str, Any]:
        config = hermetic.render_config(
            spec, token=token, password=password, remote_peer_ip=self.bridge_gateway,
            bind=bind, log_file=f"{MOUNT}/openclaw-file.log",
        )  # fmt: skip
        config["gateway"]["port"] = GATEWAY_PORT
        return config

    def _environment(self, spec: GatewaySpec) -> dict[str, str]:
        # PATH is not set: the image's own PATH finds its node.
        return hermetic.environment(
            MOUNT, port=GATEWAY_PORT, spec=spec,
            compile_cache=f"{CACHE_MOUNT}/node-compile-cache",
        )  # fmt: skip

    def _shared_cache(self) -> Path:
        """Per image: node's compile cache, shared by this image's containers across runs."""
        key = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.image)[:120]
        path = provisioning.cache_dir(self.cache_dir) / "runtime-cache" / "container" / key
        (path / "node-compile-cache").mkdir(parents=True, exist_ok=True)
        self._open_up(path)
        self._open_up(path / "node-compile-cache")
        return path

    def _open_up(self, path: Path, file: bool = False) -> None:
        """Let a non-root image user (the official image runs as `node`) use a mounted path."""
        user = self._image_user.split(":", 1)[0]
        if user in ("", "root", "0"):
            return
        if user.isdigit():
            with contextlib.suppress(OSError):
                os.chown(path, int(user), -1)
                return
        with contextlib.suppress(OSError):
            path.chmod(0o644 if file else 0o777)

    def _make_workdir(self, spec: GatewaySpec, config: dict[str, Any]) -> Path:
        workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{hermetic.safe_label(spec)}-"))
        workdir.chmod(0o755)
        for sub in ("home", "state", "tmp"):
            (workdir / sub).mkdir()
            self._open_up(workdir / sub)
        cfg = workdir / "openclaw.json"
        cfg.write_text(json.dumps(config, indent=2))
        cfg.chmod(0o600)
        self._open_up(cfg, file=True)
        self._open_up(workdir)
        return workdir

    def _start(self, spec: GatewaySpec) -> _Gateway:
        self.progress(f"{self.name}: starting a gateway [{spec.label}]...")
        # The bridge network is always there: the plan decides by the config and its cases.
        plan = self.bind_plan(spec, can_reach_remote=True)
        bind = plan.bind
        token, password = hermetic.new_secrets(spec)
        config = self._render_config(spec, token=token, password=password, bind=bind)
        workdir = self._make_workdir(spec, config)
        started = time.monotonic()
        try:
            container = self._client.containers.run(
                self.image,
                self.command,  # None: the image's own entrypoint and command
                detach=True,
                environment=self._environment(spec),
                volumes={
                    str(workdir): {"bind": MOUNT, "mode": "rw"},
                    str(self._shared_cache()): {"bind": CACHE_MOUNT, "mode": "rw"},
                },
                labels={**self.labels, LABEL_SPEC: spec.label[:200]},
                network=self.network,
            )
        except Exception as exc:
            # A container may exist (created, not started): the target label finds it at close.
            shutil.rmtree(workdir, ignore_errors=True)
            raise ContainerStartError(
                f"{self.name}: cannot start a container for [{spec.label}]: {exc}"
            ) from exc
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        gw = _Gateway(spec=spec, workdir=workdir, container=container)
        # Registered before waiting, so Ctrl-C during the wait still removes it (close/atexit).
        with self._lock:
            self._all.append(gw)
        try:
            endpoint = self._connect_endpoint(gw, spec, plan, token, password, started)
        except BaseException:
            self._remove(gw)
            with self._lock, contextlib.suppress(ValueError):
                self._all.remove(gw)
            raise
        gw.endpoint = endpoint
        return gw

    def _connect_endpoint(
        self,
        gw: _Gateway,
        spec: GatewaySpec,
        plan: BindPlan,
        token: str | None,
        password: str | None,
        started: float,
    ) -> Endpoint:
        c = gw.container
        c.reload()
        pid = int((c.attrs.get("State") or {}).get("Pid") or 0)
        networks = (c.attrs.get("NetworkSettings") or {}).get("Networks") or {}
        net = networks.get(self.network) or next(iter(networks.values()), {})
        ip = net.get("IPAddress") or None
        peer = net.get("Gateway") or self.bridge_gateway
        ns_path = f"/proc/{pid}/ns/net"
        if pid <= 0 or not os.path.exists(ns_path):
            raise ContainerStartError(
                f"{self.name}: container for [{spec.label}] has no network namespace to join "
                f"(pid {pid}; the harness must run as root in the Docker host's pid namespace). "
                f"Log tail:\n{gw.log_tail()}"
            )
        inside = namespace_connector(ns_path, "127.0.0.1", GATEWAY_PORT)
        loopback = Vantage("127.0.0.1", GATEWAY_PORT, connect=inside)
        remote: Vantage | None = None
        remote_peer_ip: str | None = None
        remote_unavailable: str | None = None
        if not plan.remote:
            remote_unavailable = plan.remote_unavailable
        elif ip is None:
            remote_unavailable = f"the container has no address on the {self.network} network"
        else:
            remote, remote_peer_ip = Vantage(ip, GATEWAY_PORT), peer
            if peer != self.bridge_gateway and REMOTE_PEER_PROXY in spec.trusted_proxies:
                raise ContainerStartError(
                    f"{self.name}: the config trusts {self.bridge_gateway} as the remote peer, "
                    f"but the container sees the host as {peer}"
                )

        _, hello = wait_ready(
            loopback,
            token=token,
            password=password,
            timeout=max(0.0, started + self.start_timeout - time.monotonic()),
            what=f"{self.name}: gateway [{spec.label}]",
            exited=lambda: _container_exit(gw),
            log_tail=gw.log_tail,
            error=ContainerStartError,
        )
        gw.start_seconds = time.monotonic() - started
        self.start_times[spec] = gw.start_seconds
        if self.protocol is None and hello.protocol is not None:
            self.protocol = hello.protocol
        self.progress(
            f"{self.name}: gateway [{spec.label}] ready in container {c.short_id} "
            f"({ip or 'no bridge address'}) in {gw.start_seconds:.1f} s"
        )
        return Endpoint(
            spec=spec,
            loopback=loopback,
            remote=remote,
            token=token,
            password=password,
            remote_peer_ip=remote_peer_ip,
            log_tail=gw.log_tail,
            version=self.version,
            remote_unavailable=remote_unavailable,
        )

    def _remove(self, gw: _Gateway) -> None:
        """Keep the log tail, remove the container and its volumes, then the folder."""
        if not gw.removed:
            with contextlib.suppress(Exception):
                raw = gw.container.logs(stdout=True, stderr=True, tail=200)
                gw.final_tail = raw.decode("utf-8", "replace").splitlines()
            with contextlib.suppress(Exception):
                gw.container.remove(force=True, v=True)
            gw.removed = True
        shutil.rmtree(gw.workdir, ignore_errors=True)


def _container_exit(gw: _Gateway) -> str | None:
    """How the container ended, or None while it is created or running."""
    try:
        state = gw.state()
    except Exception as exc:
        return f"vanished ({exc})"
    if state.get("Status") in ("created", "running"):
        return None
    return f"exited with code {state.get('ExitCode')}"
