"""ConnectParams schema (§1.4) with ajv-style error messages.

Only the prefix `invalid connect params:` is stable across releases (K17); the detail text
mimics ajv (first failing keyword, instance path) so logs read like OpenClaw's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reference_gateway.profiles import Profile


class SchemaError(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"at {path or 'root'}: {message}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _string(path: str, v: Any, *, non_empty: bool = False) -> None:
    if not isinstance(v, str):
        raise SchemaError(path, "must be string")
    if non_empty and len(v) < 1:
        raise SchemaError(path, "must NOT have fewer than 1 characters")


def _int(path: str, v: Any, minimum: int) -> None:
    if not _is_int(v):
        raise SchemaError(path, "must be integer")
    if v < minimum:
        raise SchemaError(path, f"must be >= {minimum}")


def _string_array(path: str, v: Any) -> None:
    if not isinstance(v, list):
        raise SchemaError(path, "must be array")
    for i, item in enumerate(v):
        _string(f"{path}/{i}", item)


Check = Callable[[str, Any], None]


def _object(
    path: str,
    v: Any,
    fields: Mapping[str, Check],
    required: tuple[str, ...],
    *,
    extra_any: tuple[str, ...] = (),
) -> None:
    if not isinstance(v, dict):
        raise SchemaError(path, "must be object")
    for name in required:
        if name not in v:
            raise SchemaError(path, f"must have required property '{name}'")
    allowed = set(fields) | set(extra_any)
    if any(k not in allowed for k in v):
        raise SchemaError(path, "must NOT have additional properties")
    for name, check in fields.items():
        if name in v:
            check(f"{path}/{name}", v[name])


def _enum(profile: Profile, values: tuple[str, ...]) -> Check:
    def check(path: str, v: Any) -> None:
        if v in values:
            return
        if profile.enum_error_style == "anyOf-const":
            raise SchemaError(
                path, f"must be equal to constant; at {path}: must match a schema in anyOf"
            )
        raise SchemaError(path, "must be equal to one of the allowed values")

    return check


def _non_empty(path: str, v: Any) -> None:
    _string(path, v, non_empty=True)


def _plain(path: str, v: Any) -> None:
    _string(path, v)


def _permissions(path: str, v: Any) -> None:
    if not isinstance(v, dict):
        raise SchemaError(path, "must be object")
    for key, value in v.items():
        if not isinstance(value, bool):
            raise SchemaError(f"{path}/{key}", "must be boolean")


def _device(path: str, v: Any) -> None:
    fields: dict[str, Check] = {
        "id": _non_empty,
        "publicKey": _non_empty,
        "signature": _non_empty,
        "signedAt": lambda p, x: _int(p, x, 0),
        "nonce": _non_empty,
    }
    # K10: nonce is required by the schema; a blank one is a device-auth error instead.
    _object(path, v, fields, ("id", "publicKey", "signature", "signedAt", "nonce"))


def _auth(path: str, v: Any) -> None:
    fields: dict[str, Check] = {
        "token": _plain,
        "bootstrapToken": _plain,
        "deviceToken": _plain,
        "password": _plain,
    }
    _object(path, v, fields, ())


@dataclass(frozen=True)
class ConnectParams:
    raw: dict[str, Any]
    min_protocol: int
    max_protocol: int
    client: dict[str, Any]
    role: str
    scopes: list[str]
    device: dict[str, Any] | None
    auth: dict[str, Any] | None

    @property
    def client_id(self) -> str:
        return str(self.client["id"])

    @property
    def client_mode(self) -> str:
        return str(self.client["mode"])


def validate_connect_params(params: Any, profile: Profile) -> ConnectParams:
    """Validate and normalise; raises SchemaError with the ajv-like text."""
    client_fields: dict[str, Check] = {
        "id": _enum(profile, profile.client_ids),
        "displayName": _non_empty,
        "version": _non_empty,
        "platform": _non_empty,
        "deviceFamily": _non_empty,
        "modelIdentifier": _non_empty,
        "mode": _enum(profile, profile.client_modes),
        "instanceId": _non_empty,
    }

    def client_check(path: str, v: Any) -> None:
        _object(
            path,
            v,
            client_fields,
            ("id", "version", "platform", "mode"),
            extra_any=profile.extra_client_fields,
        )

    def device_check(path: str, v: Any) -> None:
        # A blank-after-trim nonce must reach the device checks (§2 row 3), so only an
        # empty string is a schema error here, as the minLength keyword would make it.
        _device(path, v)

    fields: dict[str, Check] = {
        "minProtocol": lambda p, x: _int(p, x, 1),
        "maxProtocol": lambda p, x: _int(p, x, 1),
        "client": client_check,
        "caps": _string_array,
        "commands": _string_array,
        "permissions": _permissions,
        "pathEnv": _plain,
        "role": _non_empty,
        "scopes": _string_array,
        "device": device_check,
        "auth": _auth,
        "locale": _plain,
        "userAgent": _plain,
    }
    _object(
        "", params, fields, ("minProtocol", "maxProtocol", "client"), extra_any=profile.extra_params
    )
    assert isinstance(params, dict)
    return ConnectParams(
        raw=params,
        min_protocol=params["minProtocol"],
        max_protocol=params["maxProtocol"],
        client=params["client"],
        role=params.get("role", "operator"),
        scopes=list(params.get("scopes") or []),
        device=params.get("device"),
        auth=params.get("auth"),
    )
