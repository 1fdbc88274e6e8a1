"""NpmTarget against a real release: hermetic gateways, readiness, reuse, failures, cleanup."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.cases.gateway import GatewaySpec
from conformance.protocol.client import handshake
from conformance.targets import npm
from conformance.targets import npmcache as provisioning
from conformance.targets.base import TargetUnavailable
from conformance.targets.process import STOP_GRACE_S, readiness_frame, run_coroutine

TOKEN = GatewaySpec(auth="token")
PASSWORD = GatewaySpec(auth="password")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def target(
    release: Path, npm_version: str, progress: provisioning.ProgressFn
) -> Iterator[npm.NpmTarget]:
    t = npm.NpmTarget(npm_version, progress=progress)
    yield t
    t.close()


def test_one_gateway_per_spec_reused(target: npm.NpmTarget) -> None:
    first = target.endpoint(TOKEN)
    assert target.endpoint(GatewaySpec(auth="token")) is first  # equal spec, same gateway
    other = target.endpoint(PASSWORD)
    assert other.loopback is not None and first.loopback is not None
    assert other.loopback.port != first.loopback.port
    assert first.token and first.password is None
    assert other.password and other.token is None
    assert first.remote is None and first.remote_peer_ip is None  # no netns given
    assert first.version == target.version and target.version
    assert set(target.start_times) == {TOKEN, PASSWORD}
    assert all(0 < s < npm.START_TIMEOUT_S for s in target.start_times.values())


def test_ready_means_a_handshake_succeeds(target: npm.NpmTarget) -> None:
    ep = target.endpoint(TOKEN)
    assert ep.loopback is not None
    started = time.monotonic()
    out = run_coroutine(handshake(ep.loopback, readiness_frame(ep.token, None), keep_open=False))
    assert out.accepted, out.summary()
    assert out.hello is not None and out.hello["type"] == "hello-ok"
    assert target.protocol == out.protocol in (3, 4)
    assert time.monotonic() - started < 2  # no retry needed: it was ready


def test_log_tail(target: npm.NpmTarget) -> None:
    ep = target.endpoint(TOKEN)
    tail = ep.log_tail(5)
    assert tail and len(tail.splitlines()) <= 5
    assert "[gateway]" in ep.log_tail(200)


def test_close_stops_every_process_and_removes_folders(
    release: Path, npm_version: str, progress: provisioning.ProgressFn
) -> None:
    t = npm.NpmTarget(npm_version, progress=progress)
    try:
        ep = t.endpoint(TOKEN)
        gw = t._gateways[TOKEN]
        pgid, workdir = gw.process.pid, gw.workdir
        assert _group_alive(pgid) and workdir.is_dir()
    finally:
        t.close()
    assert not _group_alive(pgid)
    assert not workdir.exists()
    assert "[gateway]" in ep.log_tail(200)  # still there for a failure report
    t.close()  # idempotent
    with pytest.raises(TargetUnavailable):
        t.endpoint(TOKEN)


class _PasswordlessTarget(npm.NpmTarget):
    """Renders `mode: password` with no password: the gateway refuses to start.

    (`mode: token` with no token is no startup error on real releases, although GATEWAY_PROTOCOL
    section 3.1 says so: both 2026.3.13 and 2026.9.6 generate a token and start.)
    """

    def _render_config(self, spec: GatewaySpec, **kwargs: Any) -> dict[str, Any]:
        config = super()._render_config(spec, **kwargs)
        config["gateway"]["auth"].pop("password", None)
        return config


def test_startup_failure_is_clear_and_bounded(
    release: Path, npm_version: str, progress: provisioning.ProgressFn
) -> None:
    t = _PasswordlessTarget(npm_version, progress=progress)
    try:
        started = time.monotonic()
        with pytest.raises(npm.GatewayStartError) as info:
            t.endpoint(PASSWORD)
        assert time.monotonic() - started < npm.START_TIMEOUT_S + STOP_GRACE_S
        message = str(info.value)
        assert "exited with code" in message
        log_tail = message.split("Log tail:", 1)[1]
        assert "no password is configured" in log_tail
        # Remembered: the next case with this config fails at once instead of another start.
        again = time.monotonic()
        with pytest.raises(npm.GatewayStartError):
            t.endpoint(PASSWORD)
        assert time.monotonic() - again < 0.5
        assert t._all == []  # the failed process was stopped and its folder removed
    finally:
        t.close()


def test_not_ready_in_time_is_bounded(
    release: Path, npm_version: str, progress: provisioning.ProgressFn
) -> None:
    t = npm.NpmTarget(npm_version, progress=progress, start_timeout=0.3)
    try:
        with pytest.raises(npm.GatewayStartError, match="not ready after") as info:
            t.endpoint(TOKEN)
        assert "Log tail:" in str(info.value)
        assert t._all == []
    finally:
        t.close()


def _planned(*specs: GatewaySpec) -> list[Any]:
    # plan() reads a case's gateway and where it connects from; nothing else.
    from types import SimpleNamespace

    return [SimpleNamespace(gateway=s, connection=SimpleNamespace(via="loopback")) for s in specs]


def test_a_running_gateway_is_switched_to_the_next_config_and_cleaned(
    release: Path, npm_version: str, progress: provisioning.ProgressFn
) -> None:
    from conformance.protocol.frames import ConnectPlan, shared_auth
    from conformance.protocol.identity import DeviceIdentity

    t = npm.NpmTarget(npm_version, progress=progress)
    t.plan(_planned(TOKEN, PASSWORD))
    try:
        first = t.endpoint(TOKEN)
        assert first.loopback is not None
        device = DeviceIdentity.generate()
        pair = ConnectPlan(
            auth=shared_auth(first.token, None), identity=device, scopes=("operator.read",)
        )
        assert run_coroutine(handshake(first.loopback, pair.frame, keep_open=False)).accepted

        second = t.endpoint(PASSWORD)  # TOKEN's cases are done: its gateway switches
        assert second.loopback is not None and second.loopback.port == first.loopback.port
        assert PASSWORD in t.switch_times and t.cold_starts == 1
        assert second.password and second.token is None
        old = run_coroutine(
            handshake(second.loopback, readiness_frame(first.token, None), keep_open=False)
        )
        assert not old.accepted, old.summary()
        admin = ConnectPlan(
            auth=shared_auth(None, second.password),
            identity=DeviceIdentity.generate(),
            scopes=("operator.admin", "operator.pairing"),
        )

        async def listing() -> Any:
            out = await handshake(second.loopback, admin.frame)
            assert out.connection is not None, out.summary()
            try:
                return await out.connection.call("device.pair.list", {})
            finally:
                await out.connection.close()

        payload = run_coroutine(listing()).payload
        paired = {p.get("deviceId") for p in payload.get("paired", [])}
        assert device.device_id not in paired  # the first config's pairing was wiped
    finally:
        t.close()


def test_without_reuse_every_config_starts_cold(
    release: Path, npm_version: str, progress: provisioning.ProgressFn
) -> None:
    t = npm.NpmTarget(npm_version, progress=progress, reuse=False)
    t.plan(_planned(TOKEN, PASSWORD))
    try:
        first, second = t.endpoint(TOKEN), t.endpoint(PASSWORD)
        assert first.loopback and second.loopback
        assert first.loopback.port != second.loopback.port
        assert t.cold_starts == 2 and not t.switch_times
    finally:
        t.close()
