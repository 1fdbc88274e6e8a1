"""The scope-decision tables of GATEWAY_PROTOCOL.md §5.2 (2026.3.13) and §5.3 (2026.9.6) as data.

Each profile has two tables, read at two points of the connect check order (§1.6):

* `missing_device`, at step 6 right after shared-secret auth: the A rows. 2026.3.13's B6 (a
  Control UI's device is dropped under `dangerouslyDisableDeviceAuth`) is folded into the A5 rows,
  which do not look at the device; any other connect that sends a device matches row `B` and goes
  on to the device proof and the device-token fallback (steps 7-9, not tabulated: §2, §7.5).
* `pairing`, at step 10, with a verified device and auth OK: the B rows.

`decide(table, facts)` returns the first row whose conditions all hold, so the order of the rows
is part of the contract, as in the documents' tables (more specific rows first). A condition left
as None is the tables' "any" (or dash) cell; a tuple lists the allowed values; a bool must be equal.
Where the documents' single row needs several rows here, the extra ones carry a suffix after a
dot (`A6.auth`, `B1.scope-upgrade`) naming the note or K item that states them. Row ids are
unique within a profile (across both of its tables).

Compare the two releases row by row below: `MISSING_DEVICE_3_13` with `MISSING_DEVICE_9_6`, and
`PAIRING_3_13` with `PAIRING_9_6`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import Enum, StrEnum
from typing import Generic, TypeVar

from reference_gateway.locality import PairingLocality


class Auth(StrEnum):
    """Shared-secret auth as the tables' "auth" column sees it (§5.1, K8)."""

    SECRET_OK = "token/pw OK"
    PROXY_OK = "trusted-proxy OK"
    NONE = "auth mode none"  # never sharedAuthOk
    WRONG_SECRET = "token/pw wrong"  # a token or password was sent and did not verify
    MISSING = "no credential, or trusted-proxy failed"


class Client(StrEnum):
    """The tables' "client" column; one kind per connect, first match in this order."""

    CONTROL_UI = "openclaw-control-ui"
    WEBCHAT = "webchat"  # mode webchat or id webchat-ui
    CLI = "cli/cli"
    BACKEND = "gateway-client/backend"
    NATIVE_APP_UI = "native app ui"  # macos/ios/android/linux/watchos in mode ui
    OTHER = "other"


class Origin(StrEnum):
    NONE = "no Origin"
    UI = "Origin, Control UI or webchat"
    NON_UI = "Origin, any other client"


class PairingReason(StrEnum):
    """Where a verified device stands against the pairing store (§5.1, §7)."""

    PAIRED = "paired"  # same key, role in roles, scopes within the approved baseline
    NOT_PAIRED = "not-paired"
    METADATA_UPGRADE = "metadata-upgrade"
    ROLE_UPGRADE = "role-upgrade"
    SCOPE_UPGRADE = "scope-upgrade"


class MissingDevice(Enum):
    """Outcomes of the `missing_device` table."""

    ACCEPT_REQUESTED = "accepted, requested scopes kept"
    ACCEPT_REQUESTED_PAIRING_SKIPPED = "accepted, requested scopes kept, pairing skipped"
    ACCEPT_CLEARED = "accepted, scopes cleared to []"
    REJECT_DEVICE_IDENTITY_REQUIRED = "reject NOT_PAIRED device identity required"
    REJECT_CONTROL_UI_DEVICE_REQUIRED = "reject control ui requires device identity"
    REJECT_UNAUTHORIZED = "reject unauthorized (§3.2)"
    DEVICE_CHECKS = "device present: device proof, then the pairing table"


class Pairing(Enum):
    """Outcomes of the `pairing` table."""

    SKIP = "accepted, pairing skipped, no device token"
    SKIP_TOKEN_IF_PAIRED = "accepted, pairing skipped, device token only if already paired"
    PAIRED = "accepted, device token reused or rotated"
    SILENT = "silent auto-approve, device token"
    REQUIRED = "reject NOT_PAIRED pairing required, pending request"


