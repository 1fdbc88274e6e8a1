"""pytest plugin: the hooks and fixtures that turn the YAML matrix into tests.

Registered through the `pytest11` entry point, so `pytest --pyargs conformance` works from any
folder once the package is installed. The options are in options.py, the run's state in
session.py, the test bodies in execution.py, the report and terminal summary in reporter.py.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Generator

import pytest

from conformance.cases.model import Case, CliCase
from conformance.plugin.execution import CaseError, CaseMismatch
from conformance.plugin.options import add_options
from conformance.plugin.reporter import (
    ConformanceReporter,
    is_harness_error,
    mark_harness_error,
    mark_strict_xpass,
)
from conformance.plugin.session import ConformanceSession
from conformance.targets.schedule import grouped

CASE_FIXTURE = "conformance_case"
CLI_FIXTURE = "conformance_cli_case"
SESSION_KEY = pytest.StashKey[ConformanceSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM (a CI runner cancelling the job, `kill`) ends the run as Ctrl-C does: through
    # pytest's own interruption, so every gateway, namespace and folder is removed.
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def pytest_configure(config: pytest.Config) -> None:
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _terminate)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            # Python's own handler lets asyncio.run turn Ctrl-C into a task cancellation, which
            # a case's connection code could swallow (the run went on starting gateways); this
            # one raises KeyboardInterrupt where the main thread is, as pytest expects.
            signal.signal(signal.SIGINT, _terminate)
    session = ConformanceSession(config)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(ConformanceReporter(session), "openclaw-conformance-reporter")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    fixture = next((f for f in (CASE_FIXTURE, CLI_FIXTURE) if f in metafunc.fixturenames), None)
    if fixture is None:
        return
    session = metafunc.config.stash[SESSION_KEY]
    matrix = session.load_matrix()
    cases = matrix.cases if fixture == CASE_FIXTURE else matrix.cli_cases
    only = session.settings.only_cases
    unknown = only - set(matrix.by_id)
    if unknown:
        pytest.exit(
            f"conformance: no case has the id {sorted(unknown)[0]!r}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    params = []
    for case in cases:
        if only and case.id not in only:
            continue
        marks = [getattr(pytest.mark, m) for m in getattr(case, "markers", ())]
        known = matrix.known_failure(case.id)
        if known is not None:
            marks.append(
                pytest.mark.xfail(
                    reason=f"baseline: {known.reason}", strict=True, raises=CaseMismatch
                )
            )
        params.append(pytest.param(case, id=case.id, marks=marks))
    metafunc.parametrize(fixture, params)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    spec_of = {}
    late = set()
    for index, item in enumerate(items):
        case = _case_of(item)
        if case is not None:
            # `-k 49180` or `-k GHSA-rqpp` finds the cases of an upstream reference.
            item.extra_keyword_matches.update(case.refs)
            spec_of[index] = case.gateway
            if isinstance(case, CliCase):
                late.add(index)
    # Grouped by gateway config: a target that starts gateways then starts (or switches) each
    # config once, and a running gateway can be switched to the next config. The CLI cases come
    # last in their group: their commands run in the background meanwhile (session.py).
    items[:] = grouped(items, spec_of, late)


def pytest_collection_finish(session: pytest.Session) -> None:
    conformance = session.config.stash.get(SESSION_KEY, None)
    if conformance is not None:
        # After -k/-m deselection: what this process will run, so a target can start the
        # gateways of exactly these cases ahead of the first one.
        conformance.selected = tuple(
            case for item in session.items if isinstance(case := _case_of(item), Case)
        )
        conformance.selected_cli = tuple(
            case for item in session.items if isinstance(case := _case_of(item), CliCase)
        )


def _case_of(item: pytest.Item) -> Case | CliCase | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    case = callspec.params.get(CASE_FIXTURE) or callspec.params.get(CLI_FIXTURE)
    return case if isinstance(case, Case | CliCase) else None


@pytest.fixture(scope="session")
def conformance_session(
    pytestconfig: pytest.Config, record_testsuite_property: Callable[[str, object], None]
) -> ConformanceSession:
    session = pytestconfig.stash[SESSION_KEY]
    # The reporter records the target as JUnit suite properties when the session finishes.
    session.results.record_suite_property = record_testsuite_property
    return session


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # A wrapper registered after pytest's own (xfail) one runs around it, so the report below
    # already has its final outcome.
    report = yield
    if _case_of(item) is None:
        return report
    if report.when == "call" and call.excinfo is None and report.failed:
        # Only a strict xfail turns a test that raised nothing into a failure.
        mark_strict_xpass(report)
        return report
    if report.when == "call" and call.excinfo is not None and report.failed:
        if not call.excinfo.errisinstance(CaseMismatch):
            # Only a CaseMismatch says the release departs; anything else is the harness's.
            mark_harness_error(report)
        if call.excinfo.errisinstance((CaseMismatch, CaseError)):
            # The rendered case diff is the whole story; the Python traceback adds nothing.
            report.longrepr = str(call.excinfo.value)
    return report


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    # pytest's own counts, letters and short summary show a case the harness could not judge
    # as an error, as the conformance summary does, not as a failure.
    if report.when == "call" and report.failed and is_harness_error(report):
        return "error", "E", "ERROR"
    return None
