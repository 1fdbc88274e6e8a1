"""How a report is laid out, the same in Markdown and HTML: the outcome vocabulary and its
order, grouping, reference links, and the short texts (durations, target line, coverage)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

# Failures first: what a maintainer has to act on, then what is known-broken, then the rest.
OUTCOME_ORDER = ("failed", "error", "xpassed", "xfailed", "skipped", "passed")
OUTCOME_LABEL = {
    "passed": "pass",
    "failed": "FAIL",
    "xfailed": "xfail",
    "xpassed": "XPASS",
    "skipped": "skip",
    "error": "error",
}
OUTCOME_HEADING = {
    "failed": "Failed",
    "error": "Errors",
    "xpassed": "Unexpectedly passed (XPASS)",
    "xfailed": "Expected failures (xfail)",
    "skipped": "Skipped",
    "passed": "Passed",
}
SUMMARY_KEYS = ("passed", "failed", "xfailed", "xpassed", "skipped", "errors")
AXES = ("auth", "locality", "device", "client", "role")

_GH_ISSUE = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(\d+)$")
_GHSA = re.compile(r"^GHSA(-[0-9a-z]{4}){3}$", re.IGNORECASE)
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$", re.IGNORECASE)


def ref_url(ref: str) -> str | None:
    """The upstream page of a case reference, or None for a plain-text one (an internal scenario
    id like `S16`, or anything not recognised: never turned into a link, so a case file cannot
    smuggle a `javascript:` URL into the page)."""
    ref = ref.strip()
    if m := _GH_ISSUE.match(ref):
        # GitHub redirects /issues/N to /pull/N for pull requests, so one form serves both.
        return f"https://github.com/{m.group(1)}/issues/{m.group(2)}"
    if _GHSA.match(ref):
        return f"https://github.com/advisories/{ref}"
    if _CVE.match(ref):
        return f"https://nvd.nist.gov/vuln/detail/{ref.upper()}"
    return None


def outcome_key(case: dict[str, Any]) -> str:
    return str(case.get("outcome") or "?")


def outcome_label(outcome: str) -> str:
    return OUTCOME_LABEL.get(outcome, outcome)


def outcome_rank(outcome: str | None) -> int:
    """Sort key putting failures first; an unknown outcome counts as a problem (before xfail)."""
    try:
        return OUTCOME_ORDER.index(outcome or "")
    except ValueError:
        return OUTCOME_ORDER.index("xfailed")


def order_cases(cases: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failures first, then grouped by auth x locality (then device, client, id) within each
    outcome, so the same gateway behaviour sits together."""
    return sorted(
        cases,
        key=lambda c: (
            outcome_rank(c.get("outcome")),
            *(str((c.get("axes") or {}).get(a, "")) for a in AXES),
            str(c.get("id", "")),
        ),
    )


def outcome_groups(
    cases: Iterable[dict[str, Any]],
) -> list[tuple[str, list[tuple[tuple[str, str], list[dict[str, Any]]]]]]:
    """The run report's sections: (outcome, [((auth, locality), cases)]), failures first."""
    ordered = order_cases(cases)
    groups: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for c in ordered:
        axes = c.get("axes") or {}
        key = (str(axes.get("auth", "?")), str(axes.get("locality", "?")))
        groups.setdefault(outcome_key(c), {}).setdefault(key, []).append(c)
    return [(outcome, list(subs.items())) for outcome, subs in groups.items()]


def fmt_duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def summary(report_or_target: dict[str, Any], cases: Sequence[dict[str, Any]] = ()) -> dict:
    """The outcome counts: the document's own `summary`, else counted from `cases`."""
    given = report_or_target.get("summary")
    if isinstance(given, dict):
        return {k: int(given.get(k, 0) or 0) for k in SUMMARY_KEYS}
    counts = dict.fromkeys(SUMMARY_KEYS, 0)
    for c in cases:
        key = "errors" if c.get("outcome") == "error" else c.get("outcome")
        if key in counts:
            counts[key] += 1
    return counts


def target_line(target: dict[str, Any]) -> str:
    bits = [f"kind {target.get('kind') or '?'}"]
    if target.get("version"):
        bits.append(f"version {target['version']}")
    if target.get("protocol") is not None:
        bits.append(f"protocol {target['protocol']}")
    return ", ".join(bits)


def coverage_text(cov: dict[str, Any]) -> str:
    """The report's coverage object as one sentence (the terminal's coverage line)."""
    text = f"Coverage: {cov.get('ran', 0)} of {cov.get('matrix', 0)} handshake cases ran"
    if cov.get("selected") != cov.get("matrix"):
        text += f" ({cov.get('selected', 0)} selected)"
    not_run = cov.get("not_run") or {}
    if not_run:
        text += "; not run: " + ", ".join(f"{n} need {need}" for need, n in not_run.items())
        if cov.get("hint"):
            text += f": {cov['hint']}"
    return text + "."
