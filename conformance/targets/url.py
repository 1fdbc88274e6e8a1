"""A gateway someone else runs, reached at a URL. We change nothing we were not allowed to."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import replace
from urllib.parse import urlsplit

from conformance.cleanup import cleanup_pairings
from conformance.gatewayconfig import ControlUi, GatewaySpec
from conformance.model import Case, DeviceState
from conformance.process import wait_ready
from conformance.targets.base import (
    CaseNotApplicable,
    Endpoint,
    Target,
    TargetUnavailable,
    Vantage,
)

READY_TIMEOUT_S = 15.0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
        allow_pairing: bool = False,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise TargetUnavailable(f"--gateway-url {url!r}: expected ws://host:port")
        if parts.scheme == "wss":
            raise TargetUnavailable("--gateway-url: wss:// is not supported yet; use ws://")
        self.name = url
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 18789
        self.token = token
        self.password = password
        mode = auth_mode or ("token" if token else "password" if password else "none")
        self.declared = GatewaySpec(
            auth=mode, control_ui=ControlUi(allowed_origins=allowed_origins)
        )
        self._vantage = Vantage(self.host, self.port)
        self.allow_pairing = allow_pairing
        self._devices: set[str] = set()
        self._requests: set[str] = set()

    def prepare(self) -> None:
        # Unreachable is a session-level fact: raised once, reported once.
        wait_ready(
            self._vantage,
            token=self.token,
            password=self.password,
            timeout=READY_TIMEOUT_S,
            what=f"gateway at {self.url}",
        )

    def check_case(self, case: Case) -> None:
        # A test device paired with admin scopes on someone's gateway is a security hole: cases
        # that pair or leave pending requests run only when the user opted in.
        if case.device.state is not DeviceState.NONE and not self.allow_pairing:
            raise CaseNotApplicable(
                "sends a device, which may pair it or leave a pending request on a gateway we "
                "do not own (opt in with --gateway-allow-pairing)"
            )

    def describe_declared(self) -> str:
        return self.declared.label

    def endpoint(self, spec: GatewaySpec) -> Endpoint:
        if replace(spec, handshake_timeout_ms=None) != self.declared:
            raise CaseNotApplicable(
                f"needs a gateway configured as [{spec.label}]; the gateway at {self.url} is "
                f"declared as [{self.declared.label}] (set --gateway-token/--gateway-password/"
                "--gateway-allowed-origin to match)"
            )
        if spec.handshake_timeout_ms is not None:
            raise CaseNotApplicable("needs a gateway started with a short handshake timeout")
        local = _is_loopback(self.host)
        return Endpoint(
            spec=spec,
            loopback=self._vantage if local else None,
            remote=None if local else self._vantage,
            token=self.token,
            password=self.password,
            remote_peer_ip=None,
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
        return asyncio.run(
            cleanup_pairings(
                self._vantage, self.token, self.password, set(self._devices), set(self._requests)
            )
        )

    def close(self) -> None:
        pass
