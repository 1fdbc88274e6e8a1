"""Undoing what a run left on a gateway it does not own: paired devices and pending requests."""

from __future__ import annotations

from dataclasses import replace

from conformance.protocol.client import Timeouts, handshake
from conformance.protocol.frames import ConnectPlan, shared_auth
from conformance.protocol.identity import DeviceIdentity
from conformance.protocol.sockets import Vantage

JANITOR_SCOPES = ["operator.pairing", "operator.admin"]


async def cleanup_pairings(
    vantage: Vantage,
    token: str | None,
    password: str | None,
    devices: set[str],
    requests: set[str],
    *,
    with_device: bool = False,
) -> list[str]:
    """Remove `devices` from the paired list and reject pending `requests` (or any pending request
    of those devices), as a device-less local CLI with the shared secret, which keeps
    operator.pairing on current gateways. Returns one line per outcome."""
    janitor_id = None
    plan = ConnectPlan(
        client_version="conformance-cleanup",
        scopes=tuple(JANITOR_SCOPES),
        auth=shared_auth(token, password),
        request_id="janitor",
    )
    build = plan.frame
    if with_device:
        # 2026.3.13 clears a device-less CLI's scopes: the janitor then needs a device of its
        # own, which a local gateway pairs silently; it removes itself last.

        ident = DeviceIdentity.generate()
        janitor_id = ident.device_id
        build = replace(plan, identity=ident).frame
        devices = devices | {janitor_id}
    outcome = await handshake(vantage, build, timeouts=Timeouts())
    conn = outcome.connection
    if conn is None:
        return [
            f"cleanup: could not connect to remove {len(devices)} device(s) and reject "
            f"{len(requests)} request(s): {outcome.summary()}"
        ]
    lines: list[str] = []
    try:
        listing = await conn.call("device.pair.list", {})
        if not listing.ok:
            why = listing.error.message if listing.error else listing.transport_error
            return [
                f"cleanup: device.pair.list refused ({why}); left {len(devices)} device(s) "
                f"and {len(requests)} pending request(s) on the gateway: "
                + ", ".join(sorted(devices)[:5])
            ]
        payload = listing.payload if isinstance(listing.payload, dict) else {}
        pending = [p for p in payload.get("pending") or [] if isinstance(p, dict)]
        paired = {p.get("deviceId") for p in payload.get("paired") or [] if isinstance(p, dict)}
        to_reject = {
            p.get("requestId")
            for p in pending
            if p.get("requestId") in requests or p.get("deviceId") in devices
        }
        removed = rejected = 0
        failures: list[str] = []
        for request_id in sorted(r for r in to_reject if isinstance(r, str)):
            res = await conn.call("device.pair.reject", {"requestId": request_id})
            if res.ok:
                rejected += 1
            else:
                failures.append(f"reject {request_id}: {res.error.message if res.error else res}")
        # the janitor's own device last: removing it may end this connection
        for device_id in sorted(devices & paired, key=lambda d: (d == janitor_id, d)):
            res = await conn.call("device.pair.remove", {"deviceId": device_id})
            if res.ok:
                removed += 1
            else:
                failures.append(
                    f"remove {device_id[:12]}: {res.error.message if res.error else res}"
                )
        lines.append(
            f"cleanup: removed {removed} paired device(s), rejected {rejected} pending "
            "request(s) this run created"
        )
        lines += [f"cleanup: could not {f}" for f in failures]
    finally:
        await conn.close()
    return lines
