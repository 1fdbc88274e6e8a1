"""Judging an observation against a case's expectation, and saying why in a short exact diff."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.cases.model import Case, Expectation
from conformance.judge.runner import Observation
from conformance.protocol.scopes import PROBED, implied


@dataclass(frozen=True)
class Verdict:
    passed: bool
    problems: tuple[str, ...]  # one line each: what differs
    error: str | None = None  # the harness could not judge (transport trouble)

    @property
    def headline(self) -> str:
        if self.error:
            return self.error
        return "; ".join(self.problems) if self.problems else "as expected"


def _fmt(scopes: frozenset[str] | None) -> str:
    return "[" + ", ".join(sorted(scopes)) + "]" if scopes is not None else "(not reported)"


def scope_diff(expected: frozenset[str], observed: frozenset[str]) -> list[str]:
    lines = [f"  - {s}   (expected, missing)" for s in sorted(expected - observed)]
    lines += [f"  + {s}   (observed, not expected)" for s in sorted(observed - expected)]
    return lines


def judge(case: Case, obs: Observation) -> Verdict:
    exp = case.expect
    out = obs.outcome
    if out.transport_error and not (exp.accepted is False and not exp.response):
        return Verdict(False, (), error=f"could not judge: {out.transport_error}")
    problems: list[str] = []
    if exp.accepted:
        _judge_accepted(exp, obs, problems)
    else:
        _judge_rejected(exp, obs, problems)
    return Verdict(not problems, tuple(problems))


def _judge_accepted(exp: Expectation, obs: Observation, problems: list[str]) -> None:
    out = obs.outcome
    if not out.accepted:
        problems.append(f"expected accepted, observed {out.summary()}")
        return
    assert exp.scopes is not None
    reported = obs.reported_scopes
    # Protocol 3 reports only a device token's scopes, which may differ from the connection's
    # (GATEWAY_PROTOCOL.md section 6.1), so only protocol 4's report is a statement to check.
    reports_effective = (out.protocol or 0) >= 4
    if reports_effective:
        if reported is None:
            problems.append("hello-ok.auth.scopes missing (protocol 4 always reports them)")
        elif reported != exp.scopes:
            problems.append(f"reported scopes {_fmt(reported)} != expected {_fmt(exp.scopes)}")
    enforced = obs.enforced_scopes
    if enforced is not None:
        unknown = [p for p in obs.probes.values() if p.allowed is None]
        if unknown:
            problems.append("probe failed: " + unknown[0].describe())
        want = implied(exp.scopes)
        if enforced != want:
            problems.append(f"enforced scopes {_fmt(enforced)} != expected {_fmt(want)}")
        if reports_effective and reported is not None and implied(reported) != enforced:
            problems.append(f"gateway reports {_fmt(reported)} but enforces {_fmt(enforced)}")
    if exp.device_token is not None and obs.device_token_issued != exp.device_token:
        problems.append(
            f"device token {'issued' if obs.device_token_issued else 'not issued'}, expected "
            f"{'one' if exp.device_token else 'none'}"
        )
    if exp.auth_method is not None and reports_effective and obs.auth_method != exp.auth_method:
        problems.append(f"auth method {obs.auth_method!r} != expected {exp.auth_method!r}")


def _judge_rejected(exp: Expectation, obs: Observation, problems: list[str]) -> None:
    out = obs.outcome
    if out.accepted:
        granted = obs.enforced_scopes
        problems.append(
            "expected rejection, observed accepted"
            + (f" with scopes {_fmt(granted)}" if granted is not None else "")
        )
        return
    if exp.http_status is not None:
        if out.http_status != exp.http_status:
            problems.append(
                f"expected HTTP {exp.http_status} at the upgrade, observed {out.summary()}"
            )
        return
    if out.http_status is not None:
        problems.append(f"upgrade refused with HTTP {out.http_status}, expected a WebSocket answer")
        return
    if not exp.response:
        if out.response:
            problems.append(f"expected no response, observed {out.summary()}")
    else:
        err = out.error
        if err is None:
            problems.append(f"expected error {exp.error}, observed {out.summary()}")
        else:
            if err.code != exp.error:
                problems.append(f"error.code {err.code} != expected {exp.error}")
            if exp.details_code_given and err.details_code != exp.details_code:
                problems.append(
                    f"error.details.code {err.details_code} != expected {exp.details_code}"
                )
            if exp.message is not None and exp.message not in err.message:
                problems.append(f"error.message {err.message!r} lacks {exp.message!r}")
            for key, want in exp.details:
                got = err.details.get(key, "<absent>")
                if got != want:
                    problems.append(f"error.details.{key} {got!r} != expected {want!r}")
    if exp.close is not None and out.close_code != exp.close:
        problems.append(f"close code {out.close_code} != expected {exp.close}")


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


__all__ = ["PROBED", "Verdict", "judge", "render_failure", "scope_diff"]
