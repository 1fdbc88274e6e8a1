"""A gateway someone else runs, reached at a URL. We change nothing we were not allowed to.

The run starts with one preflight handshake (`targets.preflight`): reachable, speaking the
protocol, taking the secret. Then the gateway's own config (`config.get`, or the file given with
`--gateway-config`) says what it runs with, and every case whose needs that config meets runs
(`conformance.cases.needs`); the rest skip, each saying what it needs. Explicit flags win over the
config and are checked against it: a contradiction stops the run with one message.

Vantage points are checked, not guessed: the harness asks the gateway which address it saw
(`system-presence`, by the connection's instanceId) before it trusts a loopback or remote
vantage point.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.cases.gateway import GatewaySpec
from conformance.cases.model import Case, DeviceState
from conformance.cases.needs import (
    Deployed,
    Need,
    Unmet,
    deployed_from_config,
    needs_of,
    unmet,
)
from conformance.protocol.client import Timeouts, handshake
from conformance.protocol.sockets import Vantage
from conformance.targets import preflight
from conformance.targets.base import (
    CaseNotApplicable,
    Endpoint,
    Target,
    TargetUnavailable,
    TargetUsageError,
)
from conformance.targets.cleanup import cleanup_pairings
from conformance.targets.netns import Netns, NetnsUnavailable
from conformance.targets.process import run_coroutine

PRESENCE_IP_KEYS = ("ip", "remoteIp", "remoteAddress", "clientIp", "address")
LOOPBACK_SEEN = "127.0.0.1"  # a presence entry without an address: a loopback peer


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Declared:
    """What the user said on the command line about the gateway (None: said nothing)."""

    token: str | None = None
    password: str | None = None
    auth: str | None = None
    allowed_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] | None = None
    config_file: str | None = None


def load_config_file(path: str) -> dict[str, Any]:
    """`--gateway-config FILE`: the gateway's own openclaw.json."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetUsageError(f"--gateway-config {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TargetUsageError(
            f"--gateway-config {path}: not JSON ({exc}); give the gateway's openclaw.json"
        ) from exc
    if not isinstance(data, dict):
        raise TargetUsageError(f"--gateway-config {path}: not a JSON object")
    return data


def merge_declared(found: Deployed | None, declared: Declared) -> Deployed:
    """The gateway as the run will treat it: what it says about itself, with the user's flags
    checked against it; without it, the flags alone. Raises TargetUsageError on a
    contradiction, naming both sides."""
    flag_mode = declared.auth or (
        "token" if declared.token else "password" if declared.password else None
    )
    if found is None:
        return Deployed(
            auth=flag_mode or "none",
            allowed_origins=declared.allowed_origins,
            trusted_proxies=declared.trusted_proxies or (),
            source="flags",
        )
    problems = []
    if declared.auth and declared.auth != found.auth:
        problems.append(
            f"--gateway-auth {declared.auth}, but {found.source} says auth {found.auth}"
        )
    if declared.token and found.auth not in ("token",) and not declared.auth:
        problems.append(
            f"a token was given (--gateway-token or OPENCLAW_GATEWAY_TOKEN), but {found.source} "
            f"says auth {found.auth}"
        )
    if declared.password and not declared.token and found.auth != "password" and not declared.auth:
        problems.append(f"a password was given, but {found.source} says auth {found.auth}")
    missing = [o for o in declared.allowed_origins if not found.allows_origin(o)]
    if missing:
        problems.append(
            f"--gateway-allowed-origin {missing[0]}, but {found.source} allows "
            + (", ".join(found.allowed_origins) or "no origin")
        )
    if declared.trusted_proxies is not None and set(declared.trusted_proxies) != set(
        found.trusted_proxies
    ):
        problems.append(
            "--gateway-trusted-proxy " + ",".join(declared.trusted_proxies) + f", but "
            f"{found.source} says trustedProxies " + (",".join(found.trusted_proxies) or "none")
        )
    if problems:
        raise TargetUsageError("the flags contradict the gateway: " + "; ".join(problems))
    return found