@dataclass(frozen=True)
class Facts:
    """What the tables look at for one connect; computed by `policy` from the request."""

    device: bool  # a device object was sent
    auth: Auth
    method: str  # auth method: none, token, password, trusted-proxy, device-token
    role: str
    client: Client
    operator_ui: bool  # 9.6 browser operator UI: Control UI, TUI, browser copilot
    origin: Origin
    locality: PairingLocality  # §4 pairing locality (3.13: direct_local or remote only)
    auth_mode: str  # gateway.auth.mode
    disable_device_auth: bool  # gateway.controlUi.dangerouslyDisableDeviceAuth
    allow_insecure_auth: bool  # gateway.controlUi.allowInsecureAuth
    pairing: PairingReason | None = None  # known at step 10 only


@dataclass(frozen=True)
class When:
    """The conditions of one row, one per `Facts` field; None means any value."""

    device: bool | None = None
    auth: tuple[Auth, ...] | None = None
    method: tuple[str, ...] | None = None
    role: tuple[str, ...] | None = None
    client: tuple[Client, ...] | None = None
    operator_ui: bool | None = None
    origin: tuple[Origin, ...] | None = None
    locality: tuple[PairingLocality, ...] | None = None
    auth_mode: tuple[str, ...] | None = None
    disable_device_auth: bool | None = None
    allow_insecure_auth: bool | None = None
    pairing: tuple[PairingReason, ...] | None = None

    def holds(self, facts: Facts) -> bool:
        for f in fields(self):
            cond = getattr(self, f.name)
            if cond is None:
                continue
            value = getattr(facts, f.name)
            if isinstance(cond, tuple):
                if value not in cond:
                    return False
            elif value != cond:
                return False
        return True

    def cells(self) -> dict[str, object]:
        """The conditions that are set, for printing a row."""
        cells = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: cond for name, cond in cells.items() if cond is not None}


OutcomeT = TypeVar("OutcomeT", MissingDevice, Pairing)


@dataclass(frozen=True)
class Row(Generic[OutcomeT]):
    id: str
    when: When
    outcome: OutcomeT


@dataclass(frozen=True)
class ProfileTables:
    missing_device: tuple[Row[MissingDevice], ...]
    pairing: tuple[Row[Pairing], ...]

    def rows(self) -> tuple[Row[MissingDevice] | Row[Pairing], ...]:
        return (*self.missing_device, *self.pairing)


class NoRowMatched(LookupError):
    """Every table ends with a catch-all row; reaching this is a bug in a table."""


def decide(table: Sequence[Row[OutcomeT]], facts: Facts) -> Row[OutcomeT]:
    """The first row of `table` whose conditions hold for `facts`."""
    for row in table:
        if row.when.holds(facts):
            return row
    raise NoRowMatched(f"no row matches {facts!r}")


# -- shorthands for the cells -------------------------------------------------------------------
OPERATOR = ("operator",)
NODE = ("node",)
NO_ORIGIN = (Origin.NONE,)
NO_NON_UI_ORIGIN = (Origin.NONE, Origin.UI)
DIRECT = PairingLocality.DIRECT_LOCAL
CLI_CONTAINER = PairingLocality.CLI_CONTAINER_LOCAL
SHARED_SECRET_LOOPBACK = PairingLocality.SHARED_SECRET_LOOPBACK_LOCAL
NOT_REMOTE = tuple(loc for loc in PairingLocality if loc is not PairingLocality.REMOTE)
SECRET_METHODS = ("token", "password")
NOT_UI_OR_WEBCHAT = (Client.CLI, Client.BACKEND, Client.NATIVE_APP_UI, Client.OTHER)

