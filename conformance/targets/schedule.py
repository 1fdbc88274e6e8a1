"""The order in which a run visits gateway configs, and which configs one running gateway can
serve one after another.

Cases run grouped by config, the groups in an order that makes neighbours cheap to switch
between on a release that reloads its config file (OpenClaw's `gateway.reload`): the same
process environment (a handshake timeout is an environment variable, read at start), the same
auth mode, the same Control UI flags. Within a config, cases keep the matrix's order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from conformance.cases.gateway import GatewaySpec

T = TypeVar("T")

# Switching between auth modes restarts the gateway in-process; within one mode secrets,
# trusted proxies and allowed origins reload hot (observed on 2026.9.6). Modes that give the
# harness an admin connection of its own go first (the lane can then be cleaned afterwards).
AUTH_RANK = {"token": 0, "password": 1, "none": 2, "trusted-proxy": 3}


def config_key(spec: GatewaySpec) -> tuple[object, ...]:
    """Sort key of a config: auth mode, Control UI flags, then environment. A config with an
    environment of its own (a handshake timeout) needs a process of its own: next to the
    first group, its start can overlap that group's cases."""
    ui = spec.control_ui
    return (
        AUTH_RANK.get(spec.auth, len(AUTH_RANK)),
        ui.allow_insecure_auth,
        ui.dangerously_disable_device_auth,
        tuple(sorted(spec.environment().items())),
    )


def config_order(specs: Iterable[GatewaySpec]) -> list[GatewaySpec]:
    """The distinct configs of `specs` in run order (ties keep first-seen order)."""
    seen = list(dict.fromkeys(specs))
    return sorted(seen, key=lambda s: (config_key(s), seen.index(s)))


def grouped(
    items: Sequence[T], spec_of: dict[int, GatewaySpec], late: Iterable[int] = ()
) -> list[T]:
    """`items` with the ones that have a config (`spec_of[index]`) grouped by config in
    `config_order`, each keeping its relative order (the `late` ones after the others of their
    group), in the positions those items held."""
    positions = [i for i in range(len(items)) if i in spec_of]
    order = {s: n for n, s in enumerate(config_order(spec_of[i] for i in positions))}
    lates = set(late)
    ranked = sorted(positions, key=lambda i: (order[spec_of[i]], i in lates, i))
    out = list(items)
    for slot, source in zip(positions, ranked, strict=True):
        out[slot] = items[source]
    return out
