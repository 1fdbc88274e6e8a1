"""The bodies of the generated tests: run one case against the target, record what was
observed for the report, and fail with the rendered difference when the gateway departs from
the case."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import pytest

from conformance.cases.model import Case, CliCase, Severity
from conformance.cases.needs import Need
from conformance.judge.compare import differences
from conformance.judge.runner import PreconditionDeparture, PreconditionError, run_case_sync
from conformance.judge.verdict import (
    UNJUDGED,
    Problem,
    Rule,
    judge,
    judge_cli,
    render_failure,
)
from conformance.plugin.clirun import CLI_TIMEOUT_S, run_cli_command
from conformance.plugin.session import ConformanceSession
from conformance.protocol.text import cap, cap_lines
from conformance.targets.base import (
    CaseNotApplicable,
    Endpoint,
    GatewayStartError,
    Target,
    TargetUnavailable,
)
from conformance.versions import Version

LOG_TAIL_LINES = 20
# The user property that carries a case's record (observed, message, need, target) from the
# test to the reporter, also across xdist; JUnit writes it as a property of the test case.
RECORD_PROPERTY = "conformance"


class CaseMismatch(AssertionError):
    """The gateway did not behave as the case says: a failure (or, baselined, an xfail). The
    only exception that makes a case `failed`; any other is an `error` (README "Outcomes")."""


class CaseError(Exception):
    """The harness could not judge the case: its gateway did not start, a precondition could not
    be set up, an answer never came. An `error`, never a failure of the release; never matches
    a baseline entry (those expect a CaseMismatch)."""


def _record(
    item: pytest.Item,
    observed: dict | None,
    message: str,
    target: Target,
    differential: dict[str, Any] | None = None,
    need: Any = None,
    problems: list[dict[str, Any]] | None = None,
    judged: Case | None = None,
) -> None:
    data: dict[str, Any] = {
        "observed": observed,
        "message": message,
        "problems": problems,
        # The era of the contract the case was judged by, and that era's expectation.
        "era": judged.era.as_dict() if judged is not None and judged.era else None,
        "expected": judged.expected_dict() if judged is not None and judged.era else None,
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
    item.user_properties.append((RECORD_PROPERTY, json.dumps(data)))


def run_conformance_case(case: Case, session: ConformanceSession, item: pytest.Item) -> None:
    """The body of every generated conformance test."""
    target = session.get_target()
    stopped = session.breaker.cause(case.gateway)
    if stopped is not None:
        _record(item, None, f"not run: {stopped}", target)
        raise CaseError(f"{case.id}: not run: {stopped}")
    try:
        target.check_case(case)
        _check_version_window(case, target)
        # Each release is judged by the contract of its time (the case's eras).
        case = case.for_version(Version.leading(target.version))
        endpoint = target.endpoint(case.gateway)
        obs = session.early_observation(case.id) or run_case_sync(case, endpoint)
    except CaseNotApplicable as exc:
        reason = str(exc)
        if case.connection.via == "remote" and session.gateways.netns_error:
            reason = f"{reason}: {session.gateways.netns_error}"
        _record(item, None, f"skipped: {reason}", target, need=exc.need or _need_of(reason))
        pytest.skip(reason)
    except TargetUnavailable as exc:
        session.target_unusable(f"conformance target unavailable: {exc}")
    except GatewayStartError as exc:
        _start_failed(item, case.id, exc, target)
    except PreconditionDeparture as exc:
        # Silent local pairing and its device token are themselves contract (section 5, B1), so
        # a gateway that refuses them departs from it: a failure, which a baseline may expect.
        message = str(exc)
        problem = Problem("precondition", Rule.EQUAL, exc.expected, exc.observed, message)
        _record(item, None, message, target, problems=[problem.as_dict()])
        tail = _gateway_tail(endpoint)
        raise CaseMismatch(
            f"{case.id}: {message}\n{exc.detail}\ngateway log (tail):\n{tail}"
        ) from None
    except PreconditionError as exc:
        message = f"precondition could not be set up: {exc}"
        _record(item, None, message, target)
        tail = _gateway_tail(endpoint)
        raise CaseError(f"{case.id}: {message}\ngateway log (tail):\n{tail}") from None
    if obs.outcome.protocol and target.protocol is None:
        target.protocol = obs.outcome.protocol
    error = obs.outcome.error
    request_id = error.details.get("requestId") if error else None
    target.note(case, obs.device_id, request_id if isinstance(request_id, str) else None)
    for other in obs.other_device_ids:  # paired for `device_token: other-device`
        target.note(case, other, None)
    differential = None
    if session.settings.differential_profile:
        ref_obs, why = session.reference_observation(case)
        differential = (
            {"reference": None, "differs": [], "note": why}
            if ref_obs is None
            else {"reference": ref_obs.as_dict(), "differs": differences(ref_obs, obs)}
        )
    verdict = judge(case, obs)
    if verdict.error and verdict.error.startswith(UNJUDGED):
        tripped = session.breaker.unanswered(case.gateway, case.id, verdict.error)
        if tripped is not None:
            session.progress(f"{tripped}; its other cases are not run")
    else:
        session.breaker.answered(case.gateway)
    observed = obs.as_dict()
    if verdict.error:
        message = verdict.error
    elif verdict.passed:
        # A pass may still carry findings (secondary checks) and notes (a start setting the
        # release ignores): reported, never failing.
        said = [verdict.headline] if verdict.findings else []
        message = "; ".join(said + [f"note: {n}" for n in obs.notes])
    elif case.severity is Severity.INFO:
        # Open upstream questions: recorded for the report, never failing.
        message = f"info: {verdict.headline}"
    else:
        message = verdict.headline
    _record(
        item,
        observed,
        message,
        target,
        differential,
        problems=verdict.problems_dicts(),
        judged=case,
    )
    if verdict.error:
        raise CaseError(render_failure(case, obs, verdict, _gateway_tail(endpoint)))
    if message and not verdict.passed and case.severity is not Severity.INFO:
        raise CaseMismatch(render_failure(case, obs, verdict, _gateway_tail(endpoint)))


def run_cli_case(case: CliCase, session: ConformanceSession, item: pytest.Item) -> None:
    """The body of every generated CLI test: the release's own command, judged by its output."""
    target = session.get_target()
    try:
        if not target.ships_cli:  # before starting a gateway only these cases would use
            raise CaseNotApplicable(f"the {target.kind} target ships no openclaw CLI")
        early = session.early_cli_run(case.id)
        endpoint, run = early if early is not None else run_cli_command(case, target)
    except CaseNotApplicable as exc:
        _record(item, None, f"skipped: {exc}", target, need=exc.need or Need.CLI)
        pytest.skip(str(exc))
    except TargetUnavailable as exc:
        session.target_unusable(f"conformance target unavailable: {exc}")
    except GatewayStartError as exc:
        _start_failed(item, case.id, exc, target)
    # Secrets never reach reports or logs.
    shown = " ".join(case.command)
    output = cap_lines(run.output[-200_000:])  # the command's words are the gateway's too
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


def _gateway_tail(endpoint: Endpoint) -> str:
    """The gateway's log tail for a failure, whatever target runs it: its lines are the
    gateway's words, capped as every string from it is."""
    return cap_lines(endpoint.log_tail(LOG_TAIL_LINES))


def _start_failed(
    item: pytest.Item, case_id: str, exc: GatewayStartError, target: Target
) -> NoReturn:
    """Every case of a config whose gateway did not start: an error with the start's reason
    (the gateway's own words), the same for each of them, never a failure of the release."""
    message = f"gateway did not start: {cap(exc.reason)}"
    _record(item, None, message, target)
    raise CaseError(f"{case_id}: {message}\n{cap_lines(str(exc))}") from None


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
