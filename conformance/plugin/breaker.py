"""A circuit breaker per gateway config: once a gateway stops answering, the rest of its cases
error at once with the cause, instead of each waiting out its own timeouts (a dead gateway had
cost 98 separate failures over 5 minutes; one that never answers RPCs, 25 s per case)."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.cases.gateway import GatewaySpec

TRIP_AFTER = 3  # consecutive cases the harness could not judge for want of an answer


@dataclass
class _State:
    unanswered: int = 0
    cause: str | None = None  # set: tripped
    skipped: int = 0  # cases stopped since


@dataclass
class Breaker:
    """Counts, per config, the cases in a row that got no answer from the gateway."""

    trip_after: int = TRIP_AFTER
    _states: dict[GatewaySpec, _State] = field(default_factory=dict)

    def cause(self, spec: GatewaySpec) -> str | None:
        """Why this config's cases are not run any more; None while it answers."""
        state = self._states.get(spec)
        if state is None or state.cause is None:
            return None
        state.skipped += 1
        return state.cause

    def unanswered(self, spec: GatewaySpec, case_id: str, why: str) -> str | None:
        """A case got no answer; returns the cause once, when this trips the breaker."""
        state = self._states.setdefault(spec, _State())
        state.unanswered += 1
        if state.cause is None and state.unanswered >= self.trip_after:
            state.cause = (
                f"the gateway [{spec.label}] stopped answering: {state.unanswered} cases in a "
                f"row got no answer (last {case_id}: {why})"
            )
            return state.cause
        return None

    def answered(self, spec: GatewaySpec) -> None:
        state = self._states.get(spec)
        if state is not None and state.cause is None:
            state.unanswered = 0

    def summary(self) -> list[str]:
        return [
            f"{s.cause}; {s.skipped} later case(s) of that config not run"
            for s in self._states.values()
            if s.cause is not None
        ]
