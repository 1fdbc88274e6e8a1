"""Loading case files: YAML to `Case` objects, with errors that name the file, the line and the
problem, so a typo in a matrix never silently drops or weakens a case.

Usage: `load_cases([path_or_folder, ...]) -> list[Case]`; `packaged_case_paths()` gives the
packaged matrix; `load_cli_cases` reads the CLI case files. A file is read with line numbers
(yamlfile), its matrices expanded (expand), every case validated (schema) and checked (rules),
then built into the frozen runtime model (model). Every problem of every file is reported in one
`CaseFileError`, one `file:line: case 'id': what is wrong` line each.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from conformance.cases import schema
from conformance.cases.errors import Loc, Locator, Problems
from conformance.cases.expand import deep_merge, expand_matrix, inside_fragment, matrix_problems
from conformance.cases.gateway import ControlUi, GatewaySpec, TrustedProxyAuth
from conformance.cases.model import (
    Case,
    CliCase,
    ClientSpec,
    ConnectionSpec,
    Credentials,
    DeviceSpec,
    DeviceState,
    Era,
    Expectation,
    PairedAs,
)
from conformance.cases.rules import case_problems
from conformance.cases.yamlfile import (
    CaseFileError,
    LineDict,
    line_at,
    line_of,
    read_document,
)

__all__ = [
    "CaseFileError",
    "load_cases",
    "load_cli_cases",
    "packaged_case_paths",
    "packaged_cli_case_paths",
    "packaged_paths",
]


# --- files ----------------------------------------------------------------------------------


def _case_name(raw: object, fallback: str) -> str:
    case_id = raw.get("id") if isinstance(raw, dict) else None
    return f"case {case_id!r}" if isinstance(case_id, str) else fallback


def _locate_in_case_file(data: dict) -> Locator:
    def locate(loc: Loc) -> tuple[str, Loc]:
        if len(loc) > 1 and loc[0] == "matrices":
            return f"matrix #{loc[1] + 1}", loc[2:]
        if len(loc) > 1 and loc[0] == "cases":
            return _case_name(data["cases"][loc[1]], f"case #{loc[1] + 1}"), loc[2:]
        return "file", loc

    return locate


def _broken_matrices(exc: ValidationError | None) -> set[int]:
    """The matrices whose shape is wrong (not only a fragment of theirs): not expanded."""
    locs = [tuple(err["loc"]) for err in exc.errors()] if exc else []
    return {
        loc[1]
        for loc in locs
        if len(loc) > 1 and loc[0] == "matrices" and not inside_fragment(loc[2:])
    }


def _raw_cases(path: Path, data: dict, problems: Problems) -> list[tuple[LineDict, str]]:
    """Every case of a case file before validation, with what to call it until its id is
    known: the expanded matrices first, then the explicit cases merged over the defaults."""
    exc = None
    try:
        schema.CaseFileModel.model_validate(data)
    except ValidationError as error:
        exc = error
        problems.add_validation(path, exc, data, schema.CaseFileModel, _locate_in_case_file(data))
    broken = _broken_matrices(exc)
    defaults = data.get("defaults") or LineDict()
    matrices, cases = data.get("matrices") or [], data.get("cases") or []
    out: list[tuple[LineDict, str]] = []
    for i, matrix in enumerate(matrices if isinstance(matrices, list) else []):
        found = [] if i in broken else list(matrix_problems(matrix))
        for loc, text in found:
            problems.add(path, line_at(matrix, loc), f"matrix #{i + 1}", loc, text)
        if i not in broken and not found:
            for raw, combination in expand_matrix(matrix, defaults):
                out.append((raw, f"matrix #{i + 1} ({combination})"))
    for i, raw in enumerate(cases if isinstance(cases, list) else []):
        if isinstance(raw, dict):
            merged = deep_merge(defaults, raw, top=True)
            merged.line = line_of(raw)
            out.append((merged, f"case #{i + 1}"))
    return out


def _load_case_file(path: Path, problems: Problems) -> list[Case]:
    data = read_document(path, schema.CASES_SCHEMA)
    out: list[Case] = []
    for raw, name in _raw_cases(path, data, problems):
        what = _case_name(raw, name)
        model = problems.validate(
            path, schema.CaseModel, raw, lambda loc, w=what: (w, loc), raw.line
        )
        if model is None:
            continue
        found = list(case_problems(model))
        for loc, text in found:
            problems.add(path, line_at(raw, loc, raw.line), what, loc, text)
        if not found:
            out.append(build_case(model, f"{path}:{raw.line}"))
    return out


def packaged_paths(package: str = "conformance_cases") -> list[Path]:
    """The YAML files shipped in a package of the case tree (cases, cases.cli, baselines)."""
    root = resources.files(package)
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".yaml"))


def packaged_case_paths() -> list[Path]:
    return packaged_paths("conformance_cases")


def packaged_cli_case_paths() -> list[Path]:
    return packaged_paths("conformance_cases.cli")


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
    """All cases of these files/folders; ids must be unique across them. The problems of all
    the files are reported together."""
    problems = Problems()
    seen: dict[str, str] = {}
    out: list[Case] = []
    for path in _expand_paths(paths):
        try:
            cases = _load_case_file(path, problems)
        except CaseFileError as exc:
            problems.add_error(exc)
            continue
        for case in cases:
            if case.id in seen:
                problems.add_error(
                    CaseFileError(
                        f"{case.source}: case {case.id!r}: duplicate id (first defined at "
                        f"{seen[case.id]})"
                    )
                )
                continue
            seen[case.id] = case.source
            out.append(case)
    problems.raise_if_any()
    return out


# --- building the runtime model -------------------------------------------------------------


def build_case(m: schema.CaseModel, source: str) -> Case:
    """The frozen `Case` of a validated and checked case."""
    client = ClientSpec(
        id=m.client.id,
        mode=m.client.mode,
        platform=m.client.platform,
        device_family=m.client.device_family,
        version=m.client.version,
        display_name=m.client.display_name,
        instance_id=m.client.instance_id,
        caps=None if m.client.caps is None else tuple(m.client.caps),
        locale=m.client.locale,
        user_agent=m.client.user_agent,
    )
    return Case(
        id=m.id,
        title=m.title,
        severity=m.severity,
        refs=tuple(m.refs),
        tags=tuple(m.tags),
        since=m.since,
        until=m.until,
        gateway=gateway_spec(m.gateway),
        connection=ConnectionSpec(
            via=m.connection.via,
            origin=m.connection.origin,
            forwarded_for=m.connection.forwarded_for,
            headers=tuple(sorted(m.connection.headers.items())),
        ),
        client=client,
        role=m.role,
        scopes=None if m.scopes is None else tuple(m.scopes),
        credentials=Credentials(
            token=m.credentials.token,
            password=m.credentials.password,
            device_token=m.credentials.device_token,
        ),
        device=_device(m, client),
        protocol=(m.protocol.min, m.protocol.max),
        first_frame=m.handshake.first_frame,
        expect=_expectation(m.expect),
        eras=tuple(
            Era(
                since=e.since,
                until=e.until,
                expect=None if e.expect is None else _expectation(e.expect),
                refs=tuple(e.refs),
                note=e.note,
                security=e.security,
            )
            for e in m.eras
        ),
        source=source,
    )


def gateway_spec(m: schema.GatewayModel) -> GatewaySpec:
    tp = m.trusted_proxy
    return GatewaySpec(
        auth=m.auth,
        trusted_proxies=tuple(m.trusted_proxies),
        trusted_proxy=None
        if tp is None
        else TrustedProxyAuth(
            user_header=tp.user_header,
            required_headers=tuple(tp.required_headers),
            allow_users=tuple(tp.allow_users),
        ),
        control_ui=ControlUi(
            allowed_origins=tuple(m.control_ui.allowed_origins),
            allow_insecure_auth=m.control_ui.allow_insecure_auth,
            dangerously_disable_device_auth=m.control_ui.dangerously_disable_device_auth,
        ),
        handshake_timeout_ms=m.handshake_timeout_ms,
    )


def _device(m: schema.CaseModel, client: ClientSpec) -> DeviceSpec:
    """A paired device is approved as what `paired_as` states; what it leaves out is the
    case's own role, scopes and client metadata."""
    d = m.device
    paired_as = None
    if d.state is DeviceState.PAIRED:
        pa = d.paired_as or schema.PairedAsModel()
        given = pa.model_fields_set
        paired_as = PairedAs(
            role=pa.role if "role" in given else m.role,
            scopes=tuple(pa.scopes if "scopes" in given else m.scopes or ()),
            platform=pa.platform if "platform" in given else client.platform,
            device_family=pa.device_family if "device_family" in given else client.device_family,
        )
    return DeviceSpec(state=d.state, signature=d.signature, proof=d.proof, paired_as=paired_as)


