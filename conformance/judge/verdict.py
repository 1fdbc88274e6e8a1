"""Judging an observation against a case's expectation, and saying why in a short exact diff.

Every way an observation departs from its case is one `Problem`: which observed field, the rule
it broke, the expected and observed values, the line of text the message is made of, and its
`cause`: the same departure worded without the case's own values, so cases that fail for one
reason group together (conformance.reports.groups). The report stores them per case
(`problems`), so its renderings display the verdict instead of judging again.

A problem is a primary or a secondary check (`Check`, cases/README.md "Primary and secondary
checks"): the decision itself (accepted or not, the codes, the close, the scopes) is primary and
fails the case; what a client only reads to explain the decision (the auth method, the message
wording, optional details) is secondary: judged, reported, counted, never failing the case.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from conformance.cases.model import Case, CliCase, Expectation
from conformance.judge.runner import Observation
from conformance.protocol.scopes import implied


class Rule(enum.Enum):
    """What an observed value had to satisfy."""

    EQUAL = "equal"  # equal the expected value
    PRESENT = "present"  # be there at all (expected is what was wanted)
    CONTAINS = "contains"  # a text containing the expected text
    EXCLUDES = "excludes"  # an output not containing the expected text
    CONSISTENT = "consistent"  # agree with another observed value (reported vs enforced)
    ANSWERED = "answered"  # a request (a probe, the handshake itself) got an answer
    FINISHED = "finished"  # the CLI command finished within its timeout


class Check(enum.Enum):
    """Whether a departure fails the case (primary) or is a finding on a passing one."""

    PRIMARY = "primary"
    SECONDARY = "secondary"


# The fields that only explain a decision a client has already read from the primary ones.
# `device_token` is primary (a client reconnects with it) unless a case demotes it.
SECONDARY_FIELDS = frozenset({"auth_method", "error.message"})
DEMOTABLE_FIELDS = frozenset({"device_token"})


def check_of(field: str, demoted: frozenset[str] = frozenset()) -> Check:
    if field in SECONDARY_FIELDS or field.startswith("error.details.") or field in demoted:
        return Check.SECONDARY
    return Check.PRIMARY


@dataclass(frozen=True)
class Problem:
    """One departure from the expectation. `field` names the value in the report's `observed`
    dict it is about (`accepted`, `scopes`, `reported_scopes`, `device_token`, `auth_method`,
    `http_status`, `response`, `error.code`, `error.details_code`, `error.message`,
    `error.details.<key>`, `close_code`, `probes`, `transport_error`; CLI: `exit_code`,
    `output`); `expected`/`observed` are JSON values (scope sets as sorted tuples)."""

    field: str
    rule: Rule
    expected: Any
    observed: Any
    text: str
    cause: str = ""  # the departure without this case's values; defaults to `text`
    check: Check = Check.PRIMARY

    @property
    def signature(self) -> str:
        return self.cause or self.text

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "rule": self.rule.value,
            "expected": _json(self.expected),
            "observed": _json(self.observed),
            "text": self.text,
            "cause": self.signature,
            "check": self.check.value,
        }


def _json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _scopes(scopes: Iterable[str] | None) -> tuple[str, ...] | None:
    return tuple(sorted(scopes)) if scopes is not None else None


@dataclass(frozen=True)
class Verdict:
    passed: bool  # no primary problem
    problems: tuple[Problem, ...]  # what differs, in the order found, primary and secondary
    error: str | None = None  # the harness could not judge (transport trouble)

    @property
    def primary(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.check is Check.PRIMARY)

    @property
    def findings(self) -> tuple[Problem, ...]:
        """The secondary problems: reported on a passing case, never failing it."""
        return tuple(p for p in self.problems if p.check is Check.SECONDARY)

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(p.text for p in self.problems)

    @property
    def headline(self) -> str:
        """The failure's message: the primary problems, then the secondary ones marked so."""
        if self.error:
            return self.error
        if not self.problems:
            return "as expected"
        lines = [p.text for p in self.primary]
        lines += [f"secondary: {p.text}" for p in self.findings]
        return "; ".join(lines)

    def problems_dicts(self) -> list[dict[str, Any]]:
        """The problems as the report stores them."""
        return [p.as_dict() for p in self.problems]


