"""Where a started gateway listens: loopback unless a case of its config is remote (a release
may refuse a config bound beyond loopback, 2026.2.26 without Control UI origins), and what a
config bound beyond loopback carries so that such a release starts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conformance.cases.loader import load_cases
from conformance.targets import hermetic
from conformance.targets.base import AUTH_NONE_LOOPBACK_ONLY, NO_REMOTE_CASE
from conformance.targets.url import UrlTarget

CASES = Path(__file__).resolve().parents[2] / "cases"


@pytest.fixture(scope="module")
def cases():
    return {c.id: c for c in load_cases(sorted(CASES.glob("*.yaml")))}


@pytest.fixture
def target(cases):
    t = UrlTarget.__new__(UrlTarget)  # only the Target base's planning is used here
    t.remote_configs = None
    t.plan(cases.values())
    return t


def test_a_config_with_remote_cases_binds_beyond_loopback(target, cases) -> None:
    spec = cases["token.remote.no-device.cli"].gateway
    plan = target.bind_plan(spec, can_reach_remote=True)
    assert (plan.bind, plan.remote, plan.remote_unavailable) == ("lan", True, None)


def test_a_loopback_only_config_binds_loopback(target, cases) -> None:
    spec = cases["frame.silent"].gateway  # its own handshake timeout: no remote case shares it
    assert all(c.connection.via != "remote" for c in cases.values() if c.gateway == spec)
    plan = target.bind_plan(spec, can_reach_remote=True)
    assert (plan.bind, plan.remote_unavailable) == ("loopback", NO_REMOTE_CASE)


def test_auth_none_and_no_remote_vantage_stay_on_loopback(target, cases) -> None:
    none = cases["none.loopback.no-device.backend"].gateway
    assert target.bind_plan(none, can_reach_remote=True).remote_unavailable == (
        AUTH_NONE_LOOPBACK_ONLY
    )
    remote = cases["token.remote.no-device.cli"].gateway
    assert target.bind_plan(remote, can_reach_remote=False).bind == "loopback"


def test_beyond_loopback_the_config_names_a_control_ui_origin(cases) -> None:
    spec = cases["password.remote.no-device.cli"].gateway
    bare = replace(spec, control_ui=replace(spec.control_ui, allowed_origins=()))

    def origins(s, bind):
        config = hermetic.render_config(
            s, token=None, password="p", remote_peer_ip="198.18.0.1", bind=bind, log_file="/x"
        )
        return config["gateway"].get("controlUi", {}).get("allowedOrigins")

    assert origins(bare, "lan") == [hermetic.BIND_ONLY_ORIGIN]
    assert origins(bare, "loopback") is None
    # A config with origins of its own keeps exactly those.
    assert spec.control_ui.allowed_origins
    assert origins(spec, "lan") == list(spec.control_ui.allowed_origins)


def test_a_failed_start_is_reported_in_the_gateways_own_words() -> None:
    from conformance.targets.base import start_failure_reason

    tail = (
        "2026-12-03T11:20:01.123+00:00 [gateway] loading configuration…\n"
        "2026-12-03T11:20:01.456+00:00 [gateway] Gateway failed to start: Error: non-loopback "
        "Control UI requires gateway.controlUi.allowedOrigins\n"
        "2026-12-03T11:20:01.457+00:00 [gateway] shutting down\n"
    )
    assert start_failure_reason(tail) == (
        "Gateway failed to start: Error: non-loopback Control UI requires "
        "gateway.controlUi.allowedOrigins"
    )
    assert start_failure_reason("[gateway] loading configuration…\n") is None
