"""What a case's expected and observed cells say, as lines (`Fact`) both renderers display.

The observed lines only display: which of them contradicts the expectation is what the verdict
stored in the case's `problems` (conformance.judge.verdict.Problem.as_dict), never judged here
again. A problem no observed line shows (a missing error frame, a `details` key, a failed
probe) gets a line of its own with the verdict's text, so every problem is on the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScopeDiff:
    """Expected vs observed scopes as sets. `want` is what the verdict compared the observation
    with (the expected scopes closed under implication for the probed, enforced set; the literal
    expected set for a reported one); the observation itself where the verdict found no
    difference."""

    expected: frozenset[str]
    observed: frozenset[str]
    want: frozenset[str]

    @property
    def missing(self) -> frozenset[str]:
        return self.want - self.observed

    @property
    def extra(self) -> frozenset[str]:
        return self.observed - self.want


@dataclass(frozen=True)
class Fact:
    """One line of an expected/observed cell. `bad` marks what contradicts the expectation;
    `scopes` turns the line into a scope set, with (scope, kind) kind in ok/missing/extra."""

    text: str
    bad: bool = False
    scopes: tuple[tuple[str, str], ...] | None = None


def problems_of(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The verdict's problems stored with the case (none in a report written before they were
    stored, whose cells then flag nothing)."""
    return [p for p in case.get("problems") or [] if isinstance(p, dict)]


def _problem(case: dict[str, Any], field: str, rule: str) -> dict[str, Any] | None:
    return next(
        (p for p in problems_of(case) if p.get("field") == field and p.get("rule") == rule), None
    )


def is_cli(case: dict[str, Any]) -> bool:
    return "exit_code" in (case.get("expected") or {})


def err_codes(err: dict[str, Any] | None) -> str:
    if not err:
        return ""
    return " / ".join(str(err[k]) for k in ("code", "details_code") if err.get(k))


def set_text(scopes: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(scopes)) + "}"


def scope_diff(case: dict[str, Any]) -> ScopeDiff | None:
    """The scope comparison of an accepted-expected, accepted-observed handshake case, as the
    verdict made it: the enforced set (`scopes`) if probed, else the reported one."""
    exp = case.get("expected") or {}
    obs = case.get("observed") or {}
    if not exp.get("accepted") or not obs.get("accepted") or exp.get("scopes") is None:
        return None
    expected = frozenset(exp["scopes"])
    for field in ("scopes", "reported_scopes"):
        if obs.get(field) is None:
            continue
        observed = frozenset(obs[field])
        problem = _problem(case, field, "equal")
        want = frozenset(problem.get("expected") or ()) if problem else observed
        return ScopeDiff(expected, observed, want)
    return None


def expected_facts(case: dict[str, Any]) -> list[Fact]:
    exp = case.get("expected") or {}
    if is_cli(case):
        facts = [Fact(f"exit {exp.get('exit_code')}")]
        facts += [Fact(f"output excludes {s!r}") for s in exp.get("output_excludes") or []]
        return facts
    if exp.get("accepted"):
        facts = [Fact("accepted")]
        if exp.get("scopes") is not None:
            facts.append(Fact("scopes", scopes=tuple((s, "ok") for s in sorted(exp["scopes"]))))
        if exp.get("device_token") is not None:
            facts.append(Fact(f"device token: {'yes' if exp['device_token'] else 'no'}"))
        if exp.get("auth_method") is not None:
            facts.append(Fact(f"auth method: {exp['auth_method']}"))
        return facts
    facts = [Fact("rejected")]
    if exp.get("http_status") is not None:
        facts.append(Fact(f"HTTP {exp['http_status']} at the upgrade"))
    if exp.get("error"):
        facts.append(Fact(f"error {err_codes(exp['error'])}"))
    if exp.get("message") is not None:
        facts.append(Fact(f"message contains {exp['message']!r}"))
    for key, value in (exp.get("details") or {}).items():
        facts.append(Fact(f"details.{key} = {value!r}"))
    if exp.get("close_code") is not None:
        facts.append(Fact(f"close {exp['close_code']}"))
    return facts


