"""pytest plugin: options, collection of the YAML matrix, per-case execution and reports.

Registered through the `pytest11` entry point, so `pytest --pyargs conformance` works from any
folder once the package is installed. Every option is mirrored as an ini setting of the same
name (dashes as underscores), and the secrets fall back to OPENCLAW_GATEWAY_TOKEN/PASSWORD.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest
from _pytest import junitxml

from conformance.cases.loader import (
    Baseline,
    CaseFileError,
    CliCase,
    load_baseline,
    load_cases,
    load_cli_cases,
    packaged_case_paths,
    packaged_cli_case_paths,
    packaged_paths,
)
from conformance.cases.model import Case, Severity
from conformance.cases.needs import Need
from conformance.judge.compare import differences
from conformance.judge.runner import Observation, PreconditionError, run_case_sync
from conformance.judge.verdict import judge, judge_cli, render_failure
from conformance.reports.data import CaseRecord, RunReport
from conformance.targets.base import (
    CaseNotApplicable,
    Target,
    TargetUnavailable,
    TargetUsageError,
)
from conformance.targets.netns import Netns, NetnsUnavailable
from conformance.targets.spec import TargetRequest, make_target
from conformance.versions import Version

# Exit codes beyond pytest's own (0 passed, 1 case failures, 2 interrupted, 3 internal error,
# 4 usage error, 5 nothing collected); README "Exit codes".
EXIT_TARGET_UNUSABLE = 6
EXIT_NOTHING_RAN = 7

CASE_FIXTURE = "conformance_case"
CLI_FIXTURE = "conformance_cli_case"
CLI_TIMEOUT_S = 90.0
LOG_TAIL_LINES = 20
STASH_KEY = pytest.StashKey["ConformanceSession"]()

# (option, ini name, type, default, help)
_OPTIONS: list[tuple[str, str, str, Any, str]] = [
    (
        "--gateway",
        "gateway",
        "string",
        "reference",
        "gateway under test: reference (default), reference@<profile> (current, 2026.3.13), "
        "openclaw@<version>",
    ),
    (
        "--gateway-url",
        "gateway_url",
        "string",
        None,
        "test a gateway that is already running at ws://host:port",
    ),
    (
        "--gateway-token",
        "gateway_token",
        "string",
        None,
        "shared token of the --gateway-url gateway (env OPENCLAW_GATEWAY_TOKEN)",
    ),
    (
        "--gateway-password",
        "gateway_password",
        "string",
        None,
        "shared password of the --gateway-url gateway (env OPENCLAW_GATEWAY_PASSWORD)",
    ),
    (
        "--gateway-allowed-origin",
        "gateway_allowed_origins",
        "args",
        [],
        "an origin the --gateway-url gateway allows (gateway.controlUi.allowedOrigins); repeatable",
    ),
    (
        "--gateway-allow-pairing",
        "gateway_allow_pairing",
        "bool",
        False,
        "let cases pair devices and create pending requests on the --gateway-url gateway",
    ),
    (
        "--gateway-auth",
        "gateway_auth",
        "string",
        None,
        "auth mode of the --gateway-url gateway (token, password, none, trusted-proxy); "
        "checked against what the gateway says",
    ),
    (
        "--gateway-trusted-proxy",
        "gateway_trusted_proxies",
        "args",
        [],
        "an entry of the --gateway-url gateway's gateway.trustedProxies; repeatable",
    ),
    (
        "--gateway-config",
        "gateway_config",
        "string",
        None,
        "the --gateway-url gateway's openclaw.json, read instead of asking it (config.get)",
    ),
    (
        "--min-cases",
        "min_cases",
        "string",
        None,
        "fail the run (exit 7) when fewer handshake cases than this ran (default 1: a run "
        "that judged nothing never passes)",
    ),
    (
        "--gateway-image",
        "gateway_image",
        "string",
        None,
        "test a gateway container image (e.g. one built by `openclaw-conformance image build`)",
    ),
    (
        "--gateway-cache",
        "gateway_cache",
        "string",
        None,
        "cache folder for npm releases (env OPENCLAW_CONFORMANCE_CACHE)",
    ),
    (
        "--cases",
        "cases",
        "args",
        [],
        "extra case file or folder, added to the packaged matrix; repeatable",
    ),
    (
        "--baseline",
        "baseline",
        "args",
        [],
        "baseline file of known failures (strict xfail), or `auto` for the packaged baseline "
        "of the --gateway target; repeatable",
    ),
    (
        "--differential",
        "differential",
        "string",
        None,
        "also run every case against the reference (profile: current, 2026.3.13, or auto = "
        "the profile nearest the target's version) and report where the observations differ",
    ),
    (
        "--conformance-case",
        "conformance_cases",
        "args",
        [],
        "run only the case with this exact id; repeatable (-k matches substrings)",
    ),
    (
        "--conformance-report",
        "conformance_report",
        "string",
        None,
        "write the JSON report (schema openclaw-conformance/report/v1) to this path",
    ),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("openclaw-conformance", "OpenClaw gateway handshake conformance")
    for flag, ini, kind, default, help_text in _OPTIONS:
        if kind == "bool":
            group.addoption(flag, action="store_true", default=None, dest=ini, help=help_text)
        elif kind == "args":
            group.addoption(
                flag, action="append", default=None, dest=ini, metavar="PATH", help=help_text
            )
        else:
            group.addoption(flag, action="store", default=None, dest=ini, help=help_text)
        parser.addini(ini, help_text, type="bool" if kind == "bool" else kind, default=default)


def _min_cases(value: Any) -> int:
    if value in (None, ""):
        return 1
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise pytest.UsageError(f"conformance: --min-cases {value!r}: expected a whole number >= 0")
    return number


def _opt(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name)
    if value is None or value == []:
        value = config.getini(name)
    return value


class ConformanceSession:
    """Per-process state: the cases, the baseline, the lazily started target, the records."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._check_target_choice(config)
        self.request = TargetRequest(
            gateway=_opt(config, "gateway") or "reference",
            url=_opt(config, "gateway_url") or None,
            token=_opt(config, "gateway_token") or os.environ.get("OPENCLAW_GATEWAY_TOKEN"),
            password=_opt(config, "gateway_password")
            or os.environ.get("OPENCLAW_GATEWAY_PASSWORD"),
            image=_opt(config, "gateway_image") or None,
            allowed_origins=tuple(_opt(config, "gateway_allowed_origins") or ()),
            allow_pairing=bool(_opt(config, "gateway_allow_pairing")),
            cache_dir=_opt(config, "gateway_cache") or None,
            auth=_opt(config, "gateway_auth") or None,
            trusted_proxies=tuple(_opt(config, "gateway_trusted_proxies") or ()) or None,
            config_file=_opt(config, "gateway_config") or None,
        )
        self.min_cases = _min_cases(_opt(config, "min_cases"))
        self.target_error_code = EXIT_TARGET_UNUSABLE
        # Command-line paths are relative to where pytest runs, ini paths to the rootdir.
        self.extra_case_paths = [Path(p) for p in config.getoption("cases") or ()] or [
            Path(str(config.rootpath)) / p for p in config.getini("cases")
        ]
        self._baseline_values = list(_opt(config, "baseline") or ())
        self.baseline_paths: list[Path] = []
        self.baseline_notes: list[str] = []
        self._cases: list[Case] | None = None
        self.cli_cases: list[CliCase] = []
        self.by_id: dict[str, Case | CliCase] = {}
        self.baselines: list[Baseline] = []
        self.target: Target | None = None
        self.target_error: str | None = None
        self.differential_profile: str | None = _opt(config, "differential") or None
        self.reference: Target | None = None
        self.netns: Netns | None = None
        self.netns_error: str | None = None
        report_path = _opt(config, "conformance_report")
        self.report_path = Path(report_path) if report_path else None
        self.report = RunReport(
            target_kind="?",
            target_name=self.request.url or self.request.image or self.request.gateway,
        )
        self.started = time.monotonic()
        # pytest_unconfigure normally stops everything; this also covers an interpreter that
        # exits through a path that skips it.
        atexit.register(self.close)

    @staticmethod
    def _check_target_choice(config: pytest.Config) -> None:
        """One target per run: two target flags are a usage error, never a silent choice."""
        given = [
            flag
            for flag, name in (
                ("--gateway", "gateway"),
                ("--gateway-url", "gateway_url"),
                ("--gateway-image", "gateway_image"),
            )
            if config.getoption(name) or (name != "gateway" and config.getini(name))
        ]
        if len(given) > 1:
            raise pytest.UsageError(
                f"conformance: {' and '.join(given)} both name the gateway under test; "
                "give one of them"
            )

    def _baseline_path(self, value: str) -> Path | None:
        """`auto`: the packaged baseline named after the release under test
        (`openclaw@2026.3.13.yaml`, `reference@2026.3.13.yaml`); for an image, after the
        release its tag names (`...:2026.9.6` -> `openclaw@2026.9.6`); for a URL, after the
        version the gateway reported in the preflight (None, with a note, when none is
        packaged for it: a release with no known departure)."""
        if value != "auto":
            return Path(value)
        name = self.request.gateway
        if self.request.image:
            tag = self.request.image.rsplit(":", 1)[-1] if ":" in self.request.image else ""
            name = f"openclaw@{tag}"
        if self.request.url:
            version = self.get_target().version
            name = f"openclaw@{version}"
        packaged = {p.stem: p for p in packaged_paths("conformance_cases.baselines")}
        path = packaged.get(name)
        if path is None and self.request.url:
            self.baseline_notes.append(
                f"baseline: --baseline auto found no packaged baseline for {name}; none applied"
            )
            return None
        if path is None:
            raise pytest.UsageError(
                f"conformance: --baseline auto: no packaged baseline for {name!r} (packaged: "
                + ", ".join(sorted(packaged))
                + ")"
            )
        self.baseline_notes.append(f"baseline: {name} ({len(path.read_text().splitlines())} lines)")
        return path

    @property
    def cases(self) -> list[Case]:
        """Loaded on first use, so runs that collect no conformance test never read the YAML."""
        if self._cases is None:
            paths = [self._baseline_path(v) for v in self._baseline_values]
            self.baseline_paths = [p for p in paths if p is not None]
            try:
                cases = load_cases([*packaged_case_paths(), *self.extra_case_paths])
                self.cli_cases = load_cli_cases(packaged_cli_case_paths())
                by_id: dict[str, Case | CliCase] = {c.id: c for c in cases}
                by_id.update({c.id: c for c in self.cli_cases})
                self.baselines = [load_baseline(p, by_id) for p in self.baseline_paths]
                info = [
                    e
                    for b in self.baselines
                    for e in b.entries.values()
                    if by_id[e.id].severity is Severity.INFO
                ]
                if info:
                    raise CaseFileError(
                        f"{info[0].source}: {info[0].id!r} is an info case, which "
                        "never fails: a strict-xfail baseline entry would only "
                        "ever report it as stale"
                    )
            except CaseFileError as exc:
                # A clean one-line stop: the message already names file, line and problem.
                pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
            self._cases, self.by_id = cases, by_id
            self.report.matrix_size = len(cases)
            for marker in sorted({m for case in cases for m in case.markers}):
                self.config.addinivalue_line(
                    "markers", f"{marker}: conformance case axis or severity"
                )
        return self._cases

    def known_failure(self, case_id: str):
        for baseline in self.baselines:
            if case_id in baseline.entries:
                return baseline.entries[case_id]
        return None

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

    def _exit_unusable(self) -> NoReturn:
        pytest.exit(
            self.target_error or "conformance target unusable", returncode=self.target_error_code
        )

    def get_target(self) -> Target:
        if self.target_error:
            self._exit_unusable()
        if self.target is None:
            try:
                needs_netns = self.request.url is None and self.request.image is None
                if needs_netns or self.differential_profile:
                    try:
                        self.netns = Netns.create()
                    except NetnsUnavailable as exc:
                        self.netns_error = str(exc)
                self.target = make_target(self.request, netns=self.netns, progress=self.progress)
                self.target.prepare()
            except TargetUsageError as exc:
                self.target_error = f"conformance: {exc}"
                self.target_error_code = pytest.ExitCode.USAGE_ERROR
                self._exit_unusable()
            except TargetUnavailable as exc:
                self.target_error = f"conformance target unavailable: {exc}"
                self._exit_unusable()
            self.report.target_kind = self.target.kind
            self.report.target_name = self.target.name
            self.report.target_version = self.target.version
        return self.target

    def reference_observation(self, case: Case) -> tuple[Observation | None, str]:
        """The differential run: the reference's observation of this case, or why there is none."""
        if self.reference is None:
            from conformance.targets.reference import ReferenceTarget, profile_for

            profile = self.differential_profile or "current"
            if profile == "auto":
                profile = profile_for(self.target.version if self.target else None)
            self.reference = ReferenceTarget(profile, netns=self.netns, progress=self.progress)
        try:
            return run_case_sync(case, self.reference.endpoint(case.gateway)), ""
        except (CaseNotApplicable, PreconditionError) as exc:
            return None, str(exc)

    def close(self) -> None:
        targets, netns = (self.target, self.reference), self.netns
        self.target = self.reference = self.netns = None
        for target in targets:
            if target is not None:
                target.close()
        if netns is not None:
            netns.close()


