"""`ConformanceSession`: the per-process state of a run, in four parts with one owner each.

- `Settings` (options.py): what the run was asked to do; frozen at configure time.
- `Matrix`: the loaded YAML (cases, CLI cases, baselines); loaded once, by `load_matrix()`,
  from the hook that first needs it, so runs that collect no conformance test never read it.
- `Gateways`: the processes and namespace this run started, and why the target is unusable if
  it is; started lazily by `get_target()`, stopped by `close()`.
- `Results`: what the run found, for the reporter: the report being filled and summary notes.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

from conformance.cases.baselines import Baseline, BaselineEntry, load_baseline
from conformance.cases.loader import (
    CaseFileError,
    load_cases,
    load_cli_cases,
    packaged_case_paths,
    packaged_cli_case_paths,
    packaged_paths,
)
from conformance.cases.model import Case, CliCase, FirstFrame, Severity
from conformance.judge.runner import Observation, PreconditionError, run_case_sync
from conformance.plugin.breaker import Breaker
from conformance.plugin.clirun import run_cli_command
from conformance.plugin.exitcodes import EXIT_TARGET_UNUSABLE
from conformance.plugin.options import Settings
from conformance.protocol.text import cap_lines
from conformance.reports.data import RunReport
from conformance.targets import registry
from conformance.targets.base import (
    CaseNotApplicable,
    CliRun,
    Endpoint,
    Target,
    TargetUnavailable,
    TargetUsageError,
)
from conformance.targets.netns import Netns, NetnsUnavailable
from conformance.targets.spec import make_target
from conformance.versions import Version


@dataclass(frozen=True)
class Matrix:
    """The cases this run may collect and the known failures among them."""

    cases: tuple[Case, ...]
    cli_cases: tuple[CliCase, ...]
    by_id: Mapping[str, Case | CliCase]
    baselines: tuple[Baseline, ...]

    def known_failure(self, case_id: str) -> BaselineEntry | None:
        for baseline in self.baselines:
            if case_id in baseline.entries:
                return baseline.entries[case_id]
        return None


@dataclass(frozen=True)
class Unusable:
    """Why the target cannot be used: every later case stops with the same message."""

    message: str
    code: int


@dataclass
class Gateways:
    """What this process started and must stop: the target under test, the reference of a
    differential run, the network namespace of the remote cases."""

    target: Target | None = None
    reference: Target | None = None
    netns: Netns | None = None
    netns_error: str | None = None  # why there is no namespace (the remote cases skip)
    unusable: Unusable | None = None


@dataclass
class Results:
    """What the run found: filled by the cases' reports, written by the reporter."""

    report: RunReport
    baseline_notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    # pytest's public record_testsuite_property, handed over by the session fixture (a no-op
    # without --junitxml); None until a conformance test ran in this process.
    record_suite_property: Callable[[str, object], None] | None = None


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM while the session removes its gateways must not cut that
    short (it is bounded: every process group is SIGKILLed after a 5 s grace): the signals are
    ignored until it is done, then the previous handlers are back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in saved:
        signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:  # None: installed outside Python, left as it is
                signal.signal(sig, handler)


