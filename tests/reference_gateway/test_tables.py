"""The §5.2 / §5.3 decision tables as data: well-formed, no dead rows, rows seen on connects."""

from __future__ import annotations

import itertools
from dataclasses import fields, replace
from typing import Any

import pytest

from reference_gateway.locality import PairingLocality
from reference_gateway.profiles import CURRENT, V2026_3_13, Profile
from reference_gateway.tables import (
    Auth,
    Client,
    Facts,
    MissingDevice,
    Origin,
    Pairing,
    PairingReason,
    Row,
    When,
    decide,
)

from ._support import (
    ALL5,
    PROXY_IP,
    READ,
    TOKEN,
    UI_ORIGIN,
    Device,
    cfg,
    connect,
    loopback,
    paired_state,
    params,
    remote,
    with_device,
)

PROFILES = [pytest.param(V2026_3_13, id="2026.3.13"), pytest.param(CURRENT, id="current")]
# The finite domain of every fact, for an exhaustive search.
DOMAIN: dict[str, tuple[Any, ...]] = {
    "device": (False, True),
    "auth": tuple(Auth),
    "method": ("none", "token", "password", "trusted-proxy", "device-token"),
    "role": ("operator", "node"),
    "client": tuple(Client),
    "operator_ui": (False, True),
    "origin": tuple(Origin),
    "locality": tuple(PairingLocality),
    "auth_mode": ("none", "token", "password", "trusted-proxy"),
    "disable_device_auth": (False, True),
    "allow_insecure_auth": (False, True),
    "pairing": tuple(PairingReason),
}
BASE = Facts(
    device=False,
    auth=Auth.SECRET_OK,
    method="token",
    role="operator",
    client=Client.OTHER,
    operator_ui=False,
    origin=Origin.NONE,
    locality=PairingLocality.DIRECT_LOCAL,
    auth_mode="token",
    disable_device_auth=False,
    allow_insecure_auth=False,
    pairing=PairingReason.NOT_PAIRED,
)


def test_when_has_a_condition_for_every_fact() -> None:
    assert [f.name for f in fields(When)] == [f.name for f in fields(Facts)]
    assert set(DOMAIN) == {f.name for f in fields(Facts)}


@pytest.mark.parametrize("profile", PROFILES)
def test_row_ids_are_unique_per_profile(profile: Profile) -> None:
    ids = [row.id for row in profile.tables.rows()]
    assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("profile", PROFILES)
def test_tables_end_with_a_catch_all_and_use_their_own_outcomes(profile: Profile) -> None:
    tables = profile.tables
    for table, kind in ((tables.missing_device, MissingDevice), (tables.pairing, Pairing)):
        assert table[-1].when == When()
        assert all(row.when != When() for row in table[:-1])
        assert all(isinstance(row.outcome, kind) for row in table)


def _reachable(table: tuple[Row[Any], ...]) -> set[str]:
    """Ids of the rows that are the first match for some facts (only the facts that this
    table looks at vary, the others stay at BASE)."""
    used = sorted({name for row in table for name in row.when.cells()})
    hit: set[str] = set()
    for values in itertools.product(*(DOMAIN[name] for name in used)):
        facts = replace(BASE, **dict(zip(used, values, strict=True)))
        hit.add(decide(table, facts).id)
    return hit


@pytest.mark.parametrize("profile", PROFILES)
def test_every_row_is_reachable(profile: Profile) -> None:
    for table in (profile.tables.missing_device, profile.tables.pairing):
        assert _reachable(table) == {row.id for row in table}


def test_the_tables_differ_where_section_5_4_says() -> None:
    def ids(p: Profile) -> set[str]:
        return {row.id for row in p.tables.rows()}

    only_3_13 = ids(V2026_3_13) - ids(CURRENT)
    only_current = ids(CURRENT) - ids(V2026_3_13)
    assert only_3_13 == {"A1", "A5.node", "A5/B6", "A5/B6.auth", "A6", "A6.auth", "A7", "K7"}
    assert {"A1a", "A1b", "A1c", "A1d", "A5/A6", "B7"} <= only_current
    a8 = {
        p.name: next(r for r in p.tables.missing_device if r.id == "A8")
        for p in (V2026_3_13, CURRENT)
    }
    assert a8["2026.3.13"].outcome is MissingDevice.ACCEPT_REQUESTED_PAIRING_SKIPPED
    assert a8["current"].outcome is MissingDevice.ACCEPT_CLEARED  # §5.4 item 4


# -- rows seen on real decisions --------------------------------------------------------------
TOK = {"token": TOKEN}
P313 = {"protocol": (3, 3)}
UI = ("openclaw-control-ui", "webchat")
UI_CFG = {"allowedOrigins": ["https://ui.example"]}


def _tp() -> Any:
    return remote(
        PROXY_IP,
        x_forwarded_for="203.0.113.7",
        x_forwarded_user="alice",
        origin="https://ui.example",
    )


def _tp_cfg() -> dict[str, Any]:
    return cfg("trusted-proxy", trustedProxies=[PROXY_IP], controlUi=UI_CFG)


def _dev(p: dict[str, Any]) -> dict[str, Any]:
    return with_device(p, Device())