class CaseMismatch(AssertionError):
    """The gateway did not behave as the case says: a failure (or, baselined, an xfail)."""


def pytest_configure(config: pytest.Config) -> None:
    session = ConformanceSession(config)
    config.stash[STASH_KEY] = session
    config.pluginmanager.register(ConformanceReporter(session), "openclaw-conformance-reporter")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(STASH_KEY, None)
    if session is not None:
        session.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    fixture = next((f for f in (CASE_FIXTURE, CLI_FIXTURE) if f in metafunc.fixturenames), None)
    if fixture is None:
        return
    session: ConformanceSession = metafunc.config.stash[STASH_KEY]
    handshake_cases = session.cases  # loads the CLI cases and baselines too
    cases = handshake_cases if fixture == CASE_FIXTURE else session.cli_cases
    only = set(_opt(metafunc.config, "conformance_cases") or ())
    unknown = only - set(session.by_id)
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
        known = session.known_failure(case.id)
        if known is not None:
            marks.append(
                pytest.mark.xfail(
                    reason=f"baseline: {known.reason}", strict=True, raises=CaseMismatch
                )
            )
        params.append(pytest.param(case, id=case.id, marks=marks))
    metafunc.parametrize(fixture, params)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        case = _case_of(item)
        if case is not None:
            # `-k 49180` or `-k GHSA-rqpp` finds the cases of an upstream reference.
            item.extra_keyword_matches.update(case.refs)