class ConformanceSession:
    """Per-process state: the settings, the matrix, the lazily started target, the results."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.settings = Settings.from_config(config)
        request = self.settings.request
        self.matrix: Matrix | None = None
        # The handshake cases this process runs, in order, once collection is done (None
        # before: every case may run).
        self.selected: tuple[Case, ...] | None = None
        self.early: dict[str, Future[Observation]] = {}
        self.selected_cli: tuple[CliCase, ...] | None = None
        self.early_cli: dict[str, Future[tuple[Endpoint, CliRun]]] = {}
        self._cli_thread: threading.Thread | None = None
        self.breaker = Breaker()
        self._early_pool: ThreadPoolExecutor | None = None
        self.gateways = Gateways()
        self.results = Results(
            RunReport(target_kind="?", target_name=request.url or request.image or request.gateway)
        )
        # pytest_unconfigure normally stops everything; this also covers an interpreter that
        # exits through a path that skips it.
        atexit.register(self.close)

    # -- the matrix

    def load_matrix(self) -> Matrix:
        """The cases, CLI cases and baselines, read on the first call (later calls return the
        same Matrix). Also registers the cases' markers and sizes the report; a bad case or
        baseline file stops the run with a one-line usage error."""
        if self.matrix is not None:
            return self.matrix
        paths = [self._baseline_path(v) for v in self.settings.baselines]
        try:
            cases = load_cases([*packaged_case_paths(), *self.settings.extra_case_paths])
            cli_cases = load_cli_cases(packaged_cli_case_paths())
            by_id: dict[str, Case | CliCase] = {c.id: c for c in cases}
            by_id.update({c.id: c for c in cli_cases})
            baselines = [load_baseline(p, by_id) for p in paths if p is not None]
            info = [
                e
                for b in baselines
                for e in b.entries.values()
                if by_id[e.id].severity is Severity.INFO
            ]
            if info:
                raise CaseFileError(
                    f"{info[0].source}: {info[0].id!r} is an info case, which never fails: a "
                    "strict-xfail baseline entry would only ever report it as stale"
                )
        except CaseFileError as exc:
            # A clean one-line stop: the message already names file, line and problem.
            pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        self.matrix = Matrix(tuple(cases), tuple(cli_cases), by_id, tuple(baselines))
        self.results.report.matrix_size = len(cases)
        for marker in sorted({m for case in cases for m in case.markers}):
            self.config.addinivalue_line("markers", f"{marker}: conformance case axis or severity")
        return self.matrix

    def _baseline_path(self, value: str) -> Path | None:
        """`auto`: the packaged baseline named after the release under test
        (`openclaw@2026.3.13.yaml`, `reference@2026.3.13.yaml`); for an image, after the
        release its tag names (`...:2026.9.6` -> `openclaw@2026.9.6`); for a URL, after the
        version the gateway reported in the preflight (None, with a note, when none is
        packaged for it: a release with no known departure)."""
        if value != "auto":
            return Path(value)
        request = self.settings.request
        name = request.gateway
        if request.image:
            tag = request.image.rsplit(":", 1)[-1] if ":" in request.image else ""
            name = f"openclaw@{tag}"
        if request.url:
            version = self.get_target().version
            name = f"openclaw@{version}"
        packaged = {p.stem: p for p in packaged_paths("conformance_cases.baselines")}
        path = packaged.get(name)
        notes = self.results.baseline_notes
        if path is None and request.url:
            notes.append(
                f"baseline: --baseline auto found no packaged baseline for {name}; none applied"
            )
            return None
        if path is None:
            raise pytest.UsageError(
                f"conformance: --baseline auto: no packaged baseline for {name!r} (packaged: "
                + ", ".join(sorted(packaged))
                + ")"
            )
        notes.append(f"baseline: {name} ({len(path.read_text().splitlines())} lines)")
        return path

    # -- the gateways

    def progress(self, message: str) -> None:
        """A line for the person watching, written now: through the terminal reporter with
        output capture suspended, so it is not held back as a test's captured stdout."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or hasattr(self.config, "workerinput"):
            return
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        suspended = capman.global_and_fixture_disabled() if capman else contextlib.nullcontext()
        with suspended:
            reporter.ensure_newline()
            reporter.write_line(f"[conformance] {message}")
            reporter.flush()

    def target_unusable(self, message: str, code: int = EXIT_TARGET_UNUSABLE) -> NoReturn:
        """Stop the run: the target cannot be used (and later calls stop the same way). The
        message may quote the gateway (its log tail, its error): capped like all its words."""
        self.gateways.unusable = Unusable(cap_lines(message), code)
        self._exit_unusable()

    def _exit_unusable(self) -> NoReturn:
        unusable = self.gateways.unusable
        pytest.exit(
            unusable.message if unusable else "conformance target unusable",
            returncode=unusable.code if unusable else EXIT_TARGET_UNUSABLE,
        )

    def get_target(self) -> Target:
        """The target under test, started and prepared on the first call."""
        gateways = self.gateways
        if gateways.unusable:
            self._exit_unusable()
        if gateways.target is None:
            request = self.settings.request
            # What a session killed with SIGKILL left (its record says what): removed first.
            for line in registry.sweep():
                self.progress(line)
            try:
                needs_netns = request.url is None and request.image is None
                if needs_netns or self.settings.differential_profile:
                    try:
                        gateways.netns = Netns.create()
                    except NetnsUnavailable as exc:
                        gateways.netns_error = str(exc)
                gateways.target = make_target(request, netns=gateways.netns, progress=self.progress)
                gateways.target.plan(self.load_matrix().cases, self.selected)
                gateways.target.prepare()
            except TargetUsageError as exc:
                self.target_unusable(f"conformance: {exc}", pytest.ExitCode.USAGE_ERROR)
            except TargetUnavailable as exc:
                self.target_unusable(f"conformance target unavailable: {exc}")
            self.results.report.target_kind = gateways.target.kind
            self.results.report.target_name = gateways.target.name
            self.results.report.target_version = gateways.target.version
            self._start_waiting_cases(gateways.target)
            self._start_cli_runs(gateways.target)
        return gateways.target

    # -- cases that only wait

    def _start_waiting_cases(self, target: Target) -> None:
        """Start, beside the others, the cases that only wait for a gateway timer (a client
        that never sends connect, closed at the handshake timeout) when the target serves
        cases concurrently and no other selected case shares their gateway config: their
        observation is the same, and the run no longer waits for them one after another."""
        if not target.serves_concurrently or not self.selected:
            return
        configs = Counter(case.gateway for case in self.selected)
        waiting = [
            c
            for c in self.selected
            if c.first_frame is FirstFrame.SILENT and configs[c.gateway] == 1
        ]
        if not waiting:
            return
        self._early_pool = ThreadPoolExecutor(len(waiting), thread_name_prefix="conformance-wait")
        version = Version.leading(target.version)
        for case in waiting:
            judged = case.for_version(version)
            self.early[case.id] = self._early_pool.submit(
                lambda c=judged: run_case_sync(c, target.endpoint(c.gateway))
            )

    def _start_cli_runs(self, target: Target) -> None:
        """Run the CLI cases' commands one after another in the background, while the handshake
        cases run (their items come last in their config's group): the commands share their
        gateway's HOME and state, so never two at once, but each costs seconds of a Node start
        the handshake cases need not wait for. Their configs are held, so no gateway is switched
        away under a command."""
        cases = [c for c in self.selected_cli or () if c.id not in self.early_cli]
        if not target.ships_cli or not cases:
            return
        specs = [c.gateway for c in cases]
        for spec in specs:
            target.hold(spec)
        futures: dict[str, Future[tuple[Endpoint, CliRun]]] = {c.id: Future() for c in cases}
        self.early_cli.update(futures)

        def run_all() -> None:
            try:
                for case in cases:
                    future = futures[case.id]
                    if not future.set_running_or_notify_cancel():
                        continue
                    try:
                        future.set_result(run_cli_command(case, target))
                    except BaseException as exc:  # handed to the case's own test
                        future.set_exception(exc)
            finally:
                for spec in specs:
                    target.release(spec)

        self._cli_thread = threading.Thread(target=run_all, name="conformance-cli", daemon=True)
        self._cli_thread.start()

    def early_cli_run(self, case_id: str) -> tuple[Endpoint, CliRun] | None:
        future = self.early_cli.pop(case_id, None)
        return None if future is None else future.result()

    def early_observation(self, case_id: str) -> Observation | None:
        """The observation of a case started early (raising what it raised), or None."""
        future = self.early.pop(case_id, None)
        return None if future is None else future.result()

    def reference_observation(self, case: Case) -> tuple[Observation | None, str]:
        """The differential run: the reference's observation of this case, or why there is none."""
        gateways = self.gateways
        if gateways.reference is None:
            from conformance.targets.reference import ReferenceTarget, profile_for

            profile = self.settings.differential_profile or "current"
            if profile == "auto":
                profile = profile_for(gateways.target.version if gateways.target else None)
            gateways.reference = ReferenceTarget(
                profile, netns=gateways.netns, progress=self.progress
            )
            gateways.reference.plan(self.load_matrix().cases, self.selected)
        try:
            return run_case_sync(case, gateways.reference.endpoint(case.gateway)), ""
        except (CaseNotApplicable, PreconditionError) as exc:
            return None, str(exc)

    def close(self) -> None:
        with _signals_held():
            self._close()

    def _close(self) -> None:
        for future in self.early_cli.values():
            future.cancel()  # the commands not started yet never start
        pool, self._early_pool = self._early_pool, None
        if pool is not None:  # each case is bounded by its own timeouts
            pool.shutdown(wait=True, cancel_futures=True)
        gateways = self.gateways
        targets, netns = (gateways.target, gateways.reference), gateways.netns
        gateways.target = gateways.reference = gateways.netns = None
        for target in targets:
            if target is not None:
                target.close()
        if netns is not None:
            netns.close()
        registry.current().close()
