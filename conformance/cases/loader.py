"""Loading case files: YAML to `Case` objects, with errors that name the file, the line and the
problem, so a typo in a matrix never silently drops or weakens a case.

Usage: `load_cases([path_or_folder, ...]) -> list[Case]`; `packaged_case_paths()` gives the
packaged matrix. Every problem raises `CaseFileError("file:line: what is wrong")`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from conformance.cases.gateway import AUTH_MODES, GatewaySpec
from conformance.cases.model import (
    Case,
    ClientSpec,
    ConnectionSpec,
    Credentials,
    DeviceSpec,
    DeviceState,
    DeviceTokenUse,
    Expectation,
    FirstFrame,
    PairedAs,
    Proof,
    Secret,
    Severity,
)
from conformance.cases.needs import NOT_ALLOWED_ORIGIN
from conformance.versions import is_exact

CASES_SCHEMA = "openclaw-conformance/cases/v1"
BASELINE_SCHEMA = "openclaw-conformance/baseline/v1"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9.:_@-]*$")


class CaseFileError(ValueError):
    """A case or baseline file is malformed; the message starts with `file:line:`."""


# --- YAML with line numbers -----------------------------------------------------------------


class _LineDict(dict):
    line: int = 0
    key_lines: dict[Any, int]


class _LineList(list):
    line: int = 0


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when present: 5x faster
    pass


class _DuplicateKey(Exception):
    def __init__(self, line: int, key: Any) -> None:
        self.line, self.key = line, key


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    # A key written twice is a mistake; a key that overrides one brought in by `<<:` is not.
    own_keys: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in own_keys:
            raise _DuplicateKey(key_node.start_mark.line + 1, key)
        own_keys.add(key)
    loader.flatten_mapping(node)
    out = _LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    out = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        loader = _Loader(text)
        loader.name = str(path)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _DuplicateKey as exc:
        raise CaseFileError(f"{path}:{exc.line}: duplicate key {exc.key!r}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        where = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            where = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise CaseFileError(f"{path}:{line}: invalid YAML: {exc.problem or exc}{where}") from exc
    except yaml.YAMLError as exc:
        raise CaseFileError(f"{path}: invalid YAML: {exc}") from exc


def _line_of(obj: Any, key: Any = None, default: int = 0) -> int:
    if isinstance(obj, _LineDict) and key is not None and key in obj.key_lines:
        return obj.key_lines[key]
    return getattr(obj, "line", default)


# --- merging --------------------------------------------------------------------------------

_APPENDED = ("refs", "tags")


def deep_merge(base: Any, over: Any, *, top: bool = False) -> Any:
    """Mappings merge key by key; everything else is replaced. At the case's top level, `refs`
    and `tags` accumulate, so a rule can add a reference without repeating the others."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    out = _LineDict(base)
    out.line = getattr(over, "line", getattr(base, "line", 0))
    out.key_lines = {**getattr(base, "key_lines", {}), **getattr(over, "key_lines", {})}
    for key, value in over.items():
        if top and key in _APPENDED and isinstance(out.get(key), list) and isinstance(value, list):
            merged = _LineList([*out[key], *(v for v in value if v not in out[key])])
            merged.line = getattr(value, "line", 0)
            out[key] = merged
        elif key in out:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# --- validation -----------------------------------------------------------------------------


@dataclass
class _Ctx:
    """Where we are, for error messages."""

    path: Path
    line: int
    what: str  # e.g. "case 'token.loopback...'" or "matrix #1, combination auth=token,..."

    def fail(self, msg: str, line: int | None = None) -> CaseFileError:
        return CaseFileError(f"{self.path}:{line or self.line}: {self.what}: {msg}")


def _expect_keys(ctx: _Ctx, obj: Any, where: str, allowed: Iterable[str], required=()) -> dict:
    prefix = f"{where}: " if where else ""
    if not isinstance(obj, dict):
        raise ctx.fail(f"{prefix}must be a mapping, got {type(obj).__name__}", _line_of(obj))
    unknown = sorted(set(obj) - set(allowed), key=str)
    if unknown:
        raise ctx.fail(
            f"{prefix}unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})",
            _line_of(obj, unknown[0]),
        )
    for key in required:
        if key not in obj:
            raise ctx.fail(f"{prefix}missing required field {key!r}", _line_of(obj))
    return obj