def _expectation(e: schema.ExpectModel) -> Expectation:
    secondary = frozenset(e.secondary)
    if e.accepted:
        return Expectation(
            accepted=True,
            scopes=frozenset(e.scopes),
            device_token=e.device_token,
            auth_method=e.auth_method,
            secondary=secondary,
        )
    if e.http_status is not None:
        return Expectation(
            accepted=False, http_status=e.http_status, response=False, secondary=secondary
        )
    return Expectation(
        secondary=secondary,
        accepted=False,
        error=e.error,
        details_code=e.details_code,
        details_code_given="details_code" in e.model_fields_set,
        message=e.message,
        details=tuple(sorted(e.details.items())),
        close=e.close,
        response=e.response,
    )


# --- CLI cases ------------------------------------------------------------------------------


def _load_cli_file(path: Path, problems: Problems) -> list[CliCase]:
    data = read_document(path, schema.CLI_SCHEMA)

    def locate(loc: Loc) -> tuple[str, Loc]:
        if len(loc) > 1 and loc[0] == "cases":
            return f"cli {_case_name(data['cases'][loc[1]], f'case #{loc[1] + 1}')}", loc[2:]
        return "file", loc

    problems.validate(path, schema.CliCaseFileModel, data, locate)
    out: list[CliCase] = []
    for i, raw in enumerate(data.get("cases") or []):
        if not isinstance(raw, dict):
            continue
        # No `top`: a CLI case's refs replace the defaults' refs.
        merged = deep_merge(data.get("defaults") or {}, raw)
        what = f"cli {_case_name(merged, f'case #{i + 1}')}"
        m = problems.validate(path, schema.CliCaseModel, merged, lambda loc, w=what: (w, loc))
        if m is not None:
            out.append(
                CliCase(
                    id=m.id,
                    severity=m.severity,
                    gateway=gateway_spec(m.gateway),
                    command=tuple(m.command),
                    exit_code=m.expect.exit_code,
                    output_excludes=tuple(m.expect.output_excludes),
                    title=m.title,
                    refs=tuple(m.refs),
                    source=f"{path}:{line_of(raw)}",
                )
            )
    return out


def load_cli_cases(paths: Iterable[Path | str]) -> list[CliCase]:
    problems = Problems()
    out: list[CliCase] = []
    for path in map(Path, paths):
        try:
            out += _load_cli_file(path, problems)
        except CaseFileError as exc:
            problems.add_error(exc)
    problems.raise_if_any()
    return out