def _fmt(scopes: frozenset[str] | None) -> str:
    return "[" + ", ".join(sorted(scopes)) + "]" if scopes is not None else "(not reported)"


def scope_change(expected: frozenset[str], observed: frozenset[str]) -> str:
    """How observed scopes depart from the expected ones, in a word a group can share."""
    if not observed and expected:
        return "cleared"
    if observed < expected:
        return "narrowed"
    if observed > expected:
        return "widened"
    return "replaced"


def _rejection(out: Any) -> str:
    """A rejection's kind for a cause: its codes, or how the socket ended."""
    if out.http_status is not None:
        return f"HTTP {out.http_status}"
    if out.error is not None:
        return f"{out.error.code}/{out.error.details_code}"
    return f"close {out.close_code} without response"


def scope_diff(expected: frozenset[str], observed: frozenset[str]) -> list[str]:
    lines = [f"  - {s}   (expected, missing)" for s in sorted(expected - observed)]
    lines += [f"  + {s}   (observed, not expected)" for s in sorted(observed - expected)]
    return lines


# How a verdict the gateway's silence made impossible begins (the session's breaker counts them).
UNJUDGED = "could not judge:"


def judge(case: Case, obs: Observation) -> Verdict:
    exp = case.expect
    out = obs.outcome
    if out.transport_error and not (exp.accepted is False and not exp.response):
        error = f"{UNJUDGED} {out.transport_error}"
        problem = Problem(
            "transport_error", Rule.ANSWERED, None, out.transport_error, error, "no answer"
        )
        return Verdict(False, (problem,), error=error)
    unanswered = [p for p in obs.probes.values() if p.allowed is None]
    if out.accepted and unanswered:
        # A probe the gateway never answered says nothing about the scope: the enforced scopes
        # are unknown, so the case is not judged (never "denied", never a failure).
        first = unanswered[0].describe()
        error = (
            f"{UNJUDGED} {len(unanswered)} of {len(obs.probes)} scope probes went "
            f"unanswered (first: {first}); enforced scopes unknown"
        )
        problem = Problem("probes", Rule.ANSWERED, None, first, error, "a probe went unanswered")
        return Verdict(False, (problem,), error=error)
    problems: list[Problem] = []
    if exp.accepted:
        _judge_accepted(exp, obs, problems)
    else:
        _judge_rejected(exp, obs, problems)
    checked = tuple(replace(p, check=check_of(p.field, exp.secondary)) for p in problems)
    return Verdict(all(p.check is Check.SECONDARY for p in checked), checked)


def _judge_accepted(exp: Expectation, obs: Observation, problems: list[Problem]) -> None:
    out = obs.outcome
    if not out.accepted:
        problems.append(
            Problem(
                "accepted",
                Rule.EQUAL,
                True,
                False,
                f"expected accepted, observed {out.summary()}",
                f"rejected ({_rejection(out)}) where acceptance is expected",
            )
        )
        return
    assert exp.scopes is not None
    reported = obs.reported_scopes
    # Protocol 3 reports only a device token's scopes, which may differ from the connection's
    # (GATEWAY_PROTOCOL.md section 6.1), so only protocol 4's report is a statement to check.
    reports_effective = (out.protocol or 0) >= 4
    if reports_effective:
        if reported is None:
            problems.append(
                Problem(
                    "reported_scopes",
                    Rule.PRESENT,
                    _scopes(exp.scopes),
                    None,
                    "hello-ok.auth.scopes missing (protocol 4 always reports them)",
                    "hello-ok.auth.scopes absent",
                )
            )
        elif reported != exp.scopes:
            problems.append(
                Problem(
                    "reported_scopes",
                    Rule.EQUAL,
                    _scopes(exp.scopes),
                    _scopes(reported),
                    f"reported scopes {_fmt(reported)} != expected {_fmt(exp.scopes)}",
                    f"reported scopes {scope_change(exp.scopes, reported)}",
                )
            )
    enforced = obs.enforced_scopes
    if enforced is not None:  # every probe answered (judge() stops at an unanswered one)
        want = implied(exp.scopes)
        if enforced != want:
            problems.append(
                Problem(
                    "scopes",
                    Rule.EQUAL,
                    _scopes(want),
                    _scopes(enforced),
                    f"enforced scopes {_fmt(enforced)} != expected {_fmt(want)}",
                    f"enforced scopes {scope_change(want, enforced)}",
                )
            )
        if reports_effective and reported is not None and implied(reported) != enforced:
            problems.append(
                Problem(
                    "reported_scopes",
                    Rule.CONSISTENT,
                    _scopes(enforced),
                    _scopes(reported),
                    f"gateway reports {_fmt(reported)} but enforces {_fmt(enforced)}",
                    "reported scopes disagree with the enforced ones",
                )
            )
    if exp.device_token is not None and obs.device_token_issued != exp.device_token:
        problems.append(
            Problem(
                "device_token",
                Rule.EQUAL,
                exp.device_token,
                obs.device_token_issued,
                f"device token {'issued' if obs.device_token_issued else 'not issued'}, "
                f"expected {'one' if exp.device_token else 'none'}",
                "device token issued where none is expected"
                if obs.device_token_issued
                else "no device token where one is expected",
            )
        )
    if exp.auth_method is not None and reports_effective and obs.auth_method != exp.auth_method:
        problems.append(
            Problem(
                "auth_method",
                Rule.EQUAL,
                exp.auth_method,
                obs.auth_method,
                f"auth method {obs.auth_method!r} != expected {exp.auth_method!r}",
                "hello-ok.auth.method absent"
                if obs.auth_method is None
                else f"hello-ok.auth.method {obs.auth_method} instead of {exp.auth_method}",
            )
        )


