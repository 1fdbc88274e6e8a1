"""The compatibility matrix (`openclaw-conformance/matrix/v1`): several run reports merged into
one case x target table, each row marked where the targets behave differently."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from conformance.judge.compare import all_same, observed_behaviour
from conformance.reports.layout import summary
from conformance.reports.schema import MATRIX_SCHEMA


def row_differs(results: dict[str, dict[str, Any] | None]) -> bool:
    """True when the targets that ran the case disagree on the outcome or on the observed
    behaviour (conformance.judge.compare). A target without the case (null) or that skipped it
    does not count: a filtered case list, or a target that cannot offer a case (no CLI, no
    remote), observed nothing."""
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
                "summary": summary(rep, rep.get("cases") or []),
                "duration_s": rep.get("duration_s"),
                # set when the target could not be judged: its column holds no results
                "problem": rep.get("not_judged"),
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
                # the verdict's, so a cell shows what contradicts the expectation
                "problems": c.get("problems"),
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


def matrix_order(cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    # Differing rows first; otherwise the builder's order (the suite's own order) is kept.
    return sorted(cases, key=lambda c: not c.get("differs"))


def cell_case(row: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """A matrix cell as a run-report case, so the same fact rendering applies."""
    return {**row, **result}
