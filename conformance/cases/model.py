"""The case model: what a handshake case (and a CLI case) sends and what it expects. Data only,
no behaviour beyond derived views (axes, markers) that the plugin and the reports share.

Built by conformance.cases.loader from files validated by conformance.cases.schema."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.cases.gateway import GatewaySpec
from conformance.protocol.frames import Proof
from conformance.versions import Version


class Severity(enum.Enum):
    MUST = "must"
    SHOULD = "should"
    INFO = "info"


class DeviceState(enum.Enum):
    NONE = "none"
    UNPAIRED = "unpaired"
    PAIRED = "paired"


class FirstFrame(enum.Enum):
    CONNECT = "connect"
    NOT_CONNECT = "not-connect"
    NOT_JSON = "not-json"
    NON_REQUEST = "non-request"
    OVERSIZE = "oversize"
    SILENT = "silent"


class Secret(enum.Enum):
    """What a case sends in `auth.token` or `auth.password`."""

    RIGHT = "right"  # the gateway's secret of this field's kind
    WRONG = "wrong"  # a random value
    GATEWAY_TOKEN = "gateway-token"  # the gateway's token, whichever field carries it
    GATEWAY_PASSWORD = "gateway-password"  # the gateway's password, whichever field carries it


class DeviceTokenUse(enum.Enum):
    ISSUED = "issued"
    WRONG = "wrong"
    OTHER_DEVICE = "other-device"  # a token pairing issued to another device of the gateway


@dataclass(frozen=True)
class ClientSpec:
    id: str
    mode: str
    platform: str | None = "linux"  # None: not sent
    device_family: str | None = None
    version: str = "conformance"
    # Sent as given when not None: client.displayName, client.instanceId, and the top-level
    # connect params caps, locale and userAgent (the case file keeps them with the client).
    display_name: str | None = None
    instance_id: str | None = None
    caps: tuple[str, ...] | None = None
    locale: str | None = None
    user_agent: str | None = None

    @property
    def label(self) -> str:
        return f"{self.id}/{self.mode}"


@dataclass(frozen=True)
class ConnectionSpec:
    via: str = "loopback"  # loopback | remote
    origin: str | None = None  # "gateway" = the gateway's own origin
    forwarded_for: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Credentials:
    token: Secret | None = None
    password: Secret | None = None
    device_token: DeviceTokenUse | None = None


@dataclass(frozen=True)
class PairedAs:
    role: str
    scopes: tuple[str, ...]
    # The metadata the pairing pins (GATEWAY_PROTOCOL.md section 2); default: the case's client's
    platform: str | None = None
    device_family: str | None = None


@dataclass(frozen=True)
class DeviceSpec:
    state: DeviceState = DeviceState.NONE
    # None: as the release's own clients sign (v3 from 2026.2.26, v2 before; judge.runner)
    signature: str | None = None
    proof: Proof = Proof.VALID
    paired_as: PairedAs | None = None


@dataclass(frozen=True)
class Expectation:
    accepted: bool
    scopes: frozenset[str] | None = None
    device_token: bool | None = None
    auth_method: str | None = None
    error: str | None = None
    details_code: str | None = None
    details_code_given: bool = False  # distinguishes `details_code: null` from absent
    message: str | None = None
    details: tuple[tuple[str, Any], ...] = ()
    close: int | None = None
    response: bool = True
    http_status: int | None = None
    secondary: frozenset[str] = frozenset()  # primary fields this case demotes

    def as_dict(self) -> dict[str, Any]:
        """The report's `expected` object: only what the case states."""
        out: dict[str, Any] = {"accepted": self.accepted}
        if self.secondary:
            out["secondary"] = sorted(self.secondary)
        if self.accepted:
            if self.scopes is not None:
                out["scopes"] = sorted(self.scopes)
            if self.device_token is not None:
                out["device_token"] = self.device_token
            if self.auth_method is not None:
                out["auth_method"] = self.auth_method
            return out
        if self.http_status is not None:
            out["http_status"] = self.http_status
            return out
        if not self.response:
            out["response"] = False
        if self.error is not None:
            out["error"] = {"code": self.error, "details_code": self.details_code}
        if self.message is not None:
            out["message"] = self.message
        if self.details:
            out["details"] = dict(self.details)
        if self.close is not None:
            out["close_code"] = self.close
        return out