def _str_list(ctx: _Ctx, obj: Any, where: str, line: int) -> tuple[str, ...]:
    if not isinstance(obj, list) or not all(isinstance(v, str) for v in obj):
        raise ctx.fail(f"{where}: must be a list of strings", line)
    return tuple(obj)


def _enum(ctx: _Ctx, enum_cls: Any, value: Any, where: str, line: int) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_cls)
        raise ctx.fail(f"{where}: {value!r} is not one of {allowed}", line) from None


def _build_case(raw: dict, ctx: _Ctx) -> Case:
    case_fields = [
        "id",
        "title",
        "severity",
        "refs",
        "tags",
        "since",
        "until",
        "gateway",
        "connection",
        "client",
        "role",
        "scopes",
        "credentials",
        "device",
        "protocol",
        "handshake",
        "expect",
    ]
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        ctx.what = f"case {raw['id']!r}"
    _expect_keys(
        ctx, raw, "", case_fields, required=("id", "severity", "gateway", "client", "expect")
    )
    line = lambda key: _line_of(raw, key, ctx.line)  # noqa: E731

    case_id = raw["id"]
    if not isinstance(case_id, str) or not ID_RE.match(case_id):
        raise ctx.fail(f"id: {case_id!r} must match {ID_RE.pattern}", line("id"))
    ctx.what = f"case {case_id!r}"
    severity = _enum(ctx, Severity, raw["severity"], "severity", line("severity"))
    refs = _str_list(ctx, raw.get("refs", []), "refs", line("refs"))
    tags = _str_list(ctx, raw.get("tags", []), "tags", line("tags"))
    for key in ("since", "until"):
        v = raw.get(key)
        if v is not None and not (isinstance(v, str) and is_exact(v)):
            raise ctx.fail(f"{key}: {v!r} is not a gateway version like '2026.7.35'", line(key))

    gw = _expect_keys(
        ctx,
        raw["gateway"],
        "gateway",
        ("auth", "trusted_proxies", "trusted_proxy", "control_ui", "handshake_timeout_ms"),
        required=("auth",),
    )
    if gw["auth"] not in AUTH_MODES:
        raise ctx.fail(
            f"gateway.auth: {gw['auth']!r} is not one of {AUTH_MODES}", _line_of(gw, "auth")
        )
    if "trusted_proxies" in gw:
        _str_list(
            ctx, gw["trusted_proxies"], "gateway.trusted_proxies", _line_of(gw, "trusted_proxies")
        )
    if "trusted_proxy" in gw:
        _expect_keys(
            ctx,
            gw["trusted_proxy"],
            "gateway.trusted_proxy",
            ("user_header", "required_headers", "allow_users"),
        )
    if "control_ui" in gw:
        _expect_keys(
            ctx,
            gw["control_ui"],
            "gateway.control_ui",
            ("allowed_origins", "allow_insecure_auth", "dangerously_disable_device_auth"),
        )
    hs = gw.get("handshake_timeout_ms")
    if hs is not None and (not isinstance(hs, int) or isinstance(hs, bool) or hs <= 0):
        raise ctx.fail(
            "gateway.handshake_timeout_ms: must be a positive integer",
            _line_of(gw, "handshake_timeout_ms"),
        )
    gateway = GatewaySpec.from_mapping(gw)

    conn_raw = _expect_keys(
        ctx, raw.get("connection", {}), "connection", ("via", "origin", "forwarded_for", "headers")
    )
    via = conn_raw.get("via", "loopback")
    if via not in ("loopback", "remote"):
        raise ctx.fail(
            f"connection.via: {via!r} is not 'loopback' or 'remote'", _line_of(conn_raw, "via")
        )
    headers = conn_raw.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ctx.fail(
            "connection.headers: must map header names to strings", _line_of(conn_raw, "headers")
        )
    for key in ("origin", "forwarded_for"):
        if conn_raw.get(key) is not None and not isinstance(conn_raw[key], str):
            raise ctx.fail(f"connection.{key}: must be a string", _line_of(conn_raw, key))
    origin = conn_raw.get("origin")
    if origin is not None:
        _check_origin(ctx, origin, gateway, _line_of(conn_raw, "origin"))
    connection = ConnectionSpec(
        via=via,
        origin=origin,
        forwarded_for=conn_raw.get("forwarded_for"),
        headers=tuple(sorted(headers.items())),
    )

    cl = _expect_keys(
        ctx,
        raw["client"],
        "client",
        ("id", "mode", "platform", "device_family", "version"),
        required=("id", "mode"),
    )
    for key, value in cl.items():
        if value is not None and not isinstance(value, str):
            raise ctx.fail(f"client.{key}: must be a string", _line_of(cl, key))
    client = ClientSpec(
        id=cl["id"],
        mode=cl["mode"],
        platform=cl.get("platform", "linux"),
        device_family=cl.get("device_family"),
        version=cl.get("version", "conformance"),
    )

    role = raw.get("role", "operator")
    if not isinstance(role, str):
        raise ctx.fail("role: must be a string", line("role"))
    scopes = None
    if "scopes" in raw:
        scopes = _str_list(ctx, raw["scopes"], "scopes", line("scopes"))

    cr_raw = _expect_keys(
        ctx, raw.get("credentials", {}), "credentials", ("token", "password", "device_token")
    )
    cr_lines = getattr(cr_raw, "key_lines", {})
    # null means "not sent", so a matrix fragment can withdraw a credential set by defaults
    cr = {k: v for k, v in cr_raw.items() if v is not None}
    credentials = Credentials(
        token=_enum(ctx, Secret, cr["token"], "credentials.token", cr_lines.get("token", 0))
        if "token" in cr
        else None,
        password=_enum(
            ctx, Secret, cr["password"], "credentials.password", cr_lines.get("password", 0)
        )
        if "password" in cr
        else None,
        device_token=_enum(
            ctx,
            DeviceTokenUse,
            cr["device_token"],
            "credentials.device_token",
            cr_lines.get("device_token", 0),
        )
        if "device_token" in cr
        else None,
    )

    dv = _expect_keys(
        ctx, raw.get("device", {}), "device", ("state", "signature", "paired_as", "proof")
    )
    state = _enum(ctx, DeviceState, dv.get("state", "none"), "device.state", _line_of(dv, "state"))
    signature = dv.get("signature", "v3")
    if signature not in ("v2", "v3"):
        raise ctx.fail(
            f"device.signature: {signature!r} is not 'v2' or 'v3'", _line_of(dv, "signature")
        )
    proof = _enum(ctx, Proof, dv.get("proof", "valid"), "device.proof", _line_of(dv, "proof"))
    paired_as = None
    if "paired_as" in dv:
        if state is not DeviceState.PAIRED:
            raise ctx.fail(
                "device.paired_as: only for device.state 'paired'", _line_of(dv, "paired_as")
            )
        pa = _expect_keys(
            ctx,
            dv["paired_as"],
            "device.paired_as",
            ("role", "scopes", "platform", "device_family"),
        )
        paired_as = PairedAs(
            role=pa.get("role", role),
            scopes=_str_list(
                ctx,
                pa.get("scopes", list(scopes or ())),
                "device.paired_as.scopes",
                _line_of(pa, "scopes"),
            ),
            platform=pa.get("platform", client.platform),
            device_family=pa.get("device_family", client.device_family),
        )
    elif state is DeviceState.PAIRED:
        paired_as = PairedAs(
            role=role,
            scopes=tuple(scopes or ()),
            platform=client.platform,
            device_family=client.device_family,
        )
    if state is DeviceState.NONE and (proof is not Proof.VALID or "signature" in dv):
        raise ctx.fail(
            "device: proof/signature need device.state 'unpaired' or 'paired'", _line_of(dv)
        )
    if credentials.device_token is not None and state is not DeviceState.PAIRED:
        raise ctx.fail(
            "credentials.device_token: needs device.state 'paired' (the token comes from pairing)",
            cr_lines.get("device_token", 0),
        )
    device = DeviceSpec(state=state, signature=signature, proof=proof, paired_as=paired_as)

    protocol = (3, 4)
    if "protocol" in raw:
        pr = _expect_keys(ctx, raw["protocol"], "protocol", ("min", "max"), ("min", "max"))
        if not all(isinstance(pr[k], int) and not isinstance(pr[k], bool) for k in ("min", "max")):
            raise ctx.fail("protocol: min and max must be integers", line("protocol"))
        protocol = (pr["min"], pr["max"])

    hs_raw = _expect_keys(ctx, raw.get("handshake", {}), "handshake", ("first_frame",))
    first_frame = _enum(
        ctx,
        FirstFrame,
        hs_raw.get("first_frame", "connect"),
        "handshake.first_frame",
        _line_of(hs_raw, "first_frame"),
    )
    if first_frame is FirstFrame.SILENT and gateway.handshake_timeout_ms is None:
        raise ctx.fail(
            "handshake.first_frame 'silent' needs gateway.handshake_timeout_ms, so the "
            "case waits a bounded time",
            _line_of(hs_raw, "first_frame"),
        )

    expect = _build_expectation(ctx, raw["expect"])
    return Case(
        id=case_id,
        title=raw.get("title"),
        severity=severity,
        refs=refs,
        tags=tags,
        since=raw.get("since"),
        until=raw.get("until"),
        gateway=gateway,
        connection=connection,
        client=client,
        role=role,
        scopes=scopes,
        credentials=credentials,
        device=device,
        protocol=protocol,
        first_frame=first_frame,
        expect=expect,
        source=f"{ctx.path}:{_line_of(raw, None, ctx.line)}",
    )


