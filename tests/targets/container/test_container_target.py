"""ContainerTarget against a locally built image: both localities from one container, readiness,
logs, failures, and no container outliving the target."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.cases.gateway import GatewaySpec
from conformance.protocol.client import HandshakeOutcome, Timeouts, handshake
from conformance.protocol.sockets import Vantage
from conformance.targets import container as ct
from conformance.targets import image as images
from conformance.targets import npmcache as provisioning
from conformance.targets.base import Endpoint

TOKEN = GatewaySpec(auth="token")
NONE = GatewaySpec(auth="none")


def _connect(
    vantage: Vantage, *, token: str | None, scopes: list[str], headers: dict[str, str] | None = None
) -> HandshakeOutcome:
    """A device-less cli/cli operator connect with a shared token."""

    def frame(nonce: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "minProtocol": 3,
            "maxProtocol": 4,
            "client": {"id": "cli", "mode": "cli", "version": "conformance", "platform": "linux"},
            "role": "operator",
            "scopes": scopes,
        }
        if token is not None:
            params["auth"] = {"token": token}
        return {"type": "req", "id": "c1", "method": "connect", "params": params}

    return asyncio.run(
        handshake(vantage, frame, headers=headers, timeouts=Timeouts(), keep_open=False)
    )


def _networks(label: str) -> list[str]:
    with contextlib.closing(images.docker_client()) as client:
        return [n.id for n in client.networks.list(filters={"label": label})]


def _containers(label: str) -> list[str]:
    with contextlib.closing(images.docker_client()) as client:
        return [c.id for c in client.containers.list(all=True, filters={"label": label})]


@pytest.fixture(scope="module")
def target(image_tag: str, progress: provisioning.ProgressFn) -> Iterator[ct.ContainerTarget]:
    t = ct.ContainerTarget(image_tag, progress=progress)
    yield t
    t.close()
    assert _containers(f"{ct.LABEL_TARGET}={t.target_id}") == []
    assert _networks(f"{ct.LABEL_TARGET}={t.target_id}") == []


@pytest.fixture(scope="module")
def token_endpoint(target: ct.ContainerTarget) -> Endpoint:
    return target.endpoint(TOKEN)


def test_one_container_per_spec_serves_both_vantages(
    target: ct.ContainerTarget, token_endpoint: Endpoint, container_version: str
) -> None:
    ep = token_endpoint
    assert target.endpoint(GatewaySpec(auth="token")) is ep  # equal spec, same container
    assert target.kind == "container" and target.version == container_version == ep.version
    assert ep.token and ep.password is None
    assert ep.loopback is not None and ep.loopback.host == "127.0.0.1"
    assert ep.loopback.connect is not None  # created inside the container's namespace
    assert ep.remote is not None and ep.remote.host != "127.0.0.1"
    assert ep.remote_peer_ip == target.bridge_gateway and ep.remote_peer_ip
    # Its own bridge network in the benchmarking range: a non-private, non-loopback peer.
    assert ep.remote.host.startswith(ct.OWN_SUBNET_PREFIX + ".")
    assert ep.remote_peer_ip.startswith(ct.OWN_SUBNET_PREFIX + ".")
    assert ep.remote_unavailable is None
    for vantage in (ep.loopback, ep.remote):
        out = _connect(vantage, token=ep.token, scopes=[])
        assert out.accepted, out.summary()
    assert target.protocol in (3, 4)
    assert 0 < target.start_times[TOKEN] < ct.START_TIMEOUT_S


def test_loopback_and_remote_really_differ(token_endpoint: Endpoint) -> None:
    """GATEWAY_PROTOCOL §5.3 A1a vs A1c: a device-less cli/cli with the token keeps its scopes
    on loopback (cli_container_local / direct_local) and gets none from the bridge."""
    ep = token_endpoint
    assert ep.loopback is not None and ep.remote is not None
    local = _connect(ep.loopback, token=ep.token, scopes=["operator.read"])
    remote = _connect(ep.remote, token=ep.token, scopes=["operator.read"])
    assert local.accepted and remote.accepted, (local.summary(), remote.summary())
    assert local.auth is not None and local.auth.get("scopes") == ["operator.read"], local.hello
    assert remote.auth is not None and remote.auth.get("scopes") == [], remote.hello


def test_remote_peer_is_the_bridge_gateway(image_tag: str, target: ct.ContainerTarget) -> None:
    """A trusted proxy named `remote-peer` renders to the bridge gateway, and the gateway agrees:
    trusted-proxy auth through it is accepted from the remote vantage."""
    spec = GatewaySpec(auth="trusted-proxy", trusted_proxies=("remote-peer",))
    ep = target.endpoint(spec)
    assert ep.remote is not None and ep.remote_peer_ip == target.bridge_gateway
    out = _connect(
        ep.remote,
        token=None,
        scopes=[],
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-User": "alice"},
    )
    assert out.accepted, out.summary()
    assert out.auth is not None and out.auth.get("method") == "trusted-proxy"


def test_auth_none_is_loopback_only(target: ct.ContainerTarget) -> None:
    ep = target.endpoint(NONE)
    assert ep.remote is None and ep.remote_peer_ip is None
    assert ep.remote_unavailable and "auth mode none" in ep.remote_unavailable
    assert ep.loopback is not None
    out = _connect(ep.loopback, token=None, scopes=[])
    assert out.response, out.summary()  # answered (a device-less CLI needs a device here)


def test_log_tail(token_endpoint: Endpoint) -> None:
    tail = token_endpoint.log_tail(5)
    assert tail and len(tail.splitlines()) <= 5
    assert "[gateway]" in token_endpoint.log_tail(200)
    assert token_endpoint.log_tail(0) == ""


def test_cli_runs_inside_the_container(
    target: ct.ContainerTarget, token_endpoint: Endpoint
) -> None:
    """The release's own CLI, as a user on the gateway host: same HOME, state dir and config."""
    run = target.run_cli(TOKEN, ["gateway", "call", "status", "--token", str(token_endpoint.token)],
                         timeout=60)  # fmt: skip
    assert run.exit_code == 0, run.output[-2000:]
    assert "missing scope" not in run.output


