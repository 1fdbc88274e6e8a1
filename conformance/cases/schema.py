"""The shape of the case files, CLI case files and baselines, declared once as pydantic models.

These models are the validation and JSON Schema layer only; the loader turns a validated case
into the frozen runtime `Case` (conformance.cases.model). Rules that join several fields (an
accepted case states its scopes, a role origin needs allowed origins, ...) are in
conformance.cases.rules; matrices are expanded by conformance.cases.expand before a case is
validated, so a file's fragments (defaults, axis values, rule merges, and cases that lean on
defaults) are validated as *fragments*: the same fields, none required.

`python -m conformance.cases.schema --write` regenerates the JSON Schemas in cases/ that editors
use (`# yaml-language-server: $schema=...` at the top of each YAML file).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
    create_model,
)
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticCustomError

from conformance.cases.gateway import AuthMode
from conformance.cases.model import DeviceState, DeviceTokenUse, FirstFrame, Proof, Secret, Severity
from conformance.versions import is_exact

CASES_SCHEMA = "openclaw-conformance/cases/v1"
BASELINE_SCHEMA = "openclaw-conformance/baseline/v1"
CLI_SCHEMA = "openclaw-conformance/cli-cases/v1"
ID_PATTERN = r"^[a-z0-9][a-z0-9.:_@-]*$"


def _exact_version(value: str) -> str:
    if not is_exact(value):
        raise PydanticCustomError(
            "version", "{value} is not a gateway version like '2026.7.35'", {"value": repr(value)}
        )
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must be a non-empty string")
    return value


CaseId = Annotated[StrictStr, StringConstraints(pattern=ID_PATTERN)]
GatewayVersion = Annotated[StrictStr, AfterValidator(_exact_version), Field(examples=["2026.7.35"])]
NonBlank = Annotated[
    StrictStr, AfterValidator(_not_blank), WithJsonSchema({"type": "string", "pattern": r"\S"})
]
StrList = list[StrictStr]


def _title(model: type) -> str:
    # What an editor shows for a block: "Gateway", whether the file holds all of it or a part.
    return model.__name__.removesuffix("Model").removesuffix("Fragment")


class _Model(BaseModel):
    # Unknown keys are typos; types are never coerced (YAML's `yes` is a bool, "3" a string).
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        model_title_generator=_title,
    )


# Absent fields whose annotation has no None are written `= None`: pydantic does not validate
# defaults, so absent reads as None while an explicit `null` is still refused.


# --- a case ---------------------------------------------------------------------------------


class TrustedProxyModel(_Model):
    """gateway.auth.trustedProxy of a trusted-proxy gateway."""

    user_header: StrictStr = "x-forwarded-user"
    required_headers: StrList = []
    allow_users: StrList = []


class ControlUiModel(_Model):
    """gateway.controlUi."""

    allowed_origins: StrList = []
    """The first one is the origin `connection.origin: allowed` sends to a started gateway."""
    allow_insecure_auth: StrictBool = False
    dangerously_disable_device_auth: StrictBool = False


class GatewayModel(_Model):
    """The gateway config the case needs; equal blocks share one started gateway."""

    auth: AuthMode
    trusted_proxies: StrList = []
    """`loopback`, `remote-peer` (the address the gateway sees for the harness's remote peer),
    or a literal IP/CIDR."""
    trusted_proxy: TrustedProxyModel | None = None
    control_ui: ControlUiModel = ControlUiModel()
    handshake_timeout_ms: Annotated[StrictInt, Field(gt=0)] | None = None
    """The pre-connect timeout the gateway is started with."""


class ConnectionModel(_Model):
    """How the client reaches the gateway."""

    via: Literal["loopback", "remote"] = "loopback"
    origin: StrictStr | None = None
    """`allowed`, `not-allowed`, `gateway`, or a literal origin such as https://host."""
    forwarded_for: StrictStr | None = None
    """The X-Forwarded-For header."""
    headers: dict[StrictStr, StrictStr] = {}
    """Other request headers."""


class ClientModel(_Model):
    """The connect's client; every string is sent as given, even an empty one."""

    id: StrictStr
    mode: StrictStr
    platform: StrictStr | None = "linux"
    """null: not sent."""
    device_family: StrictStr | None = None
    version: StrictStr = "conformance"
    display_name: StrictStr | None = None
    """client.displayName."""
    instance_id: StrictStr | None = None
    """client.instanceId."""
    caps: StrList | None = None
    """The connect's top-level `caps`."""
    locale: StrictStr | None = None
    """The connect's top-level `locale`."""
    user_agent: StrictStr | None = None
    """The connect's top-level `userAgent`."""


class CredentialsModel(_Model):
    """Secrets sent; absent or null: not sent."""

    token: Secret | None = None
    """`right`: the gateway's token; `wrong`: a random value; `gateway-token` /
    `gateway-password`: the gateway's token or password, whatever its auth mode."""
    password: Secret | None = None
    """As `token`, for auth.password (`right`: the gateway's password)."""
    device_token: DeviceTokenUse | None = None
    """`issued`: the token pairing issued to the case's device (device.state paired);
    `wrong`: a random one; `other-device`: one issued to another device paired just before."""


class PairedAsModel(_Model):
    """What a paired device was approved as; absent fields: the case's own."""

    role: StrictStr | None = None
    scopes: StrList = None
    platform: StrictStr | None = None
    device_family: StrictStr | None = None


class DeviceModel(_Model):
    state: DeviceState = DeviceState.NONE
    # absent: as the release's own clients sign (v3 from 2026.2.26, v2 before)
    signature: Literal["v2", "v3"] | None = None
    """The payload version signed."""
    proof: Proof = Proof.VALID
    paired_as: PairedAsModel = None


class ProtocolModel(_Model):
    """The protocol range offered."""

    min: StrictInt
    max: StrictInt


class HandshakeModel(_Model):
    first_frame: FirstFrame = FirstFrame.CONNECT


class ExpectModel(_Model):
    """The outcome: accepted with its scopes, or rejected (error and close code, no response,
    or an HTTP status)."""

    accepted: StrictBool
    scopes: StrList = None
    """The effective scopes of an accepted case, exact set."""
    device_token: StrictBool = None
    auth_method: StrictStr | None = None
    error: StrictStr | None = None
    """error.code of a rejection."""
    details_code: StrictStr | None = None
    """error.details.code; null: none."""
    message: StrictStr | None = None
    """A substring of error.message."""
    details: dict[StrictStr, Any] = {}
    """A subset of error.details."""
    close: StrictInt = None
    """The close code."""
    response: StrictBool = True
    """false: closed without any response."""
    http_status: StrictInt = None
    """The WebSocket upgrade is refused with this status."""
    secondary: list[Literal["device_token"]] = []
    """Primary checks this case demotes to secondary (judged, reported, never failing it)."""


class EraModel(_Model):
    """One era of a deliberately changed behaviour: releases `since` <= v < `until` are judged
    by this era's `expect` (default: the case's own) instead of the case's."""

    since: GatewayVersion | None = None
    """The first release of the era."""
    until: GatewayVersion | None = None
    """The first release after the era."""
    expect: ExpectModel | None = None
    refs: StrList = []
    """The upstream change that opened (or closed) the era."""
    note: StrictStr | None = None
    """What changed, in one line."""
    security: StrictStr | None = None
    """A security-relevant change with no recorded upstream decision: every report flags the
    releases of this era (e.g. a fix undone)."""


class CaseModel(_Model):
    """A handshake case: what the client sends, and the outcome the contract states."""

    id: CaseId
    title: StrictStr | None = None
    severity: Severity
    refs: StrList = []
    tags: StrList = []
    since: GatewayVersion | None = None
    """The first gateway version the case applies to."""
    until: GatewayVersion | None = None
    """The last gateway version the case applies to."""
    gateway: GatewayModel
    connection: ConnectionModel = ConnectionModel()
    client: ClientModel
    role: StrictStr = "operator"
    scopes: StrList = None
    """Requested scopes, in this order; absent: the field is not sent."""
    credentials: CredentialsModel = CredentialsModel()
    device: DeviceModel = DeviceModel()
    protocol: ProtocolModel = ProtocolModel(min=3, max=4)
    handshake: HandshakeModel = HandshakeModel()
    expect: ExpectModel
    """The current contract; releases inside one of `eras` are judged by that era instead."""
    eras: list[EraModel] = []


# --- fragments ------------------------------------------------------------------------------


@functools.cache
def fragment(model: type[_Model]) -> type[_Model]:
    """`model` with no field required: a piece of a case that defaults, matrices and rules
    merge into whole ones. Nested models become fragments too; types and values are checked
    as in `model`."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = _fragment_type(info.annotation)
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        fields[name] = (annotation, Field(None, alias=info.alias, description=info.description))
    name = model.__name__.removesuffix("Model") + "Fragment"
    # A fragment copies its fields' descriptions from the whole model: reading attribute
    # docstrings again (the source and AST of a class made at run time) was 2/3 of this
    # module's import time.
    config = ConfigDict(_Model.model_config, use_attribute_docstrings=False)  # type: ignore[misc]
    return create_model(name, __config__=config, __doc__=model.__doc__, **fields)


def _fragment_type(tp: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, _Model):
        return fragment(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return Union[tuple(_fragment_type(a) for a in get_args(tp))]  # noqa: UP007
    return tp


CaseFragment = fragment(CaseModel)


# --- a case file ----------------------------------------------------------------------------


class RuleModel(_Model):
    """Merged into every combination its `when` matches, in order (general rules first)."""

    when: dict[StrictStr, StrictStr | StrList]
    """axis -> value name, or a list of value names."""
    merge: CaseFragment
    note: StrictStr | None = None


AxisValues = Annotated[dict[StrictStr, CaseFragment], Field(min_length=1)]


class MatrixModel(_Model):
    """One case per combination of its axes' values."""

    id: StrictStr
    """A template naming every axis: `{auth}.{locality}.{device}`."""
    axes: Annotated[dict[StrictStr, AxisValues], Field(min_length=1)]
    """axis -> {value name: fragment}; fragments are merged in axis order."""
    rules: list[RuleModel] = []
    base: CaseFragment = None
    """Merged under every combination."""


class CaseFileModel(_Model):
    """A file of handshake cases (cases/*.yaml)."""

    schema_: Literal[CASES_SCHEMA] = Field(alias="schema")
    defaults: CaseFragment = None
    """Merged under every case of this file."""
    matrices: list[MatrixModel] | None = None
    cases: list[CaseFragment] | None = None


# --- CLI cases ------------------------------------------------------------------------------


class CliExpectModel(_Model):
    exit_code: StrictInt | None = None
    output_excludes: StrList = []
    """Strings the command's output must not contain."""


class CliCaseModel(_Model):
    """A command of the release's own `openclaw` CLI, run against the gateway under test."""

    id: CaseId
    title: StrictStr | None = None
    severity: Severity
    refs: StrList = []
    gateway: GatewayModel
    command: StrList
    """After `openclaw`; {token}, {password}, {port} are filled in."""
    expect: CliExpectModel


CliCaseFragment = fragment(CliCaseModel)


class CliCaseFileModel(_Model):
    """A file of CLI cases (cases/cli/*.yaml)."""

    schema_: Literal[CLI_SCHEMA] = Field(alias="schema")
    defaults: CliCaseFragment = None
    cases: list[CliCaseFragment] | None = None


# --- baselines ------------------------------------------------------------------------------


class BaselineEntryModel(_Model):
    id: StrictStr
    """The id of a loaded case."""
    reason: NonBlank
    refs: StrList = []


class BaselineFileModel(_Model):
    """The known departures of a target from the contract (cases/baselines/*.yaml): strict
    xfail."""

    schema_: Literal[BASELINE_SCHEMA] = Field(alias="schema")
    target: StrictStr
    extends: StrictStr | None = None
    """Another baseline (relative to this file) whose entries come first."""
    notes: Any = None
    entries: list[BaselineEntryModel]


# --- JSON Schema ----------------------------------------------------------------------------


class _Generator(GenerateJsonSchema):
    def default_schema(self, schema: Any) -> Any:
        # `= None` on a field that refuses null means "absent", not a default to suggest.
        absent = "default" in schema and schema["default"] is None
        if absent and schema["schema"]["type"] != "nullable":
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


SCHEMA_FILES: dict[str, type[_Model]] = {
    "schema.json": CaseFileModel,
    "cli.schema.json": CliCaseFileModel,
    "baseline.schema.json": BaselineFileModel,
}


def json_schema(model: type[_Model]) -> dict[str, Any]:
    body = model.model_json_schema(by_alias=True, schema_generator=_Generator)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}


def json_schema_text(model: type[_Model]) -> str:
    return json.dumps(json_schema(model), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.cases.schema",
        description="Print a JSON Schema of the case files, or write all of them.",
    )
    parser.add_argument("file", nargs="?", choices=sorted(SCHEMA_FILES), default="schema.json")
    parser.add_argument(
        "--write", metavar="DIR", nargs="?", const="cases", help="write every schema into DIR"
    )
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(json_schema_text(SCHEMA_FILES[args.file]))
        return 0
    for name, model in SCHEMA_FILES.items():
        (Path(args.write) / name).write_text(json_schema_text(model), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