class _Cell:
    """Observed lines under construction: each names the problem fields it shows."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.problems = problems_of(case)
        self.flagged = {p.get("field") for p in self.problems}
        self.shown: set[str] = set()
        self.facts: list[Fact] = []

    def add(self, text: str, *fields: str, scopes: tuple[tuple[str, str], ...] | None = None):
        self.shown.update(fields)
        bad = any(f in self.flagged for f in fields)
        self.facts.append(Fact(text, bad=bad, scopes=scopes))

    def done(self) -> list[Fact]:
        rest = [p for p in self.problems if p.get("field") not in self.shown]
        return self.facts + [Fact(str(p.get("text") or p.get("field")), bad=True) for p in rest]


def observed_facts(case: dict[str, Any]) -> list[Fact]:
    """What was observed, each line marked bad where the verdict's problems say it contradicts
    the expectation."""
    obs = case.get("observed")
    if obs is None:
        return [Fact("not run")]
    cell = _Cell(case)
    if is_cli(case):
        cell.add(f"exit {obs.get('exit_code')}", "exit_code")
        if obs.get("seconds") is not None:
            cell.add(f"{obs['seconds']:.1f} s")
        for p in cell.problems:
            if p.get("field") == "output":
                cell.add(f"output contains {p.get('expected')!r}", "output")
        return cell.done()
    if obs.get("transport_error"):
        cell.add(f"transport error: {obs['transport_error']}", "transport_error")
    accepted = obs.get("accepted")
    cell.add("accepted" if accepted else "rejected", "accepted")
    if accepted:
        _accepted_facts(case, obs, cell)
    else:
        _rejected_facts(case, obs, cell)
    return cell.done()


def _accepted_facts(case: dict[str, Any], obs: dict[str, Any], cell: _Cell) -> None:
    diff = scope_diff(case)
    field = "scopes" if obs.get("scopes") is not None else "reported_scopes"
    if diff is not None:
        items = [(s, "extra" if s in diff.extra else "ok") for s in sorted(diff.observed)]
        items += [(s, "missing") for s in sorted(diff.missing)]
        cell.add("scopes", field, scopes=tuple(items))
    elif obs.get("scopes") is not None:
        cell.add("scopes", "scopes", scopes=tuple((s, "ok") for s in obs["scopes"]))
    reported = obs.get("reported_scopes")
    if reported is not None and sorted(reported) != sorted(obs.get("scopes") or []):
        cell.add("reported " + set_text(reported), "reported_scopes")
    if obs.get("device_token") is not None:
        cell.add(f"device token: {'yes' if obs['device_token'] else 'no'}", "device_token")
    if obs.get("auth_method") is not None:
        cell.add(f"auth method: {obs['auth_method']}", "auth_method")
    if obs.get("protocol") is not None:
        cell.add(f"protocol {obs['protocol']}")


def _rejected_facts(case: dict[str, Any], obs: dict[str, Any], cell: _Cell) -> None:
    exp = case.get("expected") or {}
    if obs.get("http_status") is not None:
        cell.add(f"HTTP {obs['http_status']} at the upgrade", "http_status")
    elif refusal := _problem(case, "http_status", "equal"):
        cell.add(f"no HTTP {refusal.get('expected')}", "http_status")
    err = obs.get("error")
    if err:
        # The error frame is the response: a `response` problem (none was expected) is its.
        cell.add(f"error {err_codes(err)}", "error.code", "error.details_code", "response")
        if err.get("message"):
            cell.add(f"message {err['message']!r}", "error.message")
    elif _problem(case, "error.code", "present"):
        cell.add("no error frame", "error.code")
    if obs.get("close_code") is not None or exp.get("close_code") is not None:
        cell.add(f"close {obs.get('close_code')}", "close_code")


def facts_text(facts: Sequence[Fact]) -> str:
    """Plain text of facts, for `title=` tooltips."""
    parts = []
    for f in facts:
        if f.scopes is None:
            parts.append(f.text)
            continue
        marks = {"ok": "", "extra": "+", "missing": "-"}
        parts.append("scopes {" + ", ".join(marks[k] + s for s, k in f.scopes) + "}")
    return "; ".join(parts)


def short_observed(obs: dict[str, Any] | None) -> str:
    """An observation in a few words: accepted with which scopes, or rejected with which code."""
    if obs is None:
        return ""
    if "exit_code" in obs:
        return f"exit {obs.get('exit_code')}"
    if obs.get("transport_error"):
        return "transport error"
    if obs.get("accepted"):
        scopes = obs.get("scopes")
        if scopes is None:
            scopes = obs.get("reported_scopes")
        # `operator.` prefixes every operator scope: dropping it keeps the line readable.
        short = ",".join(s.removeprefix("operator.") for s in sorted(scopes or []))
        shown = "" if scopes is None else f" {{{short}}}"
        token = ", device token" if obs.get("device_token") else ""
        return f"accepted{shown}{token}"
    if obs.get("http_status") is not None:
        return f"HTTP {obs['http_status']}"
    codes = err_codes(obs.get("error")).replace(" / ", "/")
    return f"rejected{' ' + codes if codes else ''}"