def _case_of(item: pytest.Item) -> Case | CliCase | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    case = callspec.params.get(CASE_FIXTURE) or callspec.params.get(CLI_FIXTURE)
    return case if isinstance(case, Case | CliCase) else None


@pytest.fixture(scope="session")
def conformance_session(pytestconfig: pytest.Config) -> ConformanceSession:
    return pytestconfig.stash[STASH_KEY]


def _record(
    item: pytest.Item,
    observed: dict | None,
    message: str,
    target: Target,
    differential: dict[str, Any] | None = None,
    need: Any = None,
    problems: list[dict[str, Any]] | None = None,
) -> None:
    data: dict[str, Any] = {
        "observed": observed,
        "message": message,
        "problems": problems,
        "need": getattr(need, "value", need),
        # Travels with the report to the xdist controller, which has no target of its own.
        "target": {
            "kind": target.kind,
            "name": target.name,
            "version": target.version,
            "protocol": target.protocol,
        },
    }
    if differential is not None:
        data["differential"] = differential
    item.user_properties.append(("conformance", json.dumps(data)))


def run_conformance_case(case: Case, session: ConformanceSession, item: pytest.Item) -> None:
    """The body of every generated conformance test."""
    target = session.get_target()
    try:
        target.check_case(case)
        _check_version_window(case, target)
        endpoint = target.endpoint(case.gateway)
        obs = run_case_sync(case, endpoint)
    except CaseNotApplicable as exc:
        reason = str(exc)
        if case.connection.via == "remote" and session.netns_error:
            reason = f"{reason}: {session.netns_error}"
        _record(item, None, f"skipped: {reason}", target, need=exc.need or _need_of(reason))
        pytest.skip(reason)
    except TargetUnavailable as exc:
        session.target_error = f"conformance target unavailable: {exc}"
        session._exit_unusable()
    except PreconditionError as exc:
        # Silent local pairing and its device token are themselves contract (section 5, B1), so
        # a gateway that refuses them departs from it: a failure, which a baseline may expect.
        _record(item, None, f"precondition failed: {exc}", target)
        tail = endpoint.log_tail(LOG_TAIL_LINES)
        raise CaseMismatch(
            f"{case.id}: precondition failed: {exc}\ngateway log (tail):\n{tail}"
        ) from None
    if obs.outcome.protocol and target.protocol is None:
        target.protocol = obs.outcome.protocol
    error = obs.outcome.error
    request_id = error.details.get("requestId") if error else None
    target.note(case, obs.device_id, request_id if isinstance(request_id, str) else None)
    differential = None
    if session.differential_profile:
        ref_obs, why = session.reference_observation(case)
        differential = (
            {"reference": None, "differs": [], "note": why}
            if ref_obs is None
            else {"reference": ref_obs.as_dict(), "differs": differences(ref_obs, obs)}
        )
    verdict = judge(case, obs)
    observed = obs.as_dict()
    if verdict.error:
        message = verdict.error
    elif verdict.passed:
        message = ""
    elif case.severity is Severity.INFO:
        # Open upstream questions: recorded for the report, never failing.
        message = f"info: {verdict.headline}"
    else:
        message = verdict.headline
    _record(item, observed, message, target, differential, problems=verdict.problems_dicts())
    if verdict.error:
        raise RuntimeError(render_failure(case, obs, verdict, endpoint.log_tail(LOG_TAIL_LINES)))
    if message and not verdict.passed and case.severity is not Severity.INFO:
        raise CaseMismatch(render_failure(case, obs, verdict, endpoint.log_tail(LOG_TAIL_LINES)))


