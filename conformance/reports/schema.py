"""The schema ids of the JSON documents the harness writes (DESIGN.md)."""

from __future__ import annotations

RUN_SCHEMA = "openclaw-conformance/report/v1"
MATRIX_SCHEMA = "openclaw-conformance/matrix/v1"
DIFFERENTIAL_SCHEMA = "openclaw-conformance/differential/v1"