def _running(marker: str) -> list[int]:
    """Host pids whose command line carries `marker` (the harness shares Docker's pid space)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if marker.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
    return found


def test_exec_interleaves_output_and_reports_the_exit_code(
    target: ct.ContainerTarget, token_endpoint: Endpoint
) -> None:
    gw = target._gateways[TOKEN]
    # The image has sh and node only; node's start spaces the writes, since Docker reads the
    # two streams separately and orders only writes that are not simultaneous.
    script = """echo one; node -e 'console.error("two")'; node -e 'console.log("three")'; exit 3"""
    code, out = target._exec(gw, ["sh", "-c", script], timeout=30)
    assert code == 3
    assert out.decode().splitlines() == ["one", "two", "three"]


def test_exec_past_its_timeout_is_killed(
    target: ct.ContainerTarget, token_endpoint: Endpoint
) -> None:
    """A CLI run never hangs the session: at the timeout it ends, with what it wrote so far,
    and what it ran (a child of it included) is gone."""
    gw = target._gateways[TOKEN]
    marker = f"exec-timeout-{os.getpid()}"
    started = time.monotonic()
    forever = "node -e 'setInterval(() => 0, 1000)'"
    child = f"""sh -c "{forever}; : {marker}-child" &"""
    script = f"echo started; {child} {forever}; : {marker}"
    code, out = target._exec(gw, ["sh", "-c", script], timeout=2)
    elapsed = time.monotonic() - started
    assert code is None
    assert out.decode().strip() == "started"
    assert 2 <= elapsed < 2 + ct.CLI_DRAIN_S + 2, elapsed
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(marker) == []


def test_close_removes_every_container(image_tag: str, progress: provisioning.ProgressFn) -> None:
    t = ct.ContainerTarget(image_tag, progress=progress)
    try:
        ep = t.endpoint(TOKEN)
        ids = t.containers()
        workdir = t._gateways[TOKEN].workdir
        assert len(ids) == 1 and workdir.is_dir()
        assert _containers(f"{ct.LABEL_TARGET}={t.target_id}") == ids
        labels = t._gateways[TOKEN].container.labels
        assert labels[ct.LABEL_SESSION] == str(os.getpid())
    finally:
        t.close()
    assert _containers(f"{ct.LABEL_TARGET}={t.target_id}") == []
    assert _networks(f"{ct.LABEL_TARGET}={t.target_id}") == []
    assert not workdir.exists()
    assert "[gateway]" in ep.log_tail(200)  # the tail outlives the container
    t.close()  # idempotent
    with pytest.raises(ct.TargetUnavailable, match="closed"):
        t.endpoint(TOKEN)


def test_docker_default_bridge(image_tag: str, progress: provisioning.ProgressFn) -> None:
    """On Docker's default bridge the gateway sees the host's docker0 address as the peer."""
    t = ct.ContainerTarget(image_tag, progress=progress, network="bridge")
    try:
        ep = t.endpoint(TOKEN)
        assert ep.remote is not None and ep.loopback is not None
        assert ep.remote_peer_ip == t.bridge_gateway
        assert ipaddress.ip_address(ep.remote_peer_ip) in ipaddress.ip_network(
            f"{ep.remote.host}/16", strict=False
        )
        local = _connect(ep.loopback, token=ep.token, scopes=["operator.read"])
        remote = _connect(ep.remote, token=ep.token, scopes=["operator.read"])
        assert local.auth is not None and local.auth.get("scopes") == ["operator.read"]
        assert remote.auth is not None and remote.auth.get("scopes") == []
    finally:
        t.close()
    assert _containers(f"{ct.LABEL_TARGET}={t.target_id}") == []


def test_start_failure_is_reported_with_the_log(
    image_tag: str, progress: provisioning.ProgressFn
) -> None:
    """A gateway that exits while starting: a clear per-config error with the log tail, fast,
    remembered for later cases, and its container removed."""

    class Broken(ct.ContainerTarget):
        def _render_config(self, spec, *, token, password, bind):  # type: ignore[override]
            # OpenClaw refuses a non-loopback bind without auth (exit 78).
            return {"gateway": {"mode": "local", "bind": "lan", "auth": {"mode": "none"}}}

    t = Broken(image_tag, progress=progress)
    try:
        with pytest.raises(ct.ContainerStartError, match="exited with code") as info:
            t.endpoint(TOKEN)
        assert "Refusing to bind" in str(info.value)
        with pytest.raises(ct.ContainerStartError):  # remembered, not retried per case
            t.endpoint(TOKEN)
        assert t.containers() == []
        assert _containers(f"{ct.LABEL_TARGET}={t.target_id}") == []
    finally:
        t.close()


def test_stale_containers_of_dead_sessions_are_swept(image_tag: str, docker_client: Any) -> None:
    import docker

    client = docker_client
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    common = {ct.LABEL_HOST: ct._boot_id(), "openclaw-conformance.test": "sweep"}
    workdir = Path(tempfile.mkdtemp(prefix=ct.WORKDIR_PREFIX + "sweep-test-"))
    stale = client.containers.create(
        image_tag,
        labels={**common, ct.LABEL_SESSION: str(dead.pid), ct.LABEL_SESSION_START: "1"},
        volumes={str(workdir): {"bind": ct.MOUNT, "mode": "rw"}},
    )
    live = client.containers.create(image_tag, labels={**common, **ct.session_labels()})
    stale_net = client.networks.create(
        f"occ-sweep-test-{os.getpid()}",
        labels={**common, ct.LABEL_SESSION: str(dead.pid), ct.LABEL_SESSION_START: "1"},
    )
    try:
        removed = ct.sweep_stale(client, progress=lambda _line: None)
        assert stale.id in removed
        assert live.id not in removed
        assert _containers("openclaw-conformance.test=sweep") == [live.id]
        assert _networks("openclaw-conformance.test=sweep") == []
        assert not workdir.exists()  # the dead session's hermetic folder went with it
    finally:
        for c in (stale, live):
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)
        with contextlib.suppress(docker.errors.NotFound):
            stale_net.remove()