def _judge_rejected(exp: Expectation, obs: Observation, problems: list[Problem]) -> None:
    out = obs.outcome
    if out.accepted:
        granted = obs.enforced_scopes
        text = "expected rejection, observed accepted" + (
            f" with scopes {_fmt(granted)}" if granted is not None else ""
        )
        problems.append(
            Problem(
                "accepted", Rule.EQUAL, False, True, text, "accepted where rejection is expected"
            )
        )
        return
    if exp.http_status is not None:
        if out.http_status != exp.http_status:
            problems.append(
                Problem(
                    "http_status",
                    Rule.EQUAL,
                    exp.http_status,
                    out.http_status,
                    f"expected HTTP {exp.http_status} at the upgrade, observed {out.summary()}",
                    f"{_rejection(out)} where HTTP {exp.http_status} at the upgrade is expected",
                )
            )
        return
    if out.http_status is not None:
        problems.append(
            Problem(
                "http_status",
                Rule.EQUAL,
                None,
                out.http_status,
                f"upgrade refused with HTTP {out.http_status}, expected a WebSocket answer",
                f"upgrade refused with HTTP {out.http_status} where a WebSocket answer is expected",
            )
        )
        return
    if not exp.response:
        if out.response:
            problems.append(
                Problem(
                    "response",
                    Rule.EQUAL,
                    False,
                    True,
                    f"expected no response, observed {out.summary()}",
                    "answered where a close without response is expected",
                )
            )
    else:
        err = out.error
        if err is None:
            problems.append(
                Problem(
                    "error.code",
                    Rule.PRESENT,
                    exp.error,
                    None,
                    f"expected error {exp.error}, observed {out.summary()}",
                    f"no error response where {exp.error} is expected",
                )
            )
        else:
            if err.code != exp.error:
                problems.append(
                    Problem(
                        "error.code",
                        Rule.EQUAL,
                        exp.error,
                        err.code,
                        f"error.code {err.code} != expected {exp.error}",
                        f"error.code {err.code} instead of {exp.error}",
                    )
                )
            if exp.details_code_given and err.details_code != exp.details_code:
                problems.append(
                    Problem(
                        "error.details_code",
                        Rule.EQUAL,
                        exp.details_code,
                        err.details_code,
                        f"error.details.code {err.details_code} != expected {exp.details_code}",
                        f"error.details.code {err.details_code} instead of {exp.details_code}",
                    )
                )
            if exp.message is not None and exp.message not in err.message:
                problems.append(
                    Problem(
                        "error.message",
                        Rule.CONTAINS,
                        exp.message,
                        err.message,
                        f"error.message {err.message!r} lacks {exp.message!r}",
                        f"error.message lacks {exp.message!r}",
                    )
                )
            for key, want in exp.details:
                got = err.details.get(key, "<absent>")
                if got != want:
                    problems.append(
                        Problem(
                            f"error.details.{key}",
                            Rule.EQUAL,
                            want,
                            err.details.get(key),
                            f"error.details.{key} {got!r} != expected {want!r}",
                            f"error.details.{key} absent"
                            if key not in err.details
                            else f"error.details.{key} {got!r} instead of {want!r}",
                        )
                    )
    if exp.close is not None and out.close_code != exp.close:
        problems.append(
            Problem(
                "close_code",
                Rule.EQUAL,
                exp.close,
                out.close_code,
                f"close code {out.close_code} != expected {exp.close}",
                f"close code {out.close_code} instead of {exp.close}",
            )
        )


