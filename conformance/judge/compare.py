"""Differential mode: the same case against the reference and the target, and what differs.

Only what the contract is about is compared (acceptance, scopes, device token, error and close
codes); ids, nonces, messages and timings always differ and say nothing.
"""

from __future__ import annotations

from typing import Any

from conformance.judge.runner import Observation


def comparable(obs: Observation) -> dict[str, Any]:
    out = obs.outcome
    view: dict[str, Any] = {"accepted": out.accepted}
    if out.transport_error:
        view["transport_error"] = out.transport_error
        return view
    if out.http_status is not None:
        view["http_status"] = out.http_status
        return view
    if out.accepted:
        enforced = obs.enforced_scopes
        view["scopes"] = sorted(enforced) if enforced is not None else None
        if (out.protocol or 0) >= 4:
            reported = obs.reported_scopes
            view["reported_scopes"] = sorted(reported) if reported is not None else None
        view["device_token"] = obs.device_token_issued
        return view
    view["response"] = out.response
    if out.error is not None:
        view["error"] = out.error.code
        view["details_code"] = out.error.details_code
        reason = out.error.details.get("reason")
        if isinstance(reason, str):
            view["details_reason"] = reason
    view["close_code"] = out.close_code
    return view


def differences(reference: Observation, target: Observation) -> list[str]:
    """One line per field that differs, `field: reference -> target`."""
    a, b = comparable(reference), comparable(target)
    if ("reported_scopes" in a) != ("reported_scopes" in b):
        # Protocol 3 reports no connection scopes; only two protocol-4 reports compare.
        a.pop("reported_scopes", None)
        b.pop("reported_scopes", None)
    lines = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            lines.append(f"{key}: {a.get(key, '<absent>')!r} -> {b.get(key, '<absent>')!r}")
    return lines