def run_cli_case(case: CliCase, session: ConformanceSession, item: pytest.Item) -> None:
    """The body of every generated CLI test: the release's own command, judged by its output."""
    target = session.get_target()
    try:
        endpoint = target.endpoint(case.gateway)
        values = {
            "token": endpoint.token or "",
            "password": endpoint.password or "",
            "port": str(endpoint.loopback.port if endpoint.loopback else ""),
        }
        args = [part.format(**values) for part in case.command]
        run = target.run_cli(case.gateway, args, CLI_TIMEOUT_S)
    except CaseNotApplicable as exc:
        _record(item, None, f"skipped: {exc}", target, need=exc.need or Need.CLI)
        pytest.skip(str(exc))
    except TargetUnavailable as exc:
        session.target_error = f"conformance target unavailable: {exc}"
        session._exit_unusable()
    # Secrets never reach reports or logs.
    shown = " ".join(case.command)
    output = run.output
    for secret in (endpoint.token, endpoint.password):
        if secret:
            output = output.replace(secret, "***")
    verdict = judge_cli(case, run.exit_code, output, CLI_TIMEOUT_S)
    problems = verdict.lines
    observed = {
        "exit_code": run.exit_code,
        "seconds": round(run.seconds, 2),
        "output_tail": output.splitlines()[-15:],
    }
    message = "; ".join(problems)
    _record(item, observed, message, target, problems=verdict.problems_dicts())
    if problems:
        tail = "\n".join("  " + ln for ln in output.rstrip().splitlines()[-25:])
        raise CaseMismatch(
            f"{case.id}: {message}\n`openclaw {shown}` output (tail):\n{tail}\n"
            f"refs: {', '.join(case.refs)}"
        )