class UrlTarget(Target):
    kind = "url"

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        password: str | None,
        auth_mode: str | None = None,
        allowed_origins: tuple[str, ...] = (),
        trusted_proxies: tuple[str, ...] | None = None,
        config_file: str | None = None,
        allow_pairing: bool = False,
        progress: Callable[[str], None] | None = None,
        make_netns: Callable[[], Netns] | None = None,
        connect_timeout: float = preflight.CONNECT_TIMEOUT_S,
    ) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as exc:
            raise TargetUsageError(f"--gateway-url {url!r}: {exc}") from exc
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise TargetUsageError(f"--gateway-url {url!r}: expected ws://host:port")
        if parts.scheme == "wss":
            raise TargetUsageError("--gateway-url: wss:// is not supported yet; use ws://")
        self.name = url
        self.url = url
        self.host = parts.hostname
        self.port = port or 18789
        self.token = token
        self.password = password
        self.declared_flags = Declared(
            token=token,
            password=password,
            auth=auth_mode,
            allowed_origins=allowed_origins,
            trusted_proxies=trusted_proxies,
            config_file=config_file,
        )
        self.deployed: Deployed | None = None
        self.allow_pairing = allow_pairing
        self._progress = progress or (lambda message: None)
        self._make_netns = make_netns or Netns.create
        self._connect_timeout = connect_timeout
        self._netns: Netns | None = None
        self._given = Vantage(self.host, self.port)
        self.loopback: Vantage | None = None
        self.remote: Vantage | None = None
        self.remote_peer_ip: str | None = None
        self.loopback_unavailable = "the gateway is on another host"
        self.remote_unavailable = "not checked yet"
        self.notes: list[str] = []
        self._devices: set[str] = set()
        self._requests: set[str] = set()

    # -- session start -------------------------------------------------------------------
    def prepare(self) -> None:
        self._progress(f"preflight: connecting to {self.url}")
        try:
            found = run_coroutine(
                preflight.run(
                    self._given,
                    url=self.url,
                    token=self.token,
                    password=self.password,
                    timeout=self._connect_timeout,
                )
            )
        except preflight.PreflightError as exc:
            raise TargetUnavailable(str(exc)) from None
        self.version, self.protocol = found.version, found.protocol
        config_source = None
        if self.declared_flags.config_file:
            config = load_config_file(self.declared_flags.config_file)
            config_source = f"--gateway-config {self.declared_flags.config_file}"
        else:
            config = found.config
            config_source = "config.get"
            if config is None and self.allow_pairing and _is_loopback(self.host):
                config, why, device_id = run_coroutine(
                    preflight.read_config_with_device(
                        self._given,
                        token=self.token,
                        password=self.password,
                        timeout=self._connect_timeout,
                    )
                )
                if device_id:
                    self._devices.add(device_id)  # removed again at the end, like the cases'
                if config is not None:
                    config_source = "config.get (with a device paired for it)"
                else:
                    found.config_refused = f"{found.config_refused}; with a device: {why}"
            if config is None:
                self.notes.append(
                    f"the gateway refused config.get to a device-less {found.client} "
                    f"({found.config_refused}); judging from the flags alone"
                )
        deployed = deployed_from_config(config, config_source) if config is not None else None
        self.deployed = merge_declared(deployed, self.declared_flags)
        self._progress(
            f"preflight: {self.url} is OpenClaw {self.version or '?'} (protocol "
            f"{self.protocol}), {self.deployed.describe()} (from {self.deployed.source})"
        )
        self._find_vantages()

    def _find_vantages(self) -> None:
        """Which vantage points are real: ask the gateway which address it saw."""
        given_ip = run_coroutine(self._seen_ip(self._given))
        if _is_loopback(self.host):
            if given_ip is not None and not _is_loopback(given_ip):
                # e.g. a container port published through a proxy: the "local" URL is remote.
                self.remote, self.remote_peer_ip = self._given, given_ip
                self.loopback_unavailable = (
                    f"the gateway saw {given_ip}, not loopback, for a client on {self.host}"
                )
                self.remote_unavailable = ""
                self.notes.append(
                    f"vantage: the gateway sees clients of {self.url} as {given_ip}: every "
                    "case runs as remote"
                )
                return
            self.loopback = self._given
            self.loopback_unavailable = ""
            if given_ip is None:
                self.notes.append(
                    "vantage: the gateway does not say which address it saw; trusting "
                    f"{self.host} as loopback"
                )
            self._find_namespace_vantage()
        else:
            self.remote, self.remote_peer_ip = self._given, given_ip
            self.remote_unavailable = ""
            if given_ip is not None and _is_loopback(given_ip):
                self.remote = None
                self.remote_unavailable = f"the gateway saw {given_ip} (loopback) for {self.url}"
            self.loopback_unavailable = (
                f"the gateway is on another host ({self.host}): loopback cases need the "
                "harness on the gateway's host"
            )

    def _find_namespace_vantage(self) -> None:
        """A gateway on this host that listens beyond loopback: dial it from a network namespace
        of our own, so it sees a non-loopback peer."""
        try:
            ns = self._make_netns()
        except NetnsUnavailable as exc:
            self.remote_unavailable = str(exc)
            return
        self._netns = ns
        vantage = Vantage(ns.outer_ip, self.port, ns.connector(ns.outer_ip, self.port))
        probe = run_coroutine(self._probe(vantage))
        if probe is not None:
            self.remote_unavailable = (
                f"the gateway does not answer beyond loopback ({probe}); bind it to lan "
                "(gateway.bind) to run the remote cases"
            )
            self._drop_netns()
            return
        seen = run_coroutine(self._seen_ip(vantage))
        if seen is not None and _is_loopback(seen):
            self.remote_unavailable = f"the gateway saw {seen} for the namespace's client"
            self._drop_netns()
            return
        self.remote = vantage
        self.remote_peer_ip = seen or ns.inner_ip
        self.remote_unavailable = ""
        self._progress(
            f"vantage: remote cases dial {ns.outer_ip}:{self.port} from network namespace "
            f"{ns.name}; the gateway sees {seen or ns.inner_ip + ' (not confirmed)'}"
        )

    async def _probe(self, vantage: Vantage) -> str | None:
        """None when a connect through `vantage` gets the same welcome as the preflight."""
        build = preflight.connect_frame(
            token=self.token,
            password=self.password,
            client_id="cli" if (self.token or self.password) else "gateway-client",
            client_mode="cli" if (self.token or self.password) else "backend",
            scopes=(),
            instance_id=f"conformance-{uuid.uuid4().hex[:12]}",
        )
        t = self._connect_timeout
        out = await handshake(
            vantage, build, timeouts=Timeouts(open=t, challenge=t, response=t, close=1),
            keep_open=False,
        )  # fmt: skip
        if out.response or out.http_status is not None:
            return None
        return out.summary()

    async def _seen_ip(self, vantage: Vantage) -> str | None:
        """The address the gateway recorded for a connection of ours: its presence entry, found
        by the client's instanceId. Observed on 2026.9.6: a device-less `test/test` client gets
        an entry (cli and backend connects get none), with `ip` for a non-loopback peer and no
        `ip` for a loopback one; reading the list needs operator.read, so a second connection
        (a local CLI with the secret) asks `system-presence` while the probe is still open.
        Returns LOOPBACK_SEEN for an entry without `ip`, None when nothing can be told."""
        instance = f"conformance-{uuid.uuid4().hex[:12]}"
        t = self._connect_timeout
        timeouts = Timeouts(open=t, challenge=t, response=t, close=1)
        build = preflight.connect_frame(
            token=self.token,
            password=self.password,
            client_id="test",
            client_mode="test",
            scopes=preflight.FULL_SCOPES,
            instance_id=instance,
        )
        out = await handshake(vantage, build, timeouts=timeouts)
        conn = out.connection
        if conn is None:
            return None
        try:
            found = _presence_ip(
                ((out.hello or {}).get("snapshot") or {}).get("presence"), instance
            )
            if found is None:
                found = await self._ask_presence(self._given, instance, timeouts)
            return found
        finally:
            await conn.close()

    async def _ask_presence(self, vantage: Vantage, instance: str, timeouts: Timeouts):
        build = preflight.connect_frame(
            token=self.token,
            password=self.password,
            client_id="cli" if (self.token or self.password) else "gateway-client",
            client_mode="cli" if (self.token or self.password) else "backend",
            scopes=preflight.FULL_SCOPES,
            instance_id=f"conformance-{uuid.uuid4().hex[:12]}",
        )
        out = await handshake(vantage, build, timeouts=timeouts)
        if out.connection is None:
            return None
        try:
            res = await out.connection.call("system-presence", {})
            return _presence_ip(res.payload, instance) if res.ok else None
        finally:
            await out.connection.close()

    # -- per case ------------------------------------------------------------------------
    def check_case(self, case: Case) -> None:
        assert self.deployed is not None, "prepare() first"
        # What the gateway runs with first (the most fundamental reason), then where the
        # harness can dial from, then what the user allowed it to do.
        found: Unmet | None = unmet(
            needs_of(case),
            self.deployed,
            remote_peer_ip=self.remote_peer_ip,
            remote_known=self.remote is not None,
        )
        if found is not None:
            raise CaseNotApplicable(found.reason, need=found.need)
        vantage = self.remote if case.connection.via == "remote" else self.loopback
        if vantage is None:
            why = (
                self.remote_unavailable
                if case.connection.via == "remote"
                else self.loopback_unavailable
            )
            raise CaseNotApplicable(
                f"needs a {case.connection.via} vantage point: {why}",
                need=Need.REMOTE if case.connection.via == "remote" else Need.LOOPBACK,
            )
        if case.device.state is DeviceState.PAIRED and self.loopback is None:
            raise CaseNotApplicable(
                "pairs its device first by silent local pairing, which needs a loopback "
                f"vantage point: {self.loopback_unavailable}",
                need=Need.LOOPBACK,
            )
        # A test device paired with admin scopes on someone's gateway is a security hole: cases
        # that pair or leave pending requests run only when the user opted in.
        if case.device.state is not DeviceState.NONE and not self.allow_pairing:
            raise CaseNotApplicable(
                "sends a device, which may pair it or leave a pending request on a gateway we "
                "do not own (opt in with --gateway-allow-pairing)",
                need=Need.PAIRING,
            )

    def endpoint(self, spec: GatewaySpec) -> Endpoint:
        assert self.deployed is not None, "prepare() first"
        return Endpoint(
            spec=spec,
            loopback=self.loopback,
            remote=self.remote,
            token=self.token,
            password=self.password,
            remote_peer_ip=self.remote_peer_ip,
            version=self.version,
            remote_unavailable=self.remote_unavailable or None,
            allowed_origin=self.deployed.allowed_origin,
        )

    def note(self, case: Case, device_id: str | None, request_id: str | None) -> None:
        if device_id:
            self._devices.add(device_id)
        if request_id:
            self._requests.add(request_id)

    def finish(self) -> list[str]:
        """Leave the gateway as we found it: remove the devices our cases paired, reject the
        pending requests they created. Says what it could not undo."""
        if not self._devices and not self._requests:
            return []
        vantage = self.loopback or self.remote or self._given
        args = (vantage, self.token, self.password, set(self._devices), set(self._requests))
        lines = asyncio.run(cleanup_pairings(*args))
        if lines and "refused" in lines[0] and self.loopback is not None:
            lines = asyncio.run(cleanup_pairings(*args, with_device=True))
        return lines

    def _drop_netns(self) -> None:
        ns, self._netns = self._netns, None
        if ns is not None:
            with contextlib.suppress(Exception):
                ns.close()

    def close(self) -> None:
        self._drop_netns()


def _presence_ip(entries: Any, instance_id: str) -> str | None:
    """The `ip` of the live presence entry with this instanceId; LOOPBACK_SEEN when the entry
    has none (what 2026.9.6 records for a loopback peer); None without an entry."""
    if isinstance(entries, dict):
        entries = entries.get("presence") or entries.get("entries") or []
    if not isinstance(entries, list):
        return None
    mine = [e for e in entries if isinstance(e, dict) and e.get("instanceId") == instance_id]
    mine.sort(key=lambda e: e.get("reason") == "disconnect")
    for entry in mine:
        for key in PRESENCE_IP_KEYS:
            value = entry.get(key)
            if isinstance(value, str) and value:
                with contextlib.suppress(ValueError):
                    host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
                    return str(ipaddress.ip_address(host.removeprefix("::ffff:")))
        return LOOPBACK_SEEN
    return None