@dataclass(frozen=True)
class Era:
    """A deliberate change of the contract: releases `since` <= v < `until` are judged by
    `expect` (None: the case's own), and the report names the era's refs and note. `security`
    marks a change no upstream decision records (a fix undone): reported as such wherever a
    release of the era is judged."""

    since: str | None = None
    until: str | None = None
    expect: Expectation | None = None
    refs: tuple[str, ...] = ()
    note: str | None = None
    security: str | None = None

    def contains(self, version: Version) -> bool:
        release = version.release
        if self.since is not None and release < Version.parse(self.since).release:
            return False
        return self.until is None or release < Version.parse(self.until).release

    @property
    def window(self) -> str:
        first = self.since or "the first release"
        return f"{first} to {f'before {self.until}' if self.until else 'the latest'}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "refs": list(self.refs),
            "note": self.note,
            "security": self.security,
        }


@dataclass(frozen=True)
class Case:
    id: str
    severity: Severity
    gateway: GatewaySpec
    client: ClientSpec
    expect: Expectation
    role: str = "operator"
    scopes: tuple[str, ...] | None = None
    credentials: Credentials = field(default_factory=Credentials)
    connection: ConnectionSpec = field(default_factory=ConnectionSpec)
    device: DeviceSpec = field(default_factory=DeviceSpec)
    protocol: tuple[int, int] = (3, 4)
    first_frame: FirstFrame = FirstFrame.CONNECT
    title: str | None = None
    refs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    eras: tuple[Era, ...] = ()
    era: Era | None = None  # the era this copy of the case is judged by (`for_version`)
    source: str = ""  # file:line where the case (or its matrix) is defined

    def expected_dict(self) -> dict[str, Any]:
        return self.expect.as_dict()

    def era_for(self, version: Version | None) -> Era | None:
        """The era a release of `version` is judged by; None: the current contract (also when
        the version is unknown)."""
        if version is None:
            return None
        return next((era for era in self.eras if era.contains(version)), None)

    def for_version(self, version: Version | None) -> Case:
        """This case as a release of `version` is judged: its era's expectation in place of
        the current one."""
        era = self.era_for(version)
        if era is None:
            return self
        return replace(self, expect=era.expect or self.expect, era=era)

    @property
    def locality(self) -> str:
        if self.connection.forwarded_for is None:
            return self.connection.via
        peer = "loopback" if self.connection.via == "loopback" else "remote-peer"
        return "proxied-trusted" if peer in self.gateway.trusted_proxies else "proxied-untrusted"

    @property
    def device_axis(self) -> str:
        if self.device.proof is not Proof.VALID:
            return self.device.proof.value
        return self.device.state.value

    @property
    def axes(self) -> dict[str, str]:
        return {
            "auth": self.gateway.auth,
            "locality": self.locality,
            "device": self.device_axis,
            "client": self.client.label,
            "role": self.role,
        }

    @property
    def markers(self) -> tuple[str, ...]:
        """pytest marker names, so `-m "auth_token and locality_remote"` selects cases."""
        names = [self.severity.value]
        names += [f"{axis}_{_identifier(value)}" for axis, value in self.axes.items()]
        # `-m ref_49180`, `-m ref_ghsa_rqpp_rjj8_7wv8`, `-m ref_s01`: issue numbers alone, since
        # every issue of this matrix lives in openclaw/openclaw
        names += [f"ref_{_identifier(ref.removeprefix('openclaw/openclaw#'))}" for ref in self.refs]
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class CliCase:
    """A command of the release's own CLI, run against the gateway under test."""

    id: str
    severity: Severity
    gateway: GatewaySpec
    command: tuple[str, ...]  # after `openclaw`; {token}, {password}, {port} are filled in
    exit_code: int | None
    output_excludes: tuple[str, ...]
    title: str | None = None
    refs: tuple[str, ...] = ()
    source: str = ""

    @property
    def axes(self) -> dict[str, str]:
        # The CLI decides for itself whether to attach a device; locality is the gateway host.
        return {
            "auth": self.gateway.auth,
            "locality": "loopback",
            "device": "cli-managed",
            "client": f"openclaw {' '.join(self.command[:2])}",
            "role": "operator",
        }

    def expected_dict(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "output_excludes": list(self.output_excludes)}


def _identifier(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", value).strip("_").lower()
