"""Markdown and HTML renderings of the run report (`openclaw-conformance/report/v1`) and of the
compatibility matrix (`openclaw-conformance/matrix/v1`), plus the builder of the matrix from
several run reports.

Pure functions over the JSON dicts: no file or network I/O, so the CLI, CI and the tests all
render the same way. Every value that came from a gateway (messages, codes, probe answers, CLI
output) is escaped: a hostile or broken gateway must not be able to script the report page.
The HTML is one self-contained file (inline CSS and a few lines of inline JS, no external
assets) so it can be attached to a CI run and opened from `file://`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from conformance.judge.compare import all_same, observed_behaviour
from conformance.protocol.scopes import implied

RUN_SCHEMA = "openclaw-conformance/report/v1"
MATRIX_SCHEMA = "openclaw-conformance/matrix/v1"

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
SUMMARY_KEYS = ("passed", "failed", "xfailed", "xpassed", "skipped", "errors")
AXES = ("auth", "locality", "device", "client", "role")

_GH_ISSUE = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(\d+)$")
_GHSA = re.compile(r"^GHSA(-[0-9a-z]{4}){3}$", re.IGNORECASE)
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# shared helpers


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


@dataclass(frozen=True)
class ScopeDiff:
    """Expected vs observed scopes as sets. `want` is what the observation is compared with: the
    expected scopes closed under implication (admin satisfies every probe, write satisfies read)
    when the observation is the probed, enforced set; the literal expected set otherwise."""

    expected: frozenset[str]
    observed: frozenset[str]
    want: frozenset[str]

    @property
    def missing(self) -> frozenset[str]:
        return self.want - self.observed

    @property
    def extra(self) -> frozenset[str]:
        return self.observed - self.want


def scope_diff(case: dict[str, Any]) -> ScopeDiff | None:
    """The scope comparison of an accepted-expected, accepted-observed handshake case."""
    exp = case.get("expected") or {}
    obs = case.get("observed") or {}
    if not exp.get("accepted") or not obs.get("accepted") or exp.get("scopes") is None:
        return None
    expected = frozenset(exp["scopes"])
    if obs.get("scopes") is not None:  # enforced, from the probes: judged against implied()
        return ScopeDiff(expected, frozenset(obs["scopes"]), implied(expected))
    if obs.get("reported_scopes") is not None:
        return ScopeDiff(expected, frozenset(obs["reported_scopes"]), expected)
    return None


@dataclass(frozen=True)
class Fact:
    """One line of an expected/observed cell. `bad` marks what contradicts the expectation;
    `scopes` turns the line into a scope set, with (scope, kind) kind in ok/missing/extra."""

    text: str
    bad: bool = False
    scopes: tuple[tuple[str, str], ...] | None = None


def _is_cli(case: dict[str, Any]) -> bool:
    return "exit_code" in (case.get("expected") or {})


def _err_codes(err: dict[str, Any] | None) -> str:
    if not err:
        return ""
    return " / ".join(str(err[k]) for k in ("code", "details_code") if err.get(k))


def expected_facts(case: dict[str, Any]) -> list[Fact]:
    exp = case.get("expected") or {}
    if _is_cli(case):
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
        facts.append(Fact(f"error {_err_codes(exp['error'])}"))
    if exp.get("message") is not None:
        facts.append(Fact(f"message contains {exp['message']!r}"))
    for key, value in (exp.get("details") or {}).items():
        facts.append(Fact(f"details.{key} = {value!r}"))
    if exp.get("close_code") is not None:
        facts.append(Fact(f"close {exp['close_code']}"))
    return facts


def observed_facts(case: dict[str, Any]) -> list[Fact]:
    """What was observed, each line marked bad where it contradicts the expectation (the same
    rules as conformance.judge.verdict, simplified: the verdict itself is the case outcome)."""
    exp = case.get("expected") or {}
    obs = case.get("observed")
    if obs is None:
        return [Fact("not run")]
    if _is_cli(case):
        tail = "\n".join(obs.get("output_tail") or [])
        facts = [Fact(f"exit {obs.get('exit_code')}", bad=obs.get("exit_code") != exp["exit_code"])]
        if obs.get("seconds") is not None:
            facts.append(Fact(f"{obs['seconds']:.1f} s"))
        facts += [
            Fact(f"output contains {s!r}", bad=True)
            for s in exp.get("output_excludes") or []
            if s in tail
        ]
        return facts
    facts: list[Fact] = []
    if obs.get("transport_error"):
        facts.append(Fact(f"transport error: {obs['transport_error']}", bad=True))
    accepted = obs.get("accepted")
    want_accepted = bool(exp.get("accepted"))
    facts.append(Fact("accepted" if accepted else "rejected", bad=bool(accepted) != want_accepted))
    if accepted:
        diff = scope_diff(case)
        if diff is not None:
            items = [(s, "extra" if s in diff.extra else "ok") for s in sorted(diff.observed)]
            items += [(s, "missing") for s in sorted(diff.missing)]
            facts.append(Fact("scopes", bad=bool(diff.missing or diff.extra), scopes=tuple(items)))
        elif obs.get("scopes") is not None:
            facts.append(Fact("scopes", scopes=tuple((s, "ok") for s in obs["scopes"])))
        reported = obs.get("reported_scopes")
        if reported is not None and sorted(reported) != sorted(obs.get("scopes") or []):
            facts.append(Fact("reported " + _set_text(reported)))
        if obs.get("device_token") is not None:
            want = exp.get("device_token") if want_accepted else None
            facts.append(
                Fact(
                    f"device token: {'yes' if obs['device_token'] else 'no'}",
                    bad=want is not None and bool(obs["device_token"]) != bool(want),
                )
            )
        if obs.get("auth_method") is not None:
            want = exp.get("auth_method") if want_accepted else None
            facts.append(
                Fact(
                    f"auth method: {obs['auth_method']}",
                    bad=want is not None and obs["auth_method"] != want,
                )
            )
        if obs.get("protocol") is not None:
            facts.append(Fact(f"protocol {obs['protocol']}"))
        return facts
    if obs.get("http_status") is not None:
        facts.append(
            Fact(
                f"HTTP {obs['http_status']} at the upgrade",
                bad=obs["http_status"] != exp.get("http_status"),
            )
        )
    elif exp.get("http_status") is not None and not want_accepted:
        facts.append(Fact(f"no HTTP {exp['http_status']}", bad=True))
    err = obs.get("error")
    if err:
        want_err = exp.get("error") or {}
        bad = bool(want_err) and (
            err.get("code") != want_err.get("code")
            or ("details_code" in want_err and err.get("details_code") != want_err["details_code"])
        )
        facts.append(Fact(f"error {_err_codes(err)}", bad=bad))
        if err.get("message"):
            want_msg = exp.get("message")
            facts.append(
                Fact(
                    f"message {err['message']!r}",
                    bad=want_msg is not None and want_msg not in err["message"],
                )
            )
    elif exp.get("error") and not want_accepted:
        facts.append(Fact("no error frame", bad=True))
    if obs.get("close_code") is not None or exp.get("close_code") is not None:
        want_close = None if want_accepted else exp.get("close_code")
        facts.append(
            Fact(
                f"close {obs.get('close_code')}",
                bad=want_close is not None and obs.get("close_code") != want_close,
            )
        )
    return facts


def _set_text(scopes: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(scopes)) + "}"


def _facts_text(facts: Sequence[Fact]) -> str:
    """Plain text of facts, for `title=` tooltips and the Markdown 'rows that differ' list."""
    parts = []
    for f in facts:
        if f.scopes is None:
            parts.append(f.text)
            continue
        marks = {"ok": "", "extra": "+", "missing": "-"}
        parts.append("scopes {" + ", ".join(marks[k] + s for s, k in f.scopes) + "}")
    return "; ".join(parts)


def _fmt_duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def _summary(report_or_target: dict[str, Any], cases: Sequence[dict[str, Any]] = ()) -> dict:
    summary = report_or_target.get("summary")
    if isinstance(summary, dict):
        return {k: int(summary.get(k, 0) or 0) for k in SUMMARY_KEYS}
    counts = dict.fromkeys(SUMMARY_KEYS, 0)
    for c in cases:
        key = "errors" if c.get("outcome") == "error" else c.get("outcome")
        if key in counts:
            counts[key] += 1
    return counts


def _target_line(target: dict[str, Any]) -> str:
    bits = [f"kind {target.get('kind') or '?'}"]
    if target.get("version"):
        bits.append(f"version {target['version']}")
    if target.get("protocol") is not None:
        bits.append(f"protocol {target['protocol']}")
    return ", ".join(bits)


# ---------------------------------------------------------------------------------------------
# Markdown


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
            _fmt_duration(duration),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


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


def run_markdown(report: dict[str, Any]) -> str:
    """One run: summary, then one section per outcome (failures first) and within it one table
    per auth x locality."""
    target = report.get("target") or {}
    cases = list(report.get("cases") or [])
    counts = _summary(report, cases)
    name = target.get("name") or "?"
    out = [
        f"# OpenClaw conformance: {md_text(name)}",
        "",
        f"{md_text(_target_line(target))}; {len(cases)} cases in "
        f"{_fmt_duration(report.get('duration_s'))}. Schema {md_code(report.get('schema', '?'))}.",
        "",
        *_md_summary_table([(name, target, counts, report.get("duration_s"))]),
        "",
        *([md_text(coverage_text(report["coverage"])), ""] if report.get("coverage") else []),
        "Scopes: **+x** observed but not expected, **\u2212x** expected but missing; ⚠ marks what "
        "contradicts the expectation.",
    ]
    ordered = order_cases(cases)
    for outcome in _outcomes_present(ordered):
        group = [c for c in ordered if _outcome_key(c) == outcome]
        out += ["", f"## {md_text(OUTCOME_HEADING.get(outcome, outcome))} ({len(group)})"]
        for (auth, locality), sub in _by_auth_locality(group):
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


def _outcome_key(case: dict[str, Any]) -> str:
    return str(case.get("outcome") or "?")


def _outcomes_present(ordered: Sequence[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for c in ordered:
        if _outcome_key(c) not in seen:
            seen.append(_outcome_key(c))
    return seen


def _by_auth_locality(
    cases: Sequence[dict[str, Any]],
) -> list[tuple[tuple[str, str], list[dict[str, Any]]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in cases:
        axes = c.get("axes") or {}
        key = (str(axes.get("auth", "?")), str(axes.get("locality", "?")))
        groups.setdefault(key, []).append(c)
    return list(groups.items())


# ---------------------------------------------------------------------------------------------
# HTML


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


_CSS = """
:root{--fail:#c62828;--failbg:#fdecea;--xfail:#8d6e00;--xfailbg:#fff8e1;--pass:#2e7d32;
--passbg:#edf7ee;--skip:#616161;--skipbg:#f3f3f3;--xpass:#6a1b9a;--xpassbg:#f5e9fb;
--line:#d9dde3;--muted:#5f6b7a}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0;padding:16px 24px;color:#1c2430;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 8px}
.sub{color:var(--muted);margin:0 0 12px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.badges{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0 12px}
.badge{border-radius:12px;padding:2px 10px;font-weight:600;border:1px solid var(--line)}
.o-failed,.o-error{color:var(--fail);background:var(--failbg)}
.o-xfailed{color:var(--xfail);background:var(--xfailbg)}
.o-xpassed{color:var(--xpass);background:var(--xpassbg)}
.o-passed{color:var(--pass);background:var(--passbg)}
.o-skipped,.o-missing{color:var(--skip);background:var(--skipbg)}
.controls{position:sticky;top:0;background:#fff;padding:6px 0;z-index:2;
border-bottom:1px solid var(--line);display:flex;gap:14px;flex-wrap:wrap;align-items:center}
.controls input[type=search]{padding:3px 6px;min-width:260px}
table{border-collapse:collapse;width:100%}
/* fixed layout on the run table: long gateway messages wrap instead of widening the page */
.run table{table-layout:fixed}.run td{overflow-wrap:anywhere}
.run .cid,.run .msg{min-width:0;max-width:none}
td.refs{font-size:12px}td.refs a,td.refs span{display:inline-block}
th,td{border-bottom:1px solid var(--line);padding:5px 7px;text-align:left;vertical-align:top}
thead th{background:#f6f8fa;position:sticky;top:38px;z-index:1}
tr.group th{background:#e9edf2;font-size:14px}
tr.subgroup th{background:#f6f8fa;font-weight:600;color:#2b3645}
tr.case{border-left:4px solid transparent}
tr.case[data-outcome=failed],tr.case[data-outcome=error]{border-left-color:var(--fail)}
tr.case[data-outcome=xpassed]{border-left-color:var(--xpass)}
tr.case[data-outcome=xfailed]{border-left-color:var(--xfail)}
tr.case[data-outcome=passed]{border-left-color:var(--pass)}
tr.case[data-outcome=skipped]{border-left-color:var(--skip)}
tr.case[data-differs=true]{background:#fff4e5}
tr.case[data-differs=true] td.cid::before{content:"\\25C6  ";color:#e65100}
.cid{min-width:230px;max-width:320px}.cid .id{font-weight:600;overflow-wrap:anywhere}
.title{color:#2b3645}
.axes{color:var(--muted);font-size:12px}
.sev{font-size:11px;text-transform:uppercase;border-radius:3px;padding:0 4px;margin-right:4px;
border:1px solid var(--line)}
.sev-must{color:#fff;background:#37474f;border-color:#37474f}
.out{font-weight:700;white-space:nowrap;border-radius:4px;padding:1px 6px}
ul.facts{margin:0;padding:0;list-style:none}
ul.facts li{margin:0 0 2px}
.bad{background:var(--failbg);color:var(--fail);font-weight:600;border-radius:3px;padding:0 3px}
.chip{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 6px;
margin:1px 2px 1px 0;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.chip.extra{background:var(--failbg);color:var(--fail);border-color:var(--fail)}
.chip.missing{background:#fff;color:var(--fail);border:1px dashed var(--fail);
text-decoration:line-through}
.msg{min-width:220px;max-width:420px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px}
details summary{cursor:pointer;color:var(--muted);font-size:12px}
details pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:6px;margin:4px 0;
max-width:520px;font-size:12px}
td.cell{min-width:170px;max-width:320px}
td.cell[data-outcome=failed],td.cell[data-outcome=error]{background:var(--failbg)}
td.cell[data-outcome=xpassed]{background:var(--xpassbg)}
td.cell[data-outcome=xfailed]{background:var(--xfailbg)}
td.cell summary{font-size:13px;color:inherit}
td.cell .short{font-size:12px;color:#2b3645;overflow-wrap:anywhere}
a{color:#0b57d0}
.legend{color:var(--muted);font-size:12px;margin:6px 0}
.hidden{display:none}
"""

# Filtering only hides rows (adds a class): the DOM keeps every row, so counting `tr.case` in a
# dumped DOM is the same with or without JS.
_RUN_JS = """
(function(){
  var boxes=document.querySelectorAll('input[data-filter-outcome]');
  var q=document.getElementById('q');
  function apply(){
    var on={};boxes.forEach(function(b){on[b.getAttribute('data-filter-outcome')]=b.checked;});
    var text=(q.value||'').toLowerCase();
    document.querySelectorAll('#cases tr.case').forEach(function(tr){
      var show=on[tr.getAttribute('data-outcome')]!==false &&
        (!text||tr.textContent.toLowerCase().indexOf(text)>=0);
      tr.classList.toggle('hidden',!show);
    });
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  q.addEventListener('input',apply);
})();
"""

_MATRIX_JS = """
(function(){
  var only=document.getElementById('only-differs');
  var q=document.getElementById('q');
  function apply(){
    var text=(q.value||'').toLowerCase();
    document.querySelectorAll('#cases tr.case').forEach(function(tr){
      var show=(!only.checked||tr.getAttribute('data-differs')==='true') &&
        (!text||tr.textContent.toLowerCase().indexOf(text)>=0);
      tr.classList.toggle('hidden',!show);
    });
  }
  only.addEventListener('change',apply);
  q.addEventListener('input',apply);
})();
"""


def _page(title: str, body: str, script: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n<script>{script}</script>\n</body>\n</html>\n"
    )


def html_ref(ref: str) -> str:
    url = ref_url(ref)
    if url is None:
        return f'<span class="mono">{esc(ref)}</span>'
    return f'<a href="{esc(url)}" rel="noopener noreferrer">{esc(ref)}</a>'


def _html_facts(facts: Sequence[Fact]) -> str:
    items = []
    for f in facts:
        if f.scopes is not None:
            chips = "".join(
                f'<span class="chip {kind}" title="{esc(_CHIP_TITLE[kind])}">'
                f"{_CHIP_MARK[kind]}{esc(s)}</span>"
                for s, kind in f.scopes
            )
            items.append(f"<li>{chips or '<em>no scopes</em>'}</li>")
        elif f.bad:
            items.append(f'<li><span class="bad">{esc(f.text)}</span></li>')
        else:
            items.append(f"<li>{esc(f.text)}</li>")
    return f'<ul class="facts">{"".join(items)}</ul>'


_CHIP_MARK = {"ok": "", "extra": "+", "missing": "&minus;"}
_CHIP_TITLE = {
    "ok": "as expected",
    "extra": "observed, not expected",
    "missing": "expected, missing",
}


def _html_observed_extra(case: dict[str, Any]) -> str:
    """The evidence behind the observed cell, folded: probe answers, CLI output tail."""
    obs = case.get("observed") or {}
    parts = []
    if obs.get("probes"):
        lines = "\n".join(str(v) for v in obs["probes"].values())
        parts.append(f"<details><summary>probes</summary><pre>{esc(lines)}</pre></details>")
    if obs.get("output_tail"):
        lines = "\n".join(str(v) for v in obs["output_tail"])
        parts.append(f"<details><summary>output tail</summary><pre>{esc(lines)}</pre></details>")
    return "".join(parts)


def _html_case_cell(case: dict[str, Any], with_axes: str) -> str:
    sev = str(case.get("severity") or "")
    return (
        f'<td class="cid"><span class="sev sev-{esc(sev)}">{esc(sev)}</span>'
        # <wbr> after each dot: long dotted ids wrap at a segment, not mid-word.
        f'<span class="id mono">{esc(case.get("id", "?")).replace(".", ".<wbr>")}</span>'
        f'<div class="title">{esc(case.get("title") or "")}</div>'
        f'<div class="axes">{with_axes}</div></td>'
    )


def _axes_html(axes: dict[str, Any], keys: Sequence[str]) -> str:
    return " · ".join(f"{esc(k)} <b>{esc(axes[k])}</b>" for k in keys if axes.get(k) is not None)


def _badges(counts: dict[str, int]) -> str:
    cls = {"errors": "error"}
    return "".join(
        f'<span class="badge o-{cls.get(k, k)}">{counts[k]} {esc(k)}</span>' for k in SUMMARY_KEYS
    )


def run_html(report: dict[str, Any]) -> str:
    """One run as a self-contained page: summary, filters, and table `#cases` with one
    `tr.case` per case, failures first, grouped by outcome then auth x locality."""
    target = report.get("target") or {}
    cases = list(report.get("cases") or [])
    counts = _summary(report, cases)
    name = str(target.get("name") or "?")
    ordered = order_cases(cases)
    rows: list[str] = []
    for outcome in _outcomes_present(ordered):
        group = [c for c in ordered if _outcome_key(c) == outcome]
        heading = OUTCOME_HEADING.get(outcome, outcome)
        rows.append(
            f'<tr class="group"><th colspan="6"><span class="out o-{esc(outcome)}">'
            f"{esc(heading)}</span> {len(group)}</th></tr>"
        )
        for (auth, locality), sub in _by_auth_locality(group):
            rows.append(
                f'<tr class="subgroup"><th colspan="6">auth <b>{esc(auth)}</b> · '
                f'<b>{esc(locality)}</b> <span class="axes">({len(sub)})</span></th></tr>'
            )
            rows += [_run_row(c) for c in sub]
    outcome_boxes = "".join(
        f'<label><input type="checkbox" data-filter-outcome="{o}" checked> '
        f'<span class="out o-{o}">{OUTCOME_LABEL[o]}</span></label>'
        for o in OUTCOME_ORDER
    )
    coverage_html = (
        f'<p class="coverage">{esc(coverage_text(report["coverage"]))}</p>'
        if report.get("coverage")
        else ""
    )
    body = f"""<h1>OpenClaw conformance: {esc(name)}</h1>
<p class="sub">{esc(_target_line(target))} · {len(cases)} cases in
{esc(_fmt_duration(report.get("duration_s")))} · schema
<span class="mono">{esc(report.get("schema", "?"))}</span></p>
<div class="badges">{_badges(counts)}</div>
{coverage_html}
<div class="controls">{outcome_boxes}
<input id="q" type="search" placeholder="filter: id, scope, error code, message…"></div>
<p class="legend">Scopes: <span class="chip extra">+observed, not expected</span>
<span class="chip missing">&minus;expected, missing</span>; highlighted lines contradict the
expectation. Rows: failures first, then by auth · locality.</p>
<div class="run"><table id="cases">
<colgroup><col style="width:18%"><col style="width:6%"><col style="width:19%">
<col style="width:22%"><col style="width:21%"><col style="width:14%"></colgroup>
<thead><tr><th>case</th><th>outcome</th><th>expected</th><th>observed</th><th>message</th>
<th>refs</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table></div>"""
    return _page(f"OpenClaw conformance: {name}", body, _RUN_JS)


def _run_row(c: dict[str, Any]) -> str:
    outcome = _outcome_key(c)
    axes = c.get("axes") or {}
    refs = " ".join(html_ref(r) for r in c.get("refs") or [])
    return (
        f'<tr class="case" data-id="{esc(c.get("id", "?"))}" data-outcome="{esc(outcome)}">'
        + _html_case_cell(c, _axes_html(axes, ("device", "client", "role")))
        + f'<td><span class="out o-{esc(outcome)}">{esc(OUTCOME_LABEL.get(outcome, outcome))}'
        f"</span></td>"
        f"<td>{_html_facts(expected_facts(c))}</td>"
        f"<td>{_html_facts(observed_facts(c))}{_html_observed_extra(c)}</td>"
        f'<td class="msg">{esc(c.get("message") or "")}</td>'
        f'<td class="refs">{refs}</td></tr>'
    )


# ---------------------------------------------------------------------------------------------
# the compatibility matrix


def row_differs(results: dict[str, dict[str, Any] | None]) -> bool:
    """True when the targets that ran the case disagree on the outcome or on the observed
    behaviour. A target without the case (null) or that skipped it does not count: a filtered
    case list, or a target that cannot offer a case (no CLI, no remote), observed nothing."""
    present = [r for r in results.values() if r is not None and r.get("outcome") != "skipped"]
    if len({r.get("outcome") for r in present}) > 1:
        return True
    observed = (observed_behaviour(r.get("observed")) for r in present)
    return not all_same(b for b in observed if b is not None)


def matrix_from_reports(
    reports: Sequence[dict[str, Any]], generated_at: str | None = None
) -> dict[str, Any]:
    """Merge v1 run reports into the matrix dict. Case order: the first report's, then cases
    only later reports have. Two reports with the same target name get `#2`, `#3` suffixes so
    no column is silently overwritten."""
    names: list[str] = []
    targets: list[dict[str, Any]] = []
    for rep in reports:
        t = rep.get("target") or {}
        base = str(t.get("name") or t.get("kind") or "target")
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}#{n}"
        names.append(name)
        targets.append(
            {
                "name": name,
                "kind": t.get("kind"),
                "version": t.get("version"),
                "protocol": t.get("protocol"),
                "summary": _summary(rep, rep.get("cases") or []),
                "duration_s": rep.get("duration_s"),
            }
        )
    rows: dict[str, dict[str, Any]] = {}
    for name, rep in zip(names, reports, strict=True):
        for c in rep.get("cases") or []:
            cid = str(c.get("id"))
            row = rows.get(cid)
            if row is None:
                row = rows[cid] = {
                    "id": cid,
                    "title": c.get("title"),
                    "severity": c.get("severity"),
                    "refs": list(c.get("refs") or []),
                    "axes": dict(c.get("axes") or {}),
                    "expected": c.get("expected"),
                    "results": dict.fromkeys(names),
                }
            row["results"][name] = {
                "outcome": c.get("outcome"),
                "observed": c.get("observed"),
                "message": c.get("message") or "",
            }
    for row in rows.values():
        row["differs"] = row_differs(row["results"])
    durations = [t["duration_s"] for t in targets if isinstance(t["duration_s"], int | float)]
    return {
        "schema": MATRIX_SCHEMA,
        "generated_at": generated_at
        or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "duration_s": round(sum(durations), 3),
        "targets": targets,
        "cases": list(rows.values()),
    }


def _matrix_order(cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    # Differing rows first; otherwise the builder's order (the suite's own order) is kept.
    return sorted(cases, key=lambda c: not c.get("differs"))


def _cell_case(row: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """A matrix cell as a run-report case, so the same fact rendering applies."""
    return {**row, **result}


def _cell_text(row: dict[str, Any], result: dict[str, Any] | None) -> str:
    if result is None:
        return "not in this run"
    outcome = _outcome_key(result)
    facts = _facts_text(observed_facts(_cell_case(row, result)))
    text = f"{OUTCOME_LABEL.get(outcome, outcome)}: {facts}"
    if result.get("message"):
        text += f"\n{result['message']}"
    return text


def _short_observed(obs: dict[str, Any] | None) -> str:
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
    codes = _err_codes(obs.get("error")).replace(" / ", "/")
    return f"rejected{' ' + codes if codes else ''}"


def _short_cell(result: dict[str, Any] | None) -> str:
    """One cell in a few words, for the 'rows that differ' list: outcome and what happened."""
    if result is None:
        return "not in this run"
    outcome = _outcome_key(result)
    label = OUTCOME_LABEL.get(outcome, outcome)
    short = _short_observed(result.get("observed"))
    return f"{label} ({short})" if short else label


def matrix_markdown(matrix: dict[str, Any]) -> str:
    targets = list(matrix.get("targets") or [])
    names = [str(t.get("name")) for t in targets]
    cases = _matrix_order(matrix.get("cases") or [])
    differing = [c for c in cases if c.get("differs")]
    legend = ", ".join(f"{md_code(MD_SYMBOL[o])} {OUTCOME_LABEL[o]}" for o in OUTCOME_ORDER)
    legend += f", {md_code(MD_SYMBOL[None])} not in run"
    out = [
        "# OpenClaw conformance matrix",
        "",
        f"{len(cases)} cases \u00d7 {len(targets)} targets, {len(differing)} rows differ; "
        "generated "
        f"{md_text(matrix.get('generated_at') or '?')} in "
        f"{_fmt_duration(matrix.get('duration_s'))}.",
        "",
        *_md_summary_table(
            [(str(t.get("name")), t, _summary(t), t.get("duration_s")) for t in targets]
        ),
        "",
        f"Legend: {legend}. **Δ** marks a row where the targets differ (listed first).",
        "",
        "| Δ | case | severity | " + " | ".join(md_code(n) for n in names) + " |",
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
    out += ["", f"## Rows that differ ({len(differing)})", ""]
    if not differing:
        out.append("None: every target behaves the same on every case.")
    for c in differing:
        results = c.get("results") or {}
        per = "; ".join(f"{md_code(n)} {md_text(_short_cell(results.get(n)))}" for n in names)
        out.append(f"- {md_code(c.get('id', '?'))}: {per}")
    return "\n".join(out) + "\n"


def matrix_html(matrix: dict[str, Any]) -> str:
    """The matrix as a self-contained page: per-target summary, table `#cases` with one
    `tr.case` per case (`data-differs`), differing rows first and highlighted; each cell shows
    the outcome, with the observation as a tooltip and in a `<details>`."""
    targets = list(matrix.get("targets") or [])
    names = [str(t.get("name")) for t in targets]
    cases = _matrix_order(matrix.get("cases") or [])
    n_diff = sum(1 for c in cases if c.get("differs"))
    summary_rows = "".join(
        f'<tr><th class="mono">{esc(t.get("name"))}</th><td>{esc(t.get("kind") or "")}</td>'
        f"<td>{esc(t.get('version') or '')}</td>"
        f"<td>{esc('' if t.get('protocol') is None else t['protocol'])}</td>"
        f'<td><div class="badges">{_badges(_summary(t))}</div></td>'
        f"<td>{esc(_fmt_duration(t.get('duration_s')))}</td></tr>"
        for t in targets
    )
    head_cells = "".join(
        f'<th class="mono">{esc(t.get("name"))}<div class="axes">{esc(_target_line(t))}</div></th>'
        for t in targets
    )
    rows = [_matrix_row(c, names) for c in cases]
    body = f"""<h1>OpenClaw conformance matrix</h1>
<p class="sub">{len(cases)} cases &times; {len(targets)} targets · <b>{n_diff}</b> rows differ ·
generated {esc(matrix.get("generated_at") or "?")} in
{esc(_fmt_duration(matrix.get("duration_s")))} · schema
<span class="mono">{esc(matrix.get("schema", "?"))}</span></p>
<table class="targets"><thead><tr><th>target</th><th>kind</th><th>version</th><th>protocol</th>
<th>summary</th><th>duration</th></tr></thead><tbody>{summary_rows}</tbody></table>
<div class="controls"><label><input id="only-differs" type="checkbox"> only rows that differ
({n_diff})</label>
<input id="q" type="search" placeholder="filter: id, scope, error code…"></div>
<p class="legend">Cells: outcome; hover for the observation, click to expand. Highlighted rows
(&#9670;) differ between targets and come first.</p>
<table id="cases">
<thead><tr><th>case</th><th>expected</th>{head_cells}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""
    return _page("OpenClaw conformance matrix", body, _MATRIX_JS)


def _matrix_row(c: dict[str, Any], names: Sequence[str]) -> str:
    results = c.get("results") or {}
    cells = []
    for n in names:
        res = results.get(n)
        if res is None:
            cells.append(
                '<td class="cell" data-outcome="missing" title="not in this run">'
                '<span class="out o-missing">—</span></td>'
            )
            continue
        outcome = _outcome_key(res)
        label = esc(OUTCOME_LABEL.get(outcome, outcome))
        cell_case = _cell_case(c, res)
        inner = _html_facts(observed_facts(cell_case)) + _html_observed_extra(cell_case)
        if res.get("message"):
            inner += f'<div class="msg">{esc(res["message"])}</div>'
        cells.append(
            f'<td class="cell" data-outcome="{esc(outcome)}" title="{esc(_cell_text(c, res))}">'
            f'<details><summary><span class="out o-{esc(outcome)}">{label}</span> '
            f'<span class="short">{esc(_short_observed(res.get("observed")))}</span></summary>'
            f"{inner}</details></td>"
        )
    axes = _axes_html(c.get("axes") or {}, AXES)
    refs = " ".join(html_ref(r) for r in c.get("refs") or [])
    return (
        f'<tr class="case" data-id="{esc(c.get("id", "?"))}" '
        f'data-differs="{"true" if c.get("differs") else "false"}">'
        + _html_case_cell(c, axes + (f"<div>{refs}</div>" if refs else ""))
        + f"<td>{_html_facts(expected_facts(c))}</td>"
        + "".join(cells)
        + "</tr>"
    )


__all__ = [
    "MATRIX_SCHEMA",
    "OUTCOME_ORDER",
    "RUN_SCHEMA",
    "Fact",
    "ScopeDiff",
    "expected_facts",
    "matrix_from_reports",
    "matrix_html",
    "matrix_markdown",
    "observed_facts",
    "order_cases",
    "ref_url",
    "row_differs",
    "run_html",
    "run_markdown",
    "scope_diff",
]