def judge_cli(case: CliCase, exit_code: int | None, output: str, timeout_s: float) -> Verdict:
    """A CLI case: the release's own command judged by its exit code and output (`output` with
    secrets already masked, as it is reported)."""
    problems: list[Problem] = []
    if exit_code is None:
        shown = " ".join(case.command)
        problems.append(
            Problem(
                "exit_code",
                Rule.FINISHED,
                case.exit_code,
                None,
                f"`openclaw {shown}` did not finish within {timeout_s:g}s",
                f"`openclaw {' '.join(case.command[:2])}` did not finish",
            )
        )
    elif case.exit_code is not None and exit_code != case.exit_code:
        problems.append(
            Problem(
                "exit_code",
                Rule.EQUAL,
                case.exit_code,
                exit_code,
                f"exit code {exit_code} != expected {case.exit_code}",
                f"`openclaw {' '.join(case.command[:2])}` exit code {exit_code}",
            )
        )
    lowered = output.lower()
    for text in case.output_excludes:
        if text.lower() in lowered:
            line = next(ln for ln in output.splitlines() if text.lower() in ln.lower())
            shown_line = line.strip()[:160]
            problems.append(
                Problem(
                    "output",
                    Rule.EXCLUDES,
                    text,
                    shown_line,
                    f"output reports {text!r}: {shown_line}",
                    f"CLI output reports {text!r}",
                )
            )
    return Verdict(not problems, tuple(problems))


def render_failure(case: Case, obs: Observation, verdict: Verdict, log_tail: str = "") -> str:
    """The pytest failure text: what differs first, then the evidence."""
    exp = case.expect
    out = obs.outcome
    lines = [f"{case.id}: {verdict.headline}"]
    if exp.accepted and out.accepted and exp.scopes is not None:
        observed = obs.enforced_scopes
        if observed is None:
            observed = obs.reported_scopes
        if observed is not None:
            want = implied(exp.scopes) if obs.enforced_scopes is not None else exp.scopes
            diff = scope_diff(want, observed)
            if diff:
                lines.append("scopes (expected -> observed):")
                lines += diff
    lines.append(f"expected: {exp.as_dict()}")
    lines.append(f"observed: {out.summary()}")
    if out.error is not None:
        lines.append(
            f"  error: code={out.error.code} details.code={out.error.details_code} "
            f"message={out.error.message!r}"
        )
        if out.error.details:
            lines.append(f"  details: {out.error.details}")
    if out.accepted:
        lines.append(
            f"  reported scopes: {_fmt(obs.reported_scopes)}; device token: "
            f"{'yes' if obs.device_token_issued else 'no'}; method: {obs.auth_method}"
        )
    for probe in obs.probes.values():
        lines.append(f"  probe {probe.describe()}")
    if out.close_code is not None:
        lines.append(f"  close: {out.close_code} {out.close_reason or ''}".rstrip())
    lines.append(f"case: {case.source}; axes: {case.axes}")
    if case.refs:
        lines.append(f"refs: {', '.join(case.refs)}")
    if log_tail:
        lines.append("gateway log (tail):")
        lines += ["  " + ln for ln in log_tail.rstrip().splitlines()]
    return "\n".join(lines)


__all__ = [
    "Check",
    "Problem",
    "Rule",
    "Verdict",
    "judge",
    "judge_cli",
    "render_failure",
    "scope_diff",
]
