"""The run's reporting: case outcomes gathered from the test reports (on the xdist controller
too, from the workers' reports), the JSON/Markdown/HTML report, the JUnit suite properties, the
floor on how many cases must run, and the terminal summary with its coverage line."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from conformance.plugin.execution import RECORD_PROPERTY
from conformance.plugin.exitcodes import EXIT_NOT_JUDGED, EXIT_NOTHING_RAN
from conformance.plugin.session import ConformanceSession
from conformance.reports.data import CaseRecord, RunReport
from conformance.reports.groups import group_from_dict

# pytest reports a strict xfail whose test passed as a plain failure (no `wasxfail`). The
# makereport hook, which still sees that the test raised nothing, marks such a report with this
# attribute; a TestReport keeps extra attributes and xdist carries them to the controller.
STRICT_XPASS = "conformance_strict_xpass"
# A call that raised anything but a CaseMismatch (a CaseError, or a bug of the harness's): the
# harness could not judge, so the case is an `error`. Marked by the makereport hook, which sees
# the exception; carried like STRICT_XPASS.
HARNESS_ERROR = "conformance_harness_error"


def mark_strict_xpass(report: pytest.TestReport) -> None:
    setattr(report, STRICT_XPASS, True)


def mark_harness_error(report: pytest.TestReport) -> None:
    setattr(report, HARNESS_ERROR, True)


def is_harness_error(report: pytest.TestReport) -> bool:
    return bool(getattr(report, HARNESS_ERROR, False))


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
        if getattr(report, STRICT_XPASS, False):
            return "xpassed"
        return "error" if is_harness_error(report) else "failed"
    if report.skipped:
        return "skipped"
    if report.failed:
        return "error"
    return None


def _only_errors(run: RunReport, tests_failed: int) -> bool:
    """Whether every failed pytest test of the run is a conformance case the harness could not
    judge (none departed, no baseline went stale, nothing else failed)."""
    outcomes = [rec.outcome for rec in run.records.values()]
    errors = outcomes.count("error")
    departed = outcomes.count("failed") + outcomes.count("xpassed")
    return errors > 0 and departed == 0 and tests_failed == errors


def suite_properties(run: RunReport) -> list[tuple[str, str]]:
    """What JUnit consumers see of the gateway that produced the results."""
    return [
        ("conformance_target", run.target_name),
        ("conformance_target_kind", run.target_kind),
        ("conformance_target_version", str(run.target_version)),
        ("conformance_target_protocol", str(run.target_protocol)),
    ]


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A plain aligned text table: the failing cases at a glance, one line each."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [
        fmt.format(*row) for row in rows
    ]


GROUP_CASES_SHOWN = 4


def _group_line(group: dict[str, Any]) -> str:
    g = group_from_dict(group)
    shown = ", ".join(g.cases[:GROUP_CASES_SHOWN])
    more = f" (+{g.count - GROUP_CASES_SHOWN} more)" if g.count > GROUP_CASES_SHOWN else ""
    known = f" [{g.known} baselined]" if g.known else ""
    refs = f"; refs {', '.join(g.refs[:4])}" if g.refs else ""
    return f"  {g.label}{known}: {shown}{more}{refs}"


def grouped_lines(report: dict[str, Any]) -> list[str]:
    """The run by cause: failure groups, errors, findings and security flags, largest first."""
    lines: list[str] = []
    sections = (
        ("groups", "failures by cause"),
        ("errors", "errors (the harness could not judge)"),
        ("findings", "findings of secondary checks (never failing a case)"),
    )
    for key, heading in sections:
        groups = report.get(key) or []
        if groups:
            lines.append(f"{heading}: {len(groups)}")
            lines += [_group_line(g) for g in groups]
    for flag in report.get("security") or []:
        n = len(flag["cases"])
        lines.append(
            f"SECURITY-RELEVANT CHANGE ({n} case{'s' if n != 1 else ''}): {flag['security']}"
            f" ({', '.join(flag['cases'][:GROUP_CASES_SHOWN])}"
            f"{f' +{n - GROUP_CASES_SHOWN} more' if n > GROUP_CASES_SHOWN else ''})"
        )
    return lines


class ConformanceReporter:
    """Collects case outcomes and writes the report and the terminal summary (a plugin object,
    registered at configure time)."""

    def __init__(self, session: ConformanceSession) -> None:
        self.session = session
        self.cleanup_lines: list[str] = []
        self.floor_problem: str | None = None

    def _floor_problem(self) -> str | None:
        """Why this run must not pass although nothing failed: it judged (almost) nothing."""
        cov = self.session.results.report.coverage()
        floor = self.session.settings.min_cases
        if cov["selected"] == 0 or cov["ran"] >= max(floor, 1):
            return None
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
        # On the xdist controller, which collects nothing, the first report loads the matrix.
        by_id = self.session.load_matrix().by_id
        case = by_id.get(case_id) if case_id else None
        outcome = _outcome_of(report)
        if case is None or outcome is None:
            return
        props = dict(report.user_properties)
        data: dict[str, Any] = (
            json.loads(props[RECORD_PROPERTY]) if RECORD_PROPERTY in props else {}
        )
        run = self.session.results.report
        meta = data.get("target")
        if meta:
            run.target_kind, run.target_name = meta["kind"], meta["name"]
            run.target_version = meta["version"]
            run.target_protocol = meta["protocol"] or run.target_protocol
        message = data.get("message") or ""
        if outcome == "xfailed":
            message = getattr(report, "wasxfail", "") or message
        elif outcome in ("error", "failed") and not message:
            message = str(report.longrepr).splitlines()[0] if report.longrepr else outcome
        run.records[case.id] = CaseRecord(
            case=case,
            outcome=outcome,
            observed=data.get("observed"),
            message=message,
            duration_s=report.duration,
            differential=data.get("differential"),
            need=data.get("need") if outcome == "skipped" else None,
            problems=data.get("problems"),
            era=data.get("era"),
            expected=data.get("expected"),
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # tryfirst: before junitxml writes its file and the terminal summary is shown.
        results = self.session.results
        target = self.session.gateways.target
        if target is not None:
            self.cleanup_lines = target.finish()
        run = results.report
        if not run.records:
            return
        if self.session.settings.request.url:
            run.hint = (
                "use --gateway openclaw@VERSION or --gateway-image to run them all"
                if run.target_version is None
                else f"use --gateway openclaw@{run.target_version} or --gateway-image to run "
                "them all"
            )
        self.floor_problem = self._floor_problem()
        if self.floor_problem and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = EXIT_NOTHING_RAN
        if session.exitstatus == pytest.ExitCode.TESTS_FAILED and _only_errors(
            run, session.testsfailed
        ):
            # Nothing departed, but not everything could be judged: not a pass, and not a
            # failure of the release either.
            session.exitstatus = EXIT_NOT_JUDGED
        run.duration_s = time.monotonic() - results.started
        if results.record_suite_property is not None:
            for name, value in suite_properties(run):
                results.record_suite_property(name, value)
        report_path = self.session.settings.report_path
        if report_path is not None and not hasattr(session.config, "workerinput"):
            run.write(report_path)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        run = self.session.results.report
        if not run.records:
            return
        tr = terminalreporter
        tr.section("openclaw conformance")
        version = f" {run.target_version}" if run.target_version else ""
        protocol = f", protocol {run.target_protocol}" if run.target_protocol else ""
        tr.write_line(f"target: {run.target_name} ({run.target_kind}{version}{protocol})")
        tr.write_line("  ".join(f"{k}={v}" for k, v in run.summary().items()))
        for line in grouped_lines(run.as_dict()):
            flagged = line.startswith("SECURITY")
            tr.write_line(line, red=flagged, bold=flagged)
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
            reference = self.session.settings.differential_profile
            tr.write_line(
                f"differential against the reference ({reference}): "
                f"{len(diff['differing'])} of {len(diff['cases'])} cases differ"
            )
            for row in diff["cases"]:
                if row["differs"]:
                    tr.write_line(f"  {row['id']}: {'; '.join(row['differs'])}"[:200])
        tr.write_line(run.coverage_line())
        for line in self.session.breaker.summary():
            tr.write_line(f"STOPPED: {line}", red=True, bold=True)
        for line in self.session.results.baseline_notes:
            tr.write_line(line)
        report_path = self.session.settings.report_path
        if report_path is not None:
            tr.write_line(f"report: {report_path}")
        gateways = self.session.gateways
        if gateways.netns_error:
            tr.write_line(f"remote cases skipped: {gateways.netns_error}")
        for line in self.cleanup_lines:
            tr.write_line(line)
        target = gateways.target
        for line in getattr(target, "notes", ()) if target is not None else ():
            tr.write_line(line)
        # What the harness noticed on cases whatever their outcome (a start setting the release
        # ignores), from the records, so xdist runs show it too.
        for rec in run.records.values():
            for note in (rec.observed or {}).get("notes", ()):
                tr.write_line(f"note: {rec.case.id}: {note}", yellow=True)
        if self.floor_problem:
            tr.write_line(self.floor_problem, red=True, bold=True)