def _build_expectation(ctx: _Ctx, ex: Any) -> Expectation:
    allowed = (
        "accepted",
        "scopes",
        "device_token",
        "auth_method",
        "error",
        "details_code",
        "message",
        "details",
        "close",
        "response",
        "http_status",
    )
    _expect_keys(ctx, ex, "expect", allowed, required=("accepted",))
    line = lambda key: _line_of(ex, key, ctx.line)  # noqa: E731
    if not isinstance(ex["accepted"], bool):
        raise ctx.fail("expect.accepted: must be true or false", line("accepted"))
    if ex["accepted"]:
        stray = sorted(
            set(ex)
            & {"error", "details_code", "message", "details", "close", "response", "http_status"}
        )
        if stray:
            raise ctx.fail(f"expect.{stray[0]}: only for rejected cases", line(stray[0]))
        if "scopes" not in ex:
            raise ctx.fail("expect: an accepted case must state its effective scopes", _line_of(ex))
        scopes = _str_list(ctx, ex["scopes"], "expect.scopes", line("scopes"))
        if "device_token" in ex and not isinstance(ex["device_token"], bool):
            raise ctx.fail("expect.device_token: must be true or false", line("device_token"))
        return Expectation(
            accepted=True,
            scopes=frozenset(scopes),
            device_token=ex.get("device_token"),
            auth_method=ex.get("auth_method"),
        )
    stray = sorted(set(ex) & {"scopes", "device_token", "auth_method"})
    if stray:
        raise ctx.fail(f"expect.{stray[0]}: only for accepted cases", line(stray[0]))
    if "http_status" in ex:
        extra = sorted(set(ex) - {"accepted", "http_status"})
        if extra:
            raise ctx.fail(
                f"expect.{extra[0]}: not with http_status (the upgrade is refused "
                "before any WebSocket traffic)",
                line(extra[0]),
            )
        if not isinstance(ex["http_status"], int):
            raise ctx.fail("expect.http_status: must be an integer", line("http_status"))
        return Expectation(accepted=False, http_status=ex["http_status"], response=False)
    response = ex.get("response", True)
    if not isinstance(response, bool):
        raise ctx.fail("expect.response: must be true or false", line("response"))
    if response and "error" not in ex:
        raise ctx.fail(
            "expect: a rejection with a response must state its error code", _line_of(ex)
        )
    if not response and {"error", "details_code", "message", "details"} & set(ex):
        raise ctx.fail("expect: response false cannot state an error", _line_of(ex))
    if "close" not in ex:
        raise ctx.fail("expect: a rejection must state its close code", _line_of(ex))
    if not isinstance(ex["close"], int):
        raise ctx.fail("expect.close: must be an integer close code", line("close"))
    details = ex.get("details", {})
    if not isinstance(details, dict):
        raise ctx.fail("expect.details: must be a mapping", line("details"))
    return Expectation(
        accepted=False,
        error=ex.get("error"),
        details_code=ex.get("details_code"),
        details_code_given="details_code" in ex,
        message=ex.get("message"),
        details=tuple(sorted(details.items())),
        close=ex["close"],
        response=response,
    )


