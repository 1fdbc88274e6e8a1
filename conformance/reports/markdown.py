"""The Markdown renderings of the run report and of the matrix: GitHub-flavoured tables, every
value that came from a gateway or a case file escaped so it stays inert text in its cell.

Built in Python, not a template: Markdown needs its own escaping (md_text, md_code), which an
HTML-autoescaping template would get wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from conformance.reports.facts import Fact, expected_facts, observed_facts, short_observed
from conformance.reports.groups import SECTIONS, group_from_dict, grouped
from conformance.reports.history import KIND_LABEL, quiet_row
from conformance.reports.layout import (
    OUTCOME_HEADING,
    OUTCOME_LABEL,
    OUTCOME_ORDER,
    SUMMARY_KEYS,
    coverage_text,
    fmt_duration,
    outcome_groups,
    outcome_key,
    ref_url,
    summary,
    target_line,
)
from conformance.reports.matrix import matrix_order

# One symbol per matrix cell in Markdown; chosen to stay one column wide in a monospace view.
MD_SYMBOL = {
    "passed": "✓",
    "failed": "✗",
    "xfailed": "x",
    "xpassed": "!",
    "skipped": "\u2013",  # en dash
    "error": "E",
    None: "·",
}

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md_text(value: Any) -> str:
    """Arbitrary text as inert Markdown inside a table cell: every character Markdown or GFM
    could interpret (emphasis, links, HTML, the cell separator) is backslash-escaped and line
    breaks are folded, so gateway text cannot change the table shape."""
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(value: Any) -> str:
    """A code span; GFM needs `\\|` even inside code spans within a table."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_ref(ref: str) -> str:
    url = ref_url(ref)
    return f"[{md_text(ref)}]({url})" if url else md_text(ref)


def _md_facts(facts: Sequence[Fact]) -> str:
    parts = []
    for f in facts:
        if f.scopes is not None:
            marks = {"ok": "{}", "extra": "**+{}**", "missing": "**\u2212{}**"}
            inner = ", ".join(marks[k].format(md_text(s)) for s, k in f.scopes)
            parts.append("{" + inner + "}" if inner else "{} (none)")
        else:
            parts.append(f"**{md_text(f.text)}** ⚠" if f.bad else md_text(f.text))
    return "<br>".join(parts)


