"""The run order of gateway configs: grouped, neighbours cheap to switch between, and items
without a config left where they were."""

from __future__ import annotations

from conformance.cases.gateway import ControlUi, GatewaySpec
from conformance.targets.schedule import config_order, grouped

TOKEN = GatewaySpec(auth="token")
TOKEN_PROXY = GatewaySpec(auth="token", trusted_proxies=("loopback",))
TOKEN_FLAG = GatewaySpec(auth="token", control_ui=ControlUi(allow_insecure_auth=True))
TOKEN_HS = GatewaySpec(auth="token", handshake_timeout_ms=1000)
PASSWORD = GatewaySpec(auth="password")
NONE = GatewaySpec(auth="none")
PROXY = GatewaySpec(auth="trusted-proxy", trusted_proxies=("remote-peer",))


def test_configs_go_by_auth_mode_then_flags_and_keep_first_seen_order_within() -> None:
    seen = [PROXY, NONE, TOKEN_FLAG, PASSWORD, TOKEN_PROXY, TOKEN, TOKEN_HS, PROXY, NONE]
    assert config_order(seen) == [TOKEN_PROXY, TOKEN, TOKEN_HS, TOKEN_FLAG, PASSWORD, NONE, PROXY]


def test_a_config_with_its_own_environment_sits_next_to_its_auth_mode() -> None:
    # The handshake timeout is read at process start: it comes right after the first group, so
    # its own gateway can start while that group's cases run.
    order = config_order([TOKEN, PASSWORD, TOKEN_HS])
    assert order.index(TOKEN_HS) == 1


def test_grouped_moves_only_items_with_a_config_and_keeps_their_relative_order() -> None:
    items = ["plain-1", "p1", "t1", "plain-2", "p2", "t2", "n1"]
    spec_of = {1: PASSWORD, 2: TOKEN, 4: PASSWORD, 5: TOKEN, 6: NONE}
    assert grouped(items, spec_of) == ["plain-1", "t1", "t2", "plain-2", "p1", "p2", "n1"]


def test_grouped_without_configs_changes_nothing() -> None:
    assert grouped(["a", "b"], {}) == ["a", "b"]