# -- step 6: the missing-device policy (A rows) ---------------------------------------------------
MISSING_DEVICE_3_13: tuple[Row[MissingDevice], ...] = (
    # A5 and B6: with dangerouslyDisableDeviceAuth an operator Control UI's device is ignored even
    # if sent, so these rows come before `B` and do not look at the device.
    Row(
        "A5.node",  # UPSTREAM S21: the flag does not cover the node role
        When(client=(Client.CONTROL_UI,), disable_device_auth=True, role=NODE, device=False),
        MissingDevice.REJECT_DEVICE_IDENTITY_REQUIRED,
    ),
    Row(
        "A5/B6.auth",  # A5 "accepted if auth OK": otherwise unauthorized
        When(
            client=(Client.CONTROL_UI,),
            disable_device_auth=True,
            role=OPERATOR,
            auth=(Auth.WRONG_SECRET, Auth.MISSING),
        ),
        MissingDevice.REJECT_UNAUTHORIZED,
    ),
    Row(
        "A5/B6",
        When(client=(Client.CONTROL_UI,), disable_device_auth=True, role=OPERATOR),
        MissingDevice.ACCEPT_REQUESTED_PAIRING_SKIPPED,
    ),
    Row("B", When(device=True), MissingDevice.DEVICE_CHECKS),
    Row(
        "A8",  # the security issue fixed in 3.22/3.31
        When(client=(Client.CONTROL_UI,), role=OPERATOR, auth=(Auth.PROXY_OK,)),
        MissingDevice.ACCEPT_REQUESTED_PAIRING_SKIPPED,
    ),
    Row(
        "A6",
        When(
            client=(Client.CONTROL_UI,),
            allow_insecure_auth=True,
            locality=(DIRECT,),
            role=OPERATOR,
            auth=(Auth.SECRET_OK,),
        ),
        MissingDevice.ACCEPT_REQUESTED,
    ),
    Row(
        "A6.auth",  # allowInsecureAuth, local, a wrong secret: unauthorized, not A7
        When(
            client=(Client.CONTROL_UI,),
            allow_insecure_auth=True,
            locality=(DIRECT,),
            role=OPERATOR,
            auth=(Auth.WRONG_SECRET,),
        ),
        MissingDevice.REJECT_UNAUTHORIZED,
    ),
    Row("A7", When(client=(Client.CONTROL_UI,)), MissingDevice.REJECT_CONTROL_UI_DEVICE_REQUIRED),
    Row("A4", When(auth=(Auth.WRONG_SECRET,)), MissingDevice.REJECT_UNAUTHORIZED),
    Row(
        "A3",  # K8: a failed trusted-proxy check is answered like no credential
        When(auth=(Auth.NONE, Auth.MISSING)),
        MissingDevice.REJECT_DEVICE_IDENTITY_REQUIRED,
    ),
    Row("A2", When(role=NODE), MissingDevice.REJECT_DEVICE_IDENTITY_REQUIRED),
    Row("A1", When(), MissingDevice.ACCEPT_CLEARED),  # K6: any sharedAuthOk; the seed bug
)

MISSING_DEVICE_9_6: tuple[Row[MissingDevice], ...] = (
    # B6 is gone: the bypass flags are retired, so every device goes to the device checks.
    Row("B", When(device=True), MissingDevice.DEVICE_CHECKS),
    Row(
        "A8",  # K9: accepted but cleared (then capped by X-OpenClaw-Scopes)
        When(client=(Client.CONTROL_UI,), role=OPERATOR, auth=(Auth.PROXY_OK,)),
        MissingDevice.ACCEPT_CLEARED,
    ),
    Row(
        "A5/A6",  # always reject; allowInsecureAuth / dangerouslyDisableDeviceAuth are ignored
        When(operator_ui=True),
        MissingDevice.REJECT_CONTROL_UI_DEVICE_REQUIRED,
    ),
    Row("A4", When(auth=(Auth.WRONG_SECRET,)), MissingDevice.REJECT_UNAUTHORIZED),
    Row(
        "A1d",  # before A3: auth mode none lets the local backend in
        When(
            auth=(Auth.NONE,),
            role=OPERATOR,
            client=(Client.BACKEND,),
            origin=NO_ORIGIN,
            locality=(DIRECT, SHARED_SECRET_LOOPBACK),
        ),
        MissingDevice.ACCEPT_REQUESTED,
    ),
    Row(
        "A3",  # K8
        When(auth=(Auth.NONE, Auth.MISSING)),
        MissingDevice.REJECT_DEVICE_IDENTITY_REQUIRED,
    ),
    Row("A2", When(role=NODE), MissingDevice.REJECT_DEVICE_IDENTITY_REQUIRED),
    Row(
        "A1a",  # the seed-bug fix
        When(
            auth=(Auth.SECRET_OK,),
            role=OPERATOR,
            client=(Client.CLI,),
            origin=NO_ORIGIN,
            locality=(DIRECT, CLI_CONTAINER),
        ),
        MissingDevice.ACCEPT_REQUESTED,
    ),
    Row(
        "A1b",
        When(
            auth=(Auth.SECRET_OK,),
            role=OPERATOR,
            client=(Client.BACKEND,),
            origin=NO_ORIGIN,
            locality=(DIRECT, SHARED_SECRET_LOOPBACK),
        ),
        MissingDevice.ACCEPT_REQUESTED,
    ),
    Row("A1c", When(), MissingDevice.ACCEPT_CLEARED),
)

