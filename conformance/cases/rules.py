"""Rules of a case that join several fields, checked on a case pydantic has validated: each
yields `(loc, what is wrong)` so the loader reports them with the others, at their lines.

A JSON Schema cannot say these simply; they keep a case from asking for something the harness
cannot do (a device token without pairing) or from stating half an outcome."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.cases.errors import Loc
from conformance.cases.model import DeviceState, DeviceTokenUse, FirstFrame, Proof, Secret
from conformance.cases.needs import NOT_ALLOWED_ORIGIN
from conformance.cases.schema import CaseModel, ExpectModel
from conformance.versions import Version

Problem = tuple[Loc, str]

_REJECTION_ONLY = ("error", "details_code", "message", "details", "close", "response")
_ACCEPTANCE_ONLY = ("scopes", "device_token", "auth_method")


def case_problems(case: CaseModel) -> Iterator[Problem]:
    yield from expect_problems(case.expect)
    yield from era_problems(case)
    yield from device_problems(case)
    yield from credential_problems(case)
    yield from origin_problems(case)
    if (
        case.handshake.first_frame is FirstFrame.SILENT
        and case.gateway.handshake_timeout_ms is None
    ):
        yield (
            ("handshake", "first_frame"),
            "'silent' needs gateway.handshake_timeout_ms, so the case waits a bounded time",
        )


def era_problems(case: CaseModel) -> Iterator[Problem]:
    """Eras are windows inside the case's own since/until, in order, not overlapping, each
    saying something (an expectation, or a security flag)."""
    previous_until: Version | None = None
    for i, era in enumerate(case.eras):
        loc: Loc = ("eras", i)
        since = Version.parse(era.since) if era.since else None
        until = Version.parse(era.until) if era.until else None
        if since is None and until is None:
            yield loc, "an era needs since or until (else it is the whole contract: use expect)"
        if since and until and not since.release < until.release:
            yield loc, f"since {era.since} is not before until {era.until}"
        if i and (since is None or (previous_until and since.release < previous_until.release)):
            yield loc, "eras must be in release order and must not overlap"
        if era.expect is None and era.security is None:
            yield loc, "an era states an expect (the contract of its time) or a security flag"
        if era.expect is not None:
            for sub, text in expect_problems(era.expect):
                yield (*loc, *sub), text
        if not era.refs and era.expect is not None:
            yield (*loc, "refs"), "an era names the upstream change it follows (refs)"
        previous_until = until
        if until is None and i < len(case.eras) - 1:
            yield loc, "only the last era may be open-ended (no until)"


def expect_problems(expect: ExpectModel) -> Iterator[Problem]:
    given = expect.model_fields_set
    if expect.accepted:
        for key in sorted(given & {*_REJECTION_ONLY, "http_status"}):
            yield ("expect", key), "only for rejected cases"
        if "scopes" not in given:
            yield ("expect",), "an accepted case must state its effective scopes"
        return
    for key in sorted(given & set(_ACCEPTANCE_ONLY)):
        yield ("expect", key), "only for accepted cases"
    if "http_status" in given:
        for key in sorted(given - {"accepted", "http_status", *_ACCEPTANCE_ONLY}):
            yield (
                ("expect", key),
                "not with http_status (the upgrade is refused before any WebSocket traffic)",
            )
        return
    if expect.response and "error" not in given:
        yield ("expect",), "a rejection with a response must state its error code"
    if not expect.response and given & {"error", "details_code", "message", "details"}:
        yield ("expect",), "response false cannot state an error"
    if "close" not in given:
        yield ("expect",), "a rejection must state its close code"


def device_problems(case: CaseModel) -> Iterator[Problem]:
    device = case.device
    if device.paired_as is not None and device.state is not DeviceState.PAIRED:
        yield ("device", "paired_as"), "only for device.state 'paired'"
    if device.state is DeviceState.NONE and (
        device.proof is not Proof.VALID or "signature" in device.model_fields_set
    ):
        yield ("device",), "proof/signature need device.state 'unpaired' or 'paired'"
    use = case.credentials.device_token
    if use is DeviceTokenUse.OTHER_DEVICE:
        if device.state is DeviceState.NONE:
            yield (
                ("credentials", "device_token"),
                "'other-device' needs device.state 'unpaired' or 'paired' (a device to send it)",
            )
    elif use is not None and device.state is not DeviceState.PAIRED:
        yield (
            ("credentials", "device_token"),
            "needs device.state 'paired' (the token comes from pairing)",
        )


_GATEWAY_SECRET = {Secret.GATEWAY_TOKEN: "token", Secret.GATEWAY_PASSWORD: "password"}


def credential_problems(case: CaseModel) -> Iterator[Problem]:
    """`gateway-token` / `gateway-password` send a secret the gateway must have."""
    for name in ("token", "password"):
        use = getattr(case.credentials, name)
        mode = _GATEWAY_SECRET.get(use)
        if mode is not None and case.gateway.auth != mode:
            yield (
                ("credentials", name),
                f"'{use.value}' needs gateway.auth {mode} (only that gateway has a {mode})",
            )


def origin_problems(case: CaseModel) -> Iterator[Problem]:
    """An Origin is a role (allowed, not-allowed, gateway) or a literal URL origin. A role must
    be playable on the gateways the harness starts, whose allowed origins the case lists."""
    origin = case.connection.origin
    allowed = case.gateway.control_ui.allowed_origins
    loc = ("connection", "origin")
    if origin is None or origin == "gateway":
        return
    if origin == "allowed":
        if not allowed:
            yield (
                loc,
                "'allowed' needs gateway.control_ui.allowed_origins to list the origin a "
                "started gateway allows",
            )
    elif origin == "not-allowed":
        if NOT_ALLOWED_ORIGIN in allowed:
            yield (
                loc,
                f"'not-allowed', but gateway.control_ui.allowed_origins lists {NOT_ALLOWED_ORIGIN}",
            )
    elif "://" not in origin:
        yield (
            loc,
            f"{origin!r} is not allowed, not-allowed, gateway or a literal origin such as "
            "https://host",
        )