# --- files ----------------------------------------------------------------------------------


def _expand_matrix(
    path: Path, index: int, matrix: Any, defaults: dict
) -> Iterator[tuple[dict, _Ctx]]:
    ctx = _Ctx(path, _line_of(matrix), f"matrix #{index + 1}")
    _expect_keys(ctx, matrix, "matrix", ("id", "axes", "rules", "base"), required=("id", "axes"))
    axes = matrix["axes"]
    if not isinstance(axes, dict) or not axes:
        raise ctx.fail(
            "axes: must be a non-empty mapping of axis -> {value: fragment}",
            _line_of(matrix, "axes"),
        )
    for axis, values in axes.items():
        if not isinstance(values, dict) or not values:
            raise ctx.fail(
                f"axes.{axis}: must map value names to case fragments", _line_of(axes, axis)
            )
        for name, frag in values.items():
            if not isinstance(frag, dict):
                raise ctx.fail(
                    f"axes.{axis}.{name}: must be a mapping (a case fragment)",
                    _line_of(values, name),
                )
    template = matrix["id"]
    try:
        template.format(**{a: "x" for a in axes})
    except (KeyError, IndexError, AttributeError, ValueError) as exc:
        raise ctx.fail(
            f"id: template {template!r} names an unknown axis: {exc}", _line_of(matrix, "id")
        ) from None
    rules = matrix.get("rules", [])
    if not isinstance(rules, list):
        raise ctx.fail("rules: must be a list", _line_of(matrix, "rules"))
    for rule in rules:
        rctx = _Ctx(path, _line_of(rule), ctx.what)
        _expect_keys(rctx, rule, "rule", ("when", "merge", "note"), required=("when", "merge"))
        when = rule["when"]
        if not isinstance(when, dict):
            raise rctx.fail("rule.when: must map axes to value names")
        for axis, wanted in when.items():
            if axis not in axes:
                raise rctx.fail(
                    f"rule.when: unknown axis {axis!r} (axes: {', '.join(axes)})",
                    _line_of(when, axis),
                )
            for v in wanted if isinstance(wanted, list) else [wanted]:
                if v not in axes[axis]:
                    raise rctx.fail(
                        f"rule.when.{axis}: unknown value {v!r} (values: {', '.join(axes[axis])})",
                        _line_of(when, axis),
                    )
        if not isinstance(rule["merge"], dict):
            raise rctx.fail("rule.merge: must be a mapping (a case fragment)")
    base = matrix.get("base", {})
    for combo in itertools.product(*(list(v.items()) for v in axes.values())):
        chosen = dict(zip(axes, (name for name, _ in combo), strict=True))
        raw = deep_merge(defaults, base, top=True)
        for _, frag in combo:
            raw = deep_merge(raw, frag, top=True)
        for rule in rules:
            if all(
                chosen[a] in (w if isinstance(w, list) else [w]) for a, w in rule["when"].items()
            ):
                raw = deep_merge(raw, rule["merge"], top=True)
        raw = deep_merge(raw, {"id": template.format(**chosen)})
        raw.line = ctx.line
        combo_what = ", ".join(f"{a}={v}" for a, v in chosen.items())
        yield raw, _Ctx(path, ctx.line, f"matrix #{index + 1} ({combo_what})")


