"""What the harness needs from a gateway under test, whatever runs it.

A target turns a case's gateway config into a reachable endpoint, starting a gateway when it owns
one, and reuses it for every case with the same config.
"""

from __future__ import annotations

import abc
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.cases.gateway import GatewaySpec
from conformance.protocol.sockets import Vantage

if TYPE_CHECKING:
    from conformance.cases.model import Case


class TargetUnavailable(Exception):
    """The target cannot be reached or started at all: fail the session once, not each case."""


class TargetUsageError(TargetUnavailable):
    """The target was asked for in a way that cannot work (a malformed URL, flags that
    contradict what the gateway says): a usage error, exit 4 as pytest's own."""


class GatewayStartError(RuntimeError):
    """One gateway config failed to start (early exit, not ready in time); the message has the
    log tail. Not a TargetUnavailable: another config of the same target may start fine.

    `reason` is the short form every case of the config reports as its error: the first lines of
    the gateway's own message when its log has one, else how the start failed."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message.split("\n", 1)[0]


# Log lines in which a release says why it did not start ("Gateway failed to start: Error: ...",
# "Refusing to bind gateway to lan without auth", "Invalid config ...").
_START_ERROR = re.compile(r"\b(error|failed|refus\w*|invalid|cannot|requires?)\b", re.IGNORECASE)
_LOG_PREFIX = re.compile(r"^\s*\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?\s+(\[[^\]]*\]\s+)?")
START_REASON_LINES = 2


def start_failure_reason(log_tail: str, lines: int = START_REASON_LINES) -> str | None:
    """The gateway's own words for a failed start: the first log lines that say error, failed,
    refusing, invalid, cannot or requires, without their timestamps; None when none does."""
    said = [
        _LOG_PREFIX.sub("", line).strip()
        for line in log_tail.splitlines()
        if _START_ERROR.search(line)
    ]
    said = [line for line in said if line]
    return " / ".join(said[:lines]) if said else None


class CaseNotApplicable(Exception):
    """This target cannot run this case (say why); the case skips. `need` names what would let
    it run (a `conformance.cases.needs.Need`), for the coverage summary."""

    def __init__(self, reason: str, need: Any = None) -> None:
        super().__init__(reason)
        self.need = need


@dataclass
class Endpoint:
    """A running gateway with a given config, as seen from the harness."""

    spec: GatewaySpec
    loopback: Vantage | None
    remote: Vantage | None
    token: str | None
    password: str | None
    remote_peer_ip: str | None  # the address the gateway sees for clients dialling via `remote`
    log_tail: Callable[[int], str] = field(default=lambda n: "")
    version: str | None = None
    remote_unavailable: str | None = None  # why `remote` is None although a namespace exists
    allowed_origin: str | None = None  # for `origin: allowed`; None: the spec's first
    # Settings of the spec the release does not know and was started without (its config
    # validation refused them), e.g. gateway.controlUi.allowedOrigins on 2026.2.1.
    unsupported: tuple[str, ...] = ()


@dataclass(frozen=True)
class CliRun:
    """One run of the release's own `openclaw` command."""

    argv: tuple[str, ...]
    exit_code: int | None  # None: killed at the timeout
    output: str  # stdout and stderr, interleaved as written
    seconds: float


AUTH_NONE_LOOPBACK_ONLY = "OpenClaw refuses to listen on a non-loopback address with auth mode none"
NO_REMOTE_CASE = "no case of this gateway config connects from remote: it was started on loopback"


@dataclass(frozen=True)
class BindPlan:
    """Where a started gateway listens: beyond loopback only when a case of its config needs it
    and the release allows it, because a release may refuse (or treat differently) a config
    bound beyond loopback (2026.2.26 will not start on lan without Control UI origins)."""

    bind: str  # loopback | lan, as `gateway run --bind` and `gateway.bind` spell it
    remote_unavailable: str | None  # why there is no remote vantage point; None: there is one

    @property
    def remote(self) -> bool:
        return self.bind != "loopback"