def _check_version_window(case: Case, target: Target) -> None:
    reported = Version.leading(target.version)
    if reported is None:
        return
    version = reported.release
    since = Version.parse(case.since).release if case.since else None
    until = Version.parse(case.until).release if case.until else None
    if since and version < since:
        raise CaseNotApplicable(
            f"applies since {case.since}; target is {target.version}", need=Need.VERSION
        )
    if until and version >= until:
        raise CaseNotApplicable(
            f"applies until {case.until}; target is {target.version}", need=Need.VERSION
        )


def _need_of(reason: str) -> Need:
    """The coverage category of a skip raised without one (a target's own reasons)."""
    lowered = reason.lower()
    if "remote" in lowered or "namespace" in lowered:
        return Need.REMOTE
    if "handshake timeout" in lowered:
        return Need.HANDSHAKE_TIMEOUT
    if "auth mode none" in lowered or "auth none" in lowered:
        return Need.AUTH_NONE
    return Need.OTHER


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if (
        call.excinfo is not None
        and call.excinfo.errisinstance((CaseMismatch, RuntimeError))
        and _case_of(item) is not None
        and report.failed
    ):
        # The rendered case diff is the whole story; the Python traceback adds nothing.
        report.longrepr = str(call.excinfo.value)


def _case_id_from_nodeid(nodeid: str) -> str | None:
    if "[" not in nodeid or not nodeid.endswith("]"):
        return None
    return nodeid[nodeid.index("[") + 1 : -1]