def _md_summary_table(rows: Sequence[tuple[str, dict[str, Any], dict[str, int], Any]]) -> list:
    lines = [
        "| target | kind | version | protocol | passed | failed | xfailed | xpassed | skipped "
        "| errors | duration |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, target, counts, duration in rows:
        cells = [
            md_code(name),
            md_text(target.get("kind") or ""),
            md_text(target.get("version") or ""),
            md_text("" if target.get("protocol") is None else target["protocol"]),
            *(str(counts[k]) for k in SUMMARY_KEYS),
            fmt_duration(duration),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _md_grouped(report: dict[str, Any]) -> list[str]:
    """Security flags, then failures, errors and findings by cause, largest group first."""
    view = grouped(report)
    out: list[str] = []
    for flag in view["security"]:
        out += [
            f"> **Security-relevant change** ({len(flag['cases'])} cases): "
            f"{md_text(flag['security'])} "
            f"Cases: {', '.join(md_code(c) for c in flag['cases'])}. "
            f"Refs: {', '.join(md_ref(r) for r in flag['refs'])}.",
            "",
        ]
    for key, heading in SECTIONS:
        groups = [group_from_dict(g) for g in view[key]]
        if not groups:
            continue
        out += [
            f"## {heading} ({_n(len(groups), 'group')}, "
            f"{_n(sum(g.count for g in groups), 'case')})",
            "",
            "| cases | cause | shared by all | case ids | refs |",
            "|--:|---|---|---|---|",
        ]
        for g in groups:
            where = ", ".join(f"{a} {md_text(v)}" for a, v in g.where.items())
            known = f" ({g.known} baselined)" if g.known else ""
            out.append(
                f"| {g.count}{known} | {md_text(g.signature)} | {where} | "
                f"{', '.join(md_code(c) for c in g.cases)} | "
                f"{', '.join(md_ref(r) for r in g.refs)} |"
            )
        out.append("")
    return out


def run_markdown(report: dict[str, Any]) -> str:
    """One run: summary, then one section per outcome (failures first) and within it one table
    per auth x locality."""
    target = report.get("target") or {}
    cases = list(report.get("cases") or [])
    counts = summary(report, cases)
    name = target.get("name") or "?"
    out = [
        f"# OpenClaw conformance: {md_text(name)}",
        "",
        f"{md_text(target_line(target))}; {len(cases)} cases in "
        f"{fmt_duration(report.get('duration_s'))}. Schema {md_code(report.get('schema', '?'))}.",
        "",
        *_md_summary_table([(name, target, counts, report.get("duration_s"))]),
        "",
        *([md_text(coverage_text(report["coverage"])), ""] if report.get("coverage") else []),
        *_md_grouped(report),
        "Scopes: **+x** observed but not expected, **\u2212x** expected but missing; ⚠ marks what "
        "contradicts the expectation.",
    ]
    for outcome, subgroups in outcome_groups(cases):
        n = sum(len(sub) for _, sub in subgroups)
        out += ["", f"## {md_text(OUTCOME_HEADING.get(outcome, outcome))} ({n})"]
        for (auth, locality), sub in subgroups:
            out += [
                "",
                f"### auth {md_text(auth)} · {md_text(locality)} ({len(sub)})",
                "",
                "| case | severity | device | client | role | expected | observed | message "
                "| refs |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for c in sub:
                axes = c.get("axes") or {}
                passed = c.get("outcome") == "passed"
                cells = [
                    md_code(c.get("id", "?")),
                    md_text(c.get("severity", "")),
                    md_text(axes.get("device", "")),
                    md_code(axes.get("client", "")) if axes.get("client") else "",
                    md_text(axes.get("role", "")),
                    _md_facts(expected_facts(c)),
                    # A pass observed exactly what was expected: saying so keeps the table short.
                    "as expected" if passed else _md_facts(observed_facts(c)),
                    md_text(c.get("message") or ""),
                    ", ".join(md_ref(r) for r in c.get("refs") or []),
                ]
                out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _short_cell(result: dict[str, Any] | None) -> str:
    """One cell in a few words, for the 'rows that differ' list: outcome and what happened."""
    if result is None:
        return "not in this run"
    outcome = outcome_key(result)
    label = OUTCOME_LABEL.get(outcome, outcome)
    short = short_observed(result.get("observed"))
    return f"{label} ({short})" if short else label


def _md_history(history: dict[str, Any]) -> list[str]:
    """Per release its counts, then each group with the release ranges where it shows, then
    the releases where a group appeared or went away."""
    releases = list(history.get("releases") or [])
    judged = [r for r in releases if r.get("judged")]
    every = history.get("every") or 1
    out = [
        f"## History: {len(releases)} releases, {md_text(history.get('range') or '')}"
        + (f", every {every}th" if every != 1 else ""),
        "",
        f"{len(judged)} of {len(releases)} releases judged. Groups are failures by cause (and "
        "security flags, errors and secondary findings), each with the ranges of consecutive "
        "releases where it shows; a release that could not be judged ends every range.",
        "",
        "| release | passed | failed | xfailed | skipped | errors | failure groups | security "
        "| duration |",
        "|---|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    for r in releases:
        if not r.get("judged"):
            out.append(
                f"| {md_code(r.get('label'))} | not judged: {md_text(r.get('problem') or '?')} "
                "| | | | | | | |"
            )
            continue
        counts = r.get("summary") or {}
        flags = "**yes**" if r.get("security") else ""
        out.append(
            f"| {md_code(r.get('label'))} | {counts.get('passed', 0)} | {counts.get('failed', 0)} "
            f"| {counts.get('xfailed', 0)} | {counts.get('skipped', 0)} "
            f"| {counts.get('errors', 0)} | {r.get('groups', 0)} | {flags} "
            f"| {fmt_duration(r.get('duration_s'))}{' (reused)' if r.get('reused') else ''} |"
        )
    out += ["", "### Groups across releases", ""]
    if not history.get("groups"):
        out.append("None: every judged release passed every case.")
    for g in history.get("groups") or []:
        spans = "; ".join(
            f"{md_text(s.get('text'))} ({md_text(s.get('count_text'))})"
            for s in g.get("spans") or []
        )
        refs = ", ".join(md_code(r) for r in (g.get("refs") or [])[:4])
        out.append(
            f"- {KIND_LABEL.get(g.get('kind'), g.get('kind'))}: {md_text(g.get('signature'))}: "
            f"**{spans}**" + (f" \u2014 {refs}" if refs else "")
        )
    out += ["", "### What changed, release by release", ""]
    if not history.get("changes"):
        out.append("Nothing: every judged release shows the same groups.")
    for ch in history.get("changes") or []:
        parts = [
            f"{verb} {KIND_LABEL.get(item['kind'], item['kind'])} {md_text(item['signature'])}"
            for verb, key in (("+", "appeared"), ("\u2212", "gone"))
            for item in ch.get(key) or []
        ]
        out.append(f"- {md_code(ch.get('label'))}: " + "; ".join(parts))
    return [*out, ""]


def _md_case_table(cases: Sequence[dict[str, Any]], names: Sequence[str], labels: Sequence[str]):
    out = [
        "| Δ | case | severity | " + " | ".join(md_code(n) for n in labels) + " |",
        "|:-:|---|---|" + "".join(":-:|" for _ in names),
    ]
    for c in cases:
        results = c.get("results") or {}
        cells = [
            "**Δ**" if c.get("differs") else "",
            md_code(c.get("id", "?")),
            md_text(c.get("severity") or ""),
            *(
                MD_SYMBOL.get((results.get(n) or {}).get("outcome"), "?")
                if results.get(n) is not None
                else MD_SYMBOL[None]
                for n in names
            ),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return out


def matrix_markdown(matrix: dict[str, Any]) -> str:
    if matrix.get("history"):
        return _history_markdown(matrix)
    targets = list(matrix.get("targets") or [])
    names = [str(t.get("name")) for t in targets]
    cases = matrix_order(matrix.get("cases") or [])
    differing = [c for c in cases if c.get("differs")]
    legend = ", ".join(f"{md_code(MD_SYMBOL[o])} {OUTCOME_LABEL[o]}" for o in OUTCOME_ORDER)
    legend += f", {md_code(MD_SYMBOL[None])} not in run"
    out = [
        "# OpenClaw conformance matrix",
        "",
        f"{len(cases)} cases \u00d7 {len(targets)} targets, {len(differing)} rows differ; "
        "generated "
        f"{md_text(matrix.get('generated_at') or '?')} in "
        f"{fmt_duration(matrix.get('duration_s'))}.",
        "",
        *_md_summary_table(
            [(str(t.get("name")), t, summary(t), t.get("duration_s")) for t in targets]
        ),
        "",
        *(
            f"- {md_code(t.get('name'))} not judged: {md_text(t['problem'])}; its column is empty."
            for t in targets
            if t.get("problem")
        ),
        f"Legend: {legend}. **Δ** marks a row where the targets differ (listed first).",
        "",
        *_md_case_table(cases, names, names),
    ]
    out += ["", f"## Rows that differ ({len(differing)})", ""]
    if not differing:
        out.append("None: every target behaves the same on every case.")
    for c in differing:
        results = c.get("results") or {}
        per = "; ".join(f"{md_code(n)} {md_text(_short_cell(results.get(n)))}" for n in names)
        out.append(f"- {md_code(c.get('id', '?'))}: {per}")
    return "\n".join(out) + "\n"


def _history_markdown(matrix: dict[str, Any]) -> str:
    """A release history: the history sections, then the case x release table without the
    rows every release passed (counted), in the suite's order."""
    targets = list(matrix.get("targets") or [])
    names = [str(t.get("name")) for t in targets]
    # Release columns by their version, so 23 of them fit; other targets by their name.
    labels = [n.removeprefix("openclaw@") for n in names]
    judged = [str(t.get("name")) for t in targets if not t.get("problem")]
    cases = list(matrix.get("cases") or [])
    shown = [c for c in cases if not quiet_row(c, judged)]
    legend = ", ".join(f"{md_code(MD_SYMBOL[o])} {OUTCOME_LABEL[o]}" for o in OUTCOME_ORDER)
    legend += f", {md_code(MD_SYMBOL[None])} not in run"
    runs = matrix.get("runs") or {}
    out = [
        "# OpenClaw conformance history",
        "",
        f"{len(cases)} cases \u00d7 {len(targets)} targets; generated "
        f"{md_text(matrix.get('generated_at') or '?')} in "
        f"{fmt_duration(matrix.get('duration_s'))}"
        + (f" ({runs.get('ran', 0)} run, {runs.get('reused', 0)} reused)." if runs else "."),
        "",
        *_md_history(matrix["history"]),
        f"### Cases \u00d7 releases ({len(shown)} rows; {len(cases) - len(shown)} rows every "
        "release passed are not shown)",
        "",
        f"Legend: {legend}. **Δ**: the targets differ on the row.",
        "",
        *_md_case_table(shown, names, labels),
    ]
    return "\n".join(out) + "\n"