class Target(abc.ABC):
    """A source of gateways: the reference, an npm release, a container or a URL."""

    kind: str  # reference | npm | container | url
    name: str  # as given on the command line, e.g. reference@2026.3.13, openclaw@2026.9.6
    version: str | None = None  # the gateway version the profile or release claims
    protocol: int | None = None  # learnt from the first hello-ok
    # The configs some case connects to from remote; None: not told, so every config that can
    # listens beyond loopback.
    remote_configs: frozenset[GatewaySpec] | None = None

    def plan(self, cases: Iterable[Case], selected: Iterable[Case] | None = None) -> None:
        """Learn which configs the run's matrix connects to from remote (every loaded case, not
        only the selected ones, so a `-k` run starts each config as the full run does).
        `selected` (default: all) are the cases this process will run, in order: a target may
        start their gateways ahead of the first case."""
        self.remote_configs = frozenset(c.gateway for c in cases if c.connection.via == "remote")

    def bind_plan(self, spec: GatewaySpec, *, can_reach_remote: bool) -> BindPlan:
        """Loopback unless a case of this config is remote and the harness has a remote vantage
        point (`can_reach_remote`); never beyond loopback with auth none, which OpenClaw refuses
        ("Refusing to bind gateway to lan without auth", exit 78 on 2026.9.6)."""
        if not can_reach_remote:
            return BindPlan("loopback", None)
        if spec.auth == "none":
            return BindPlan("loopback", AUTH_NONE_LOOPBACK_ONLY)
        if self.remote_configs is not None and spec not in self.remote_configs:
            return BindPlan("loopback", NO_REMOTE_CASE)
        return BindPlan("lan", None)

    @abc.abstractmethod
    def endpoint(self, spec: GatewaySpec) -> Endpoint:
        """Return a ready endpoint for this config, starting a gateway the first time.

        Raises CaseNotApplicable when this target cannot offer the config, TargetUnavailable when
        it cannot offer anything.
        """

    def prepare(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Called once before the first case: raise TargetUnavailable if nothing can run."""

    def check_case(self, case: Case) -> None:  # noqa: B027 - optional hook, no-op by default
        """Raise CaseNotApplicable when this target must not run this case at all."""

    def hold(self, spec: GatewaySpec) -> None:  # noqa: B027 - optional hook, no-op by default
        """Work outside the case order (a CLI command in the background) still needs this
        config's gateway: it must not be switched to another config until `release`."""

    def release(self, spec: GatewaySpec) -> None:  # noqa: B027 - optional hook, no-op by default
        """The work announced by `hold` is done."""

    def note(self, case: Case, device_id: str | None, request_id: str | None) -> None:  # noqa: B027
        """What a case left on the gateway: the device it sent, the pending request it made."""

    def finish(self) -> list[str]:
        """Session end, before the summary: undo what the run left behind where that is ours
        to undo; one line per thing done or not done."""
        return []

    ships_cli: bool = False  # run_cli works: the target has the release's own `openclaw`
    # endpoint() may be called from several threads, and its gateways cost nothing to have
    # ready: a case that only waits for a gateway timer may run beside the others.
    serves_concurrently: bool = False

    def run_cli(self, spec: GatewaySpec, args: list[str], timeout: float) -> CliRun:
        """Run `openclaw ARGS` as a user on the gateway host would, against the gateway of this
        spec. Targets that ship no CLI raise CaseNotApplicable."""
        raise CaseNotApplicable(f"the {self.kind} target ships no openclaw CLI")

    @abc.abstractmethod
    def close(self) -> None:
        """Stop everything this target started. Idempotent."""


class GatewayPool(Target):
    """A target that starts one gateway per distinct config and reuses it. A config that failed
    to start fails again at once: a broken config costs one start, not one per case."""

    def _init_pool(self) -> None:
        self._gateways: dict[GatewaySpec, Any] = {}
        self._failed: dict[GatewaySpec, GatewayStartError | CaseNotApplicable] = {}
        self._lock = threading.RLock()
        self._closed = False

    @abc.abstractmethod
    def _start_gateway(self, spec: GatewaySpec) -> Any:
        """Start and wait for a gateway of this spec; return a record with an `.endpoint`."""

    def endpoint(self, spec: GatewaySpec) -> Endpoint:
        with self._lock:
            if self._closed:
                raise TargetUnavailable(f"{self.name}: target already closed")
            running = self._gateways.get(spec)
            if running is not None and running.endpoint is not None:
                return running.endpoint
            if spec in self._failed:
                raise self._failed[spec]
            try:
                gw = self._start_gateway(spec)
            except (GatewayStartError, CaseNotApplicable) as exc:
                self._failed[spec] = exc
                raise
            self._gateways[spec] = gw
            assert gw.endpoint is not None
            return gw.endpoint