# -- step 10: pairing (B rows) ------------------------------------------------------------------
PAIRING_3_13: tuple[Row[Pairing], ...] = (
    Row(
        "K7",  # A8 with a device: pairing skipped even when non-local; no token
        When(client=(Client.CONTROL_UI,), role=OPERATOR, method=("trusted-proxy",)),
        Pairing.SKIP,
    ),
    Row(
        "B3",  # regardless of any upgrade of a paired device
        When(client=(Client.BACKEND,), origin=NO_ORIGIN, locality=(DIRECT,), method=SECRET_METHODS),
        Pairing.SKIP_TOKEN_IF_PAIRED,
    ),
    Row("B4", When(pairing=(PairingReason.PAIRED,)), Pairing.PAIRED),
    Row(
        "B1",  # role- and metadata-upgrades are not silent (NOTES.md: "scope" read only)
        When(
            pairing=(PairingReason.NOT_PAIRED, PairingReason.SCOPE_UPGRADE),
            locality=(DIRECT,),
            origin=NO_NON_UI_ORIGIN,
        ),
        Pairing.SILENT,
    ),
    Row("B2", When(), Pairing.REQUIRED),
)

PAIRING_9_6: tuple[Row[Pairing], ...] = (
    Row(
        "B7",  # K5: skipped (`auth-none`), so no token
        When(auth_mode=("none",), client=(Client.CONTROL_UI,), role=OPERATOR),
        Pairing.SKIP,
    ),
    Row(
        "B3",  # covers a paired backend's scope-upgrade (observed), not role/metadata upgrades
        When(
            client=(Client.BACKEND,),
            origin=NO_ORIGIN,
            locality=(DIRECT, SHARED_SECRET_LOOPBACK),
            method=("none", "device-token", *SECRET_METHODS),
            pairing=(PairingReason.PAIRED, PairingReason.NOT_PAIRED, PairingReason.SCOPE_UPGRADE),
        ),
        Pairing.SKIP_TOKEN_IF_PAIRED,
    ),
    Row("B4", When(pairing=(PairingReason.PAIRED,)), Pairing.PAIRED),
    # B1: `shouldAllowSilentLocalPairing`: never remote, never with a non-UI Origin, never for an
    # existing device asking for a non-operator role; then per pairing reason.
    Row(
        "B1",
        When(pairing=(PairingReason.NOT_PAIRED,), locality=NOT_REMOTE, origin=NO_NON_UI_ORIGIN),
        Pairing.SILENT,
    ),
    Row(
        "B1.role-upgrade",
        When(
            pairing=(PairingReason.ROLE_UPGRADE,),
            role=OPERATOR,
            locality=NOT_REMOTE,
            origin=NO_NON_UI_ORIGIN,
        ),
        Pairing.SILENT,
    ),
    Row(
        "B1.scope-upgrade",  # only with auth method none, token or password (observed)
        When(
            pairing=(PairingReason.SCOPE_UPGRADE,),
            role=OPERATOR,
            locality=NOT_REMOTE,
            origin=NO_NON_UI_ORIGIN,
            method=("none", *SECRET_METHODS),
        ),
        Pairing.SILENT,
    ),
    Row(
        "B1.metadata-upgrade.native",
        When(
            pairing=(PairingReason.METADATA_UPGRADE,),
            role=OPERATOR,
            origin=NO_ORIGIN,
            client=(Client.NATIVE_APP_UI,),
            locality=(DIRECT,),
        ),
        Pairing.SILENT,
    ),
    Row(
        "B1.metadata-upgrade.local",
        When(
            pairing=(PairingReason.METADATA_UPGRADE,),
            role=OPERATOR,
            origin=NO_ORIGIN,
            client=NOT_UI_OR_WEBCHAT,
            locality=(CLI_CONTAINER, SHARED_SECRET_LOOPBACK),
        ),
        Pairing.SILENT,
    ),
    Row("B2", When(), Pairing.REQUIRED),
)

TABLES_3_13 = ProfileTables(missing_device=MISSING_DEVICE_3_13, pairing=PAIRING_3_13)
TABLES_9_6 = ProfileTables(missing_device=MISSING_DEVICE_9_6, pairing=PAIRING_9_6)