def load_file(path: Path) -> list[Case]:
    data = _read_yaml(path)
    ctx = _Ctx(path, 1, "file")
    if data is None:
        raise ctx.fail("empty file")
    _expect_keys(
        ctx, data, "file", ("schema", "defaults", "matrices", "cases"), required=("schema",)
    )
    if data["schema"] != CASES_SCHEMA:
        raise ctx.fail(
            f"schema: expected {CASES_SCHEMA!r}, got {data['schema']!r}", _line_of(data, "schema")
        )
    defaults = data.get("defaults", _LineDict())
    if not isinstance(defaults, dict):
        raise ctx.fail("defaults: must be a mapping", _line_of(data, "defaults"))
    out: list[Case] = []
    for i, matrix in enumerate(data.get("matrices") or []):
        for raw, mctx in _expand_matrix(path, i, matrix, defaults):
            out.append(_build_case(raw, mctx))
    cases = data.get("cases") or []
    if not isinstance(cases, list):
        raise ctx.fail("cases: must be a list", _line_of(data, "cases"))
    for raw in cases:
        cctx = _Ctx(path, _line_of(raw), "case")
        if not isinstance(raw, dict):
            raise cctx.fail("each case must be a mapping")
        merged = deep_merge(defaults, raw, top=True)
        merged.line = _line_of(raw)
        out.append(_build_case(merged, cctx))
    return out


