"""The renderings of the run report (`openclaw-conformance/report/v1`) and of the compatibility
matrix (`openclaw-conformance/matrix/v1`) in one import, for the CLI, CI and tests.

Pure functions over the JSON dicts: no file or network I/O, so everyone renders the same way.
Where each part lives: `layout` (outcome order, labels, grouping, refs), `facts` (what a
cell says, flagged by the verdict's stored problems), `matrix` (the merge of run reports),
`markdown`, and `html` (Jinja2 templates with autoescape, CSS and JS inlined).
"""

from __future__ import annotations

from conformance.reports.facts import expected_facts, observed_facts, scope_diff
from conformance.reports.html import matrix_html, run_html
from conformance.reports.layout import (
    OUTCOME_ORDER,
    SUMMARY_KEYS,
    order_cases,
    outcome_rank,
    ref_url,
)
from conformance.reports.markdown import matrix_markdown, run_markdown
from conformance.reports.matrix import matrix_from_reports, row_differs
from conformance.reports.schema import MATRIX_SCHEMA, RUN_SCHEMA

__all__ = [
    "MATRIX_SCHEMA",
    "OUTCOME_ORDER",
    "RUN_SCHEMA",
    "SUMMARY_KEYS",
    "expected_facts",
    "matrix_from_reports",
    "matrix_html",
    "matrix_markdown",
    "observed_facts",
    "order_cases",
    "outcome_rank",
    "ref_url",
    "row_differs",
    "run_html",
    "run_markdown",
    "scope_diff",
]