def _outcome_of(report: pytest.TestReport) -> str | None:
    """The report's outcome vocabulary from one phase report; None for uneventful phases."""
    wasxfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.skipped:
            return "xfailed" if wasxfail else "skipped"
        if report.passed:
            return "xpassed" if wasxfail else "passed"
        return "xpassed" if str(report.longrepr or "").startswith("[XPASS(strict)]") else "failed"
    if report.skipped:
        return "skipped"
    if report.failed:
        return "error"
    return None


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A plain aligned text table: the failing cases at a glance, one line each."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [
        fmt.format(*row) for row in rows
    ]


class ConformanceReporter:
    """Collects case outcomes (on the xdist controller too, from the workers' reports) and
    writes the report and the terminal summary."""

    def __init__(self, state: ConformanceSession) -> None:
        self.state = state
        self.cleanup_lines: list[str] = []
        self.floor_problem: str | None = None

    def _floor_problem(self) -> str | None:
        """Why this run must not pass although nothing failed: it judged (almost) nothing."""
        cov = self.state.report.coverage()
        if cov["selected"] == 0 or cov["ran"] >= max(self.state.min_cases, 1):
            return None
        floor = self.state.min_cases
        if cov["ran"] == 0:
            head = f"no handshake case ran ({cov['selected']} selected, all skipped)"
        else:
            head = f"only {cov['ran']} handshake cases ran, fewer than --min-cases {floor}"
        biggest = next(iter(cov["not_run"].items()), None)
        advice = (
            f"; most need {biggest[0]} ({biggest[1]})" if biggest is not None else ""
        ) + "; see the coverage line above and each skip's reason (pytest -rs)"
        return f"conformance: {head}{advice}"

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if "test_handshake" not in report.nodeid and "test_cli" not in report.nodeid:
            return
        case_id = _case_id_from_nodeid(report.nodeid)
        # The xdist controller collects too, so `cases` is loaded on both sides.
        by_id = self.state.by_id if self.state.cases else {}
        case = by_id.get(case_id) if case_id else None
        outcome = _outcome_of(report)
        if case is None or outcome is None:
            return
        props = dict(report.user_properties)
        data = json.loads(props["conformance"]) if "conformance" in props else {}
        meta = data.get("target")
        if meta:
            run = self.state.report
            run.target_kind, run.target_name = meta["kind"], meta["name"]
            run.target_version = meta["version"]
            run.target_protocol = meta["protocol"] or run.target_protocol
        message = data.get("message") or ""
        if outcome == "failed" and message.startswith("could not judge"):
            # The harness got no verdict (refused, timed out, garbage): an error, not a failure.
            outcome = "error"
        if outcome == "xfailed":
            message = getattr(report, "wasxfail", "") or message
        elif outcome in ("error", "failed") and not message:
            message = str(report.longrepr).splitlines()[0] if report.longrepr else outcome
        self.state.report.records[case.id] = CaseRecord(
            case=case,
            outcome=outcome,
            observed=data.get("observed"),
            message=message,
            duration_s=report.duration,
            differential=data.get("differential"),
            need=data.get("need") if outcome == "skipped" else None,
            problems=data.get("problems"),
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.state.target is not None:
            self.cleanup_lines = self.state.target.finish()
        run = self.state.report
        if not run.records:
            return
        if self.state.request.url:
            run.hint = (
                "use --gateway openclaw@VERSION or --gateway-image to run them all"
                if run.target_version is None
                else f"use --gateway openclaw@{run.target_version} or --gateway-image to run "
                "them all"
            )
        self.floor_problem = self._floor_problem()
        if self.floor_problem and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = EXIT_NOTHING_RAN
        run.duration_s = time.monotonic() - self.state.started
        xml = session.config.stash.get(junitxml.xml_key, None)
        if xml is not None:
            # JUnit consumers see which gateway produced these results.
            xml.add_global_property("conformance_target", run.target_name)
            xml.add_global_property("conformance_target_kind", run.target_kind)
            xml.add_global_property("conformance_target_version", str(run.target_version))
            xml.add_global_property("conformance_target_protocol", str(run.target_protocol))
        if self.state.report_path is not None and not hasattr(session.config, "workerinput"):
            run.write(self.state.report_path)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        run = self.state.report
        if not run.records:
            return
        tr = terminalreporter
        tr.section("openclaw conformance")
        version = f" {run.target_version}" if run.target_version else ""
        protocol = f", protocol {run.target_protocol}" if run.target_protocol else ""
        tr.write_line(f"target: {run.target_name} ({run.target_kind}{version}{protocol})")
        tr.write_line("  ".join(f"{k}={v}" for k, v in run.summary().items()))
        bad = [r for r in run.records.values() if r.outcome in ("failed", "error", "xpassed")]
        if bad:
            for line in _table(
                ("outcome", "case", "severity", "auth/locality/device/client", "what differs"),
                [
                    (
                        rec.outcome.upper(),
                        rec.case.id,
                        rec.case.severity.value,
                        "/".join(list(rec.case.axes.values())[:4]),
                        rec.message.splitlines()[0][:90] if rec.message else "",
                    )
                    for rec in bad
                ],
            ):
                tr.write_line(line)
        diff = run.differential()
        if diff is not None:
            reference = self.state.differential_profile
            tr.write_line(
                f"differential against the reference ({reference}): "
                f"{len(diff['differing'])} of {len(diff['cases'])} cases differ"
            )
            for row in diff["cases"]:
                if row["differs"]:
                    tr.write_line(f"  {row['id']}: {'; '.join(row['differs'])}"[:200])
        tr.write_line(run.coverage_line())
        for line in self.state.baseline_notes:
            tr.write_line(line)
        if self.state.report_path is not None:
            tr.write_line(f"report: {self.state.report_path}")
        if self.state.netns_error:
            tr.write_line(f"remote cases skipped: {self.state.netns_error}")
        for line in self.cleanup_lines:
            tr.write_line(line)
        target = self.state.target
        for line in getattr(target, "notes", ()) if target is not None else ():
            tr.write_line(line)
        if self.floor_problem:
            tr.write_line(self.floor_problem, red=True, bold=True)
