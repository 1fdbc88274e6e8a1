"""What "the same behaviour" means for one case observed twice: on the reference and a target
(differential mode), on several targets (the matrix's `differs`), on two releases (bisect).

Only what the contract is about is compared (acceptance, scopes, device token, error and close
codes, HTTP refusal, a CLI's exit code); ids, nonces, messages and timings always differ and say
nothing. A `Behaviour` is built from the report's `observed` dict, the one form all three users
hold; the differential mode, which still has the live `Observation`, adds the two facts that
dict does not carry (whether a `res` frame came, `error.details.reason`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

from conformance.judge.runner import Observation

ABSENT = "<absent>"  # how a field one side does not have shows in a difference line


class Answer(enum.Enum):
    """What kind of answer the case got; it decides which fields count."""

    CLI = "cli"  # a CLI case: its exit code
    TRANSPORT_ERROR = "transport_error"  # no usable answer at all
    HTTP_REFUSAL = "http_refusal"  # the WebSocket upgrade was refused
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Behaviour:
    """One observation reduced to what two runs of the case must agree on.

    Compare two with `differences` or `same_behaviour`, not `==`: hello-ok's scopes are a
    statement only on protocol 4 (protocol 3 reports a device token's scopes), so they are
    compared only when both sides are protocol 4, which no field-wise equality can say."""

    answer: Answer
    accepted: bool | None = None
    transport_error: str | None = None
    http_status: int | None = None
    scopes: tuple[str, ...] | None = None  # enforced, from the probes
    reported_scopes: tuple[str, ...] | None = None
    reports_scopes: bool = False  # protocol 4: reported_scopes counts
    device_token: bool | None = None
    response: bool | None = None  # None: not known (the report's dict does not carry it)
    error: str | None = None
    details_code: str | None = None
    details_reason: str | None = None  # None: none, or not known
    close_code: int | None = None
    exit_code: int | None = None

    @classmethod
    def of(cls, observed: Mapping[str, Any]) -> Behaviour:
        """From a report's `observed` dict (a handshake case's or a CLI case's)."""
        if "exit_code" in observed:
            return cls(Answer.CLI, exit_code=observed.get("exit_code"))
        accepted = observed.get("accepted")
        if observed.get("transport_error"):
            return cls(
                Answer.TRANSPORT_ERROR, accepted, transport_error=observed["transport_error"]
            )
        if observed.get("http_status") is not None:
            return cls(Answer.HTTP_REFUSAL, accepted, http_status=observed["http_status"])
        if accepted:
            return cls(
                Answer.ACCEPTED,
                accepted,
                scopes=_sorted(observed.get("scopes")),
                reported_scopes=_sorted(observed.get("reported_scopes")),
                reports_scopes=(observed.get("protocol") or 0) >= 4,
                device_token=observed.get("device_token"),
            )
        err = observed.get("error") or {}
        return cls(
            Answer.REJECTED,
            accepted,
            error=err.get("code"),
            details_code=err.get("details_code"),
            close_code=observed.get("close_code"),
        )

    @classmethod
    def of_observation(cls, obs: Observation) -> Behaviour:
        behaviour = cls.of(obs.as_dict())
        if behaviour.answer is not Answer.REJECTED:
            return behaviour
        err = obs.outcome.error
        reason = err.details.get("reason") if err is not None else None
        return replace(
            behaviour,
            response=obs.outcome.response,
            details_reason=reason if isinstance(reason, str) else None,
        )

    def fields(self) -> dict[str, Any]:
        """The fields that count for this kind of answer, in report form (scopes as lists)."""
        view: dict[str, Any] = {}
        if self.answer is Answer.CLI:
            return {"exit_code": self.exit_code}
        view["accepted"] = self.accepted
        if self.answer is Answer.TRANSPORT_ERROR:
            view["transport_error"] = self.transport_error
        elif self.answer is Answer.HTTP_REFUSAL:
            view["http_status"] = self.http_status
        elif self.answer is Answer.ACCEPTED:
            view["scopes"] = _listed(self.scopes)
            if self.reports_scopes:
                view["reported_scopes"] = _listed(self.reported_scopes)
            view["device_token"] = self.device_token
        else:
            if self.response is not None:
                view["response"] = self.response
            view["error"] = self.error
            view["details_code"] = self.details_code
            if self.details_reason is not None:
                view["details_reason"] = self.details_reason
            view["close_code"] = self.close_code
        return view

    def differences(self, other: Behaviour) -> list[str]:
        """One line per field that differs, `field: self -> other`; empty when alike."""
        mine, theirs = self.fields(), other.fields()
        if ("reported_scopes" in mine) != ("reported_scopes" in theirs):
            # Protocol 3 reports no connection scopes; only two protocol-4 reports compare.
            mine.pop("reported_scopes", None)
            theirs.pop("reported_scopes", None)
        lines = []
        for key in sorted(set(mine) | set(theirs)):
            a, b = mine.get(key, ABSENT), theirs.get(key, ABSENT)
            if a != b:
                lines.append(f"{key}: {a!r} -> {b!r}")
        return lines


def _sorted(scopes: Iterable[str] | None) -> tuple[str, ...] | None:
    return tuple(sorted(scopes)) if scopes is not None else None


def _listed(scopes: tuple[str, ...] | None) -> list[str] | None:
    return list(scopes) if scopes is not None else None


def differences(reference: Observation, target: Observation) -> list[str]:
    """The differential mode's lines, `field: reference -> target`."""
    return Behaviour.of_observation(reference).differences(Behaviour.of_observation(target))


def same_behaviour(a: Behaviour | None, b: Behaviour | None) -> bool:
    """True when both observed nothing, or both observed the same behaviour."""
    if a is None or b is None:
        return a is b
    return not a.differences(b)


def all_same(behaviours: Iterable[Behaviour]) -> bool:
    """True when every pair behaves the same (pairwise: across protocol 3 and 4 the relation
    is not transitive)."""
    return all(same_behaviour(a, b) for a, b in combinations(list(behaviours), 2))


def observed_behaviour(observed: Mapping[str, Any] | None) -> Behaviour | None:
    """The behaviour of a report's `observed` dict; None when nothing was observed."""
    return None if observed is None else Behaviour.of(observed)


__all__ = [
    "Answer",
    "Behaviour",
    "all_same",
    "differences",
    "observed_behaviour",
    "same_behaviour",
]