def packaged_paths(package: str = "conformance_cases") -> list[Path]:
    """The YAML files shipped in a package of the case tree (cases, cases.cli, baselines)."""
    root = resources.files(package)
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".yaml"))


def packaged_case_paths() -> list[Path]:
    return packaged_paths("conformance_cases")


def _expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(p.glob("*.yaml"))
        elif p.exists():
            out.append(p)
        else:
            raise CaseFileError(f"{p}: no such case file or folder")
    return out


def load_cases(paths: Iterable[Path | str]) -> list[Case]:
    """All cases of these files/folders; ids must be unique across them."""
    seen: dict[str, str] = {}
    out: list[Case] = []
    for path in _expand_paths(paths):
        for case in load_file(path):
            if case.id in seen:
                raise CaseFileError(
                    f"{case.source}: case {case.id!r}: duplicate id (first defined at "
                    f"{seen[case.id]})"
                )
            seen[case.id] = case.source
            out.append(case)
    return out


# --- baselines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineEntry:
    id: str
    reason: str
    refs: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Baseline:
    target: str
    entries: Mapping[str, BaselineEntry]
    path: Path


def load_baseline(
    path: Path | str, known_ids: Iterable[str] | None = None, _seen: tuple[Path, ...] = ()
) -> Baseline:
    """A baseline; `extends: other.yaml` (relative to this file) takes that file's entries first,
    so a release that departs like its emulation lists only what differs."""
    path = Path(path)
    if path.resolve() in _seen:
        raise CaseFileError(f"{path}: baseline extends itself (through {_seen[-1]})")
    data = _read_yaml(path)
    ctx = _Ctx(path, 1, "baseline")
    if data is None:
        raise ctx.fail("empty file")
    _expect_keys(
        ctx,
        data,
        "baseline",
        ("schema", "target", "entries", "notes", "extends"),
        required=("schema", "target", "entries"),
    )
    if data["schema"] != BASELINE_SCHEMA:
        raise ctx.fail(
            f"schema: expected {BASELINE_SCHEMA!r}, got {data['schema']!r}",
            _line_of(data, "schema"),
        )
    if not isinstance(data["entries"], list):
        raise ctx.fail("entries: must be a list", _line_of(data, "entries"))
    known = set(known_ids) if known_ids is not None else None
    entries: dict[str, BaselineEntry] = {}
    if "extends" in data:
        parent = path.parent / str(data["extends"])
        if not parent.exists():
            raise ctx.fail(f"extends: no such baseline {parent}", _line_of(data, "extends"))
        entries.update(load_baseline(parent, known, (*_seen, path.resolve())).entries)
    own: set[str] = set()
    for raw in data["entries"]:
        ectx = _Ctx(path, _line_of(raw), "baseline entry")
        _expect_keys(ectx, raw, "entry", ("id", "reason", "refs"), required=("id", "reason"))
        if raw["id"] in own:
            raise ectx.fail(f"duplicate entry for {raw['id']!r}")
        own.add(raw["id"])
        if known is not None and raw["id"] not in known:
            raise ectx.fail(f"unknown case id {raw['id']!r} (no loaded case has it)")
        if not isinstance(raw["reason"], str) or not raw["reason"].strip():
            raise ectx.fail("reason: must be a non-empty string", _line_of(raw, "reason"))
        entries[raw["id"]] = BaselineEntry(
            id=raw["id"],
            reason=raw["reason"].strip(),
            refs=_str_list(ectx, raw.get("refs", []), "refs", _line_of(raw, "refs")),
            source=f"{path}:{_line_of(raw)}",
        )
    return Baseline(target=str(data["target"]), entries=entries, path=path)