def _upgrade(profile: str, scopes: list[str], ctx: Any = None) -> Any:
    dev = Device()
    proto = (3, 3) if profile == "2026.3.13" else (4, 4)
    state = paired_state(dev, scopes=READ, profile=profile)
    p = with_device(params(scopes=scopes, auth=TOK, protocol=proto), dev)
    return connect(cfg(), p, ctx, profile=profile, state=state)


EXAMPLES: dict[tuple[str, str], Any] = {
    # 2026.3.13
    ("2026.3.13", "A1"): lambda: connect(
        cfg(), params(scopes=ALL5, auth=TOK, **P313), profile="2026.3.13"
    ),
    ("2026.3.13", "A2"): lambda: connect(
        cfg(), params("node-host", "node", role="node", auth=TOK, **P313), profile="2026.3.13"
    ),
    ("2026.3.13", "A3"): lambda: connect(cfg(), params(scopes=READ, **P313), profile="2026.3.13"),
    ("2026.3.13", "A4"): lambda: connect(
        cfg(), params(scopes=READ, auth={"token": "bad"}, **P313), profile="2026.3.13"
    ),
    ("2026.3.13", "A5/B6"): lambda: connect(
        cfg(controlUi={"dangerouslyDisableDeviceAuth": True, **UI_CFG}),
        _dev(params(*UI, scopes=ALL5, auth=TOK, **P313)),
        remote(origin="https://ui.example"),
        profile="2026.3.13",
    ),
    ("2026.3.13", "A6"): lambda: connect(
        cfg(controlUi={"allowInsecureAuth": True}),
        params(*UI, scopes=ALL5, auth=TOK, **P313),
        loopback(origin=UI_ORIGIN),
        profile="2026.3.13",
    ),
    ("2026.3.13", "A7"): lambda: connect(
        cfg(),
        params(*UI, scopes=READ, auth=TOK, **P313),
        loopback(origin=UI_ORIGIN),
        profile="2026.3.13",
    ),
    ("2026.3.13", "A8"): lambda: connect(
        _tp_cfg(), params(*UI, scopes=ALL5, **P313), _tp(), profile="2026.3.13"
    ),
    ("2026.3.13", "K7"): lambda: connect(
        _tp_cfg(), _dev(params(*UI, scopes=ALL5, **P313)), _tp(), profile="2026.3.13"
    ),
    ("2026.3.13", "B1"): lambda: connect(
        cfg(), _dev(params(scopes=ALL5, auth=TOK, **P313)), profile="2026.3.13"
    ),
    ("2026.3.13", "B2"): lambda: connect(
        cfg(), _dev(params(scopes=ALL5, auth=TOK, **P313)), remote(), profile="2026.3.13"
    ),
    ("2026.3.13", "B3"): lambda: connect(
        cfg(),
        _dev(params("gateway-client", "backend", scopes=ALL5, auth=TOK, **P313)),
        profile="2026.3.13",
    ),
    ("2026.3.13", "B4"): lambda: _upgrade("2026.3.13", READ),
    # current (2026.9.6)
    ("current", "A1a"): lambda: connect(cfg(), params(scopes=ALL5, auth=TOK)),
    ("current", "A1b"): lambda: connect(
        cfg(), params("gateway-client", "backend", scopes=ALL5, auth=TOK)
    ),
    ("current", "A1c"): lambda: connect(cfg(), params("cli", "probe", scopes=ALL5, auth=TOK)),
    ("current", "A1d"): lambda: connect(
        cfg("none"), params("gateway-client", "backend", scopes=ALL5)
    ),
    ("current", "A2"): lambda: connect(cfg(), params("node-host", "node", role="node", auth=TOK)),
    ("current", "A3"): lambda: connect(cfg(), params(scopes=READ)),
    ("current", "A4"): lambda: connect(cfg(), params(scopes=READ, auth={"token": "bad"})),
    ("current", "A5/A6"): lambda: connect(
        cfg(controlUi={"allowInsecureAuth": True}),
        params(*UI, scopes=READ, auth=TOK),
        loopback(origin=UI_ORIGIN),
    ),
    ("current", "A8"): lambda: connect(_tp_cfg(), params(*UI, scopes=ALL5), _tp()),
    ("current", "B1"): lambda: connect(cfg(), _dev(params(scopes=ALL5, auth=TOK))),
    ("current", "B1.scope-upgrade"): lambda: _upgrade("current", ALL5),
    ("current", "B2"): lambda: connect(cfg(), _dev(params(scopes=ALL5, auth=TOK)), remote()),
    ("current", "B3"): lambda: connect(
        cfg(), _dev(params("gateway-client", "backend", scopes=ALL5, auth=TOK))
    ),
    ("current", "B4"): lambda: _upgrade("current", READ),
    ("current", "B7"): lambda: connect(
        cfg("none"), _dev(params(*UI, scopes=ALL5)), loopback(origin=UI_ORIGIN)
    ),
}


@pytest.mark.parametrize("key", list(EXAMPLES), ids=["/".join(k) for k in EXAMPLES])
def test_a_connect_is_decided_by_its_row(key: tuple[str, str]) -> None:
    decision = EXAMPLES[key]()
    assert decision.row == key[1], decision


def test_rejections_outside_the_tables_name_no_row() -> None:
    d = connect(cfg(), params(scopes=READ, auth=TOK, protocol=(9, 9)))
    assert d.row is None
    d = connect(cfg(), with_device(params(scopes=READ, auth=TOK), Device(), nonce="wrong-nonce"))
    assert d.row is None  # device proof (§2) runs between the tables