# --- CLI cases ------------------------------------------------------------------------------

CLI_SCHEMA = "openclaw-conformance/cli-cases/v1"


@dataclass(frozen=True)
class CliCase:
    """A command of the release's own CLI, run against the gateway under test."""

    id: str
    severity: Severity
    gateway: GatewaySpec
    command: tuple[str, ...]  # after `openclaw`; {token}, {password}, {port} are filled in
    exit_code: int | None
    output_excludes: tuple[str, ...]
    title: str | None = None
    refs: tuple[str, ...] = ()
    source: str = ""

    @property
    def axes(self) -> dict[str, str]:
        # The CLI decides for itself whether to attach a device; locality is the gateway host.
        return {
            "auth": self.gateway.auth,
            "locality": "loopback",
            "device": "cli-managed",
            "client": f"openclaw {' '.join(self.command[:2])}",
            "role": "operator",
        }

    def expected_dict(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "output_excludes": list(self.output_excludes)}


def packaged_cli_case_paths() -> list[Path]:
    return packaged_paths("conformance_cases.cli")


def load_cli_cases(paths: Iterable[Path | str]) -> list[CliCase]:
    out: list[CliCase] = []
    for path in map(Path, paths):
        data = _read_yaml(path)
        ctx = _Ctx(path, 1, "file")
        _expect_keys(ctx, data, "file", ("schema", "defaults", "cases"), required=("schema",))
        if data["schema"] != CLI_SCHEMA:
            raise ctx.fail(
                f"schema: expected {CLI_SCHEMA!r}, got {data['schema']!r}", _line_of(data, "schema")
            )
        for raw in data.get("cases") or []:
            merged = deep_merge(data.get("defaults", {}), raw)
            cctx = _Ctx(path, _line_of(raw), f"cli case {raw.get('id')!r}")
            _expect_keys(
                cctx,
                merged,
                "",
                ("id", "title", "severity", "refs", "gateway", "command", "expect"),
                required=("id", "severity", "gateway", "command", "expect"),
            )
            if not ID_RE.match(str(merged["id"])):
                raise cctx.fail(f"id: {merged['id']!r} must match {ID_RE.pattern}")
            ex = _expect_keys(cctx, merged["expect"], "expect", ("exit_code", "output_excludes"))
            out.append(
                CliCase(
                    id=merged["id"],
                    severity=_enum(
                        cctx,
                        Severity,
                        merged["severity"],
                        "severity",
                        _line_of(raw, "severity", cctx.line),
                    ),
                    gateway=GatewaySpec.from_mapping(merged["gateway"]),
                    command=_str_list(cctx, merged["command"], "command", _line_of(raw, "command")),
                    exit_code=ex.get("exit_code"),
                    output_excludes=_str_list(
                        cctx, ex.get("output_excludes", []), "expect.output_excludes", _line_of(ex)
                    ),
                    title=merged.get("title"),
                    refs=_str_list(cctx, merged.get("refs", []), "refs", _line_of(raw, "refs")),
                    source=f"{path}:{_line_of(raw)}",
                )
            )
    return out


def _check_origin(ctx: _Ctx, origin: str, gateway: GatewaySpec, line: int | None) -> None:
    """An Origin is a role (allowed, not-allowed, gateway) or a literal URL origin. A role must
    be playable on the gateways the harness starts, whose allowed origins the case lists."""
    if origin == "allowed":
        if not gateway.control_ui.allowed_origins:
            raise ctx.fail(
                "connection.origin: 'allowed' needs gateway.control_ui.allowed_origins to list "
                "the origin a started gateway allows",
                line,
            )
    elif origin == "not-allowed":
        if NOT_ALLOWED_ORIGIN in gateway.control_ui.allowed_origins:
            raise ctx.fail(
                f"connection.origin: 'not-allowed', but gateway.control_ui.allowed_origins "
                f"lists {NOT_ALLOWED_ORIGIN}",
                line,
            )
    elif origin != "gateway" and "://" not in origin:
        raise ctx.fail(
            f"connection.origin: {origin!r} is not allowed, not-allowed, gateway or a literal "
            "origin such as https://host",
            line,
        )
