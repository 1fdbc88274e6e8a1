"""The loader: matrices expand as written, and every malformed file names file, line and problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conformance.cases.baselines import load_baseline
from conformance.cases.loader import CaseFileError, load_cases, packaged_case_paths
from conformance.cases.model import DeviceState, Proof, Secret, Severity

HEADER = "schema: openclaw-conformance/cases/v1\n"
GOOD_CASE = """\
cases:
  - id: token.loopback.no-device.cli
    severity: must
    gateway: {auth: token}
    client: {id: cli, mode: cli}
    credentials: {token: right}
    scopes: [operator.read]
    expect: {accepted: true, scopes: [operator.read]}
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(CaseFileError) as info:
        load_cases([path])
    return str(info.value)


def test_good_case_loads(tmp_path: Path) -> None:
    (case,) = load_cases([write(tmp_path, HEADER + GOOD_CASE)])
    assert case.id == "token.loopback.no-device.cli"
    assert case.severity is Severity.MUST
    assert case.credentials.token is Secret.RIGHT
    assert case.expect.scopes == frozenset({"operator.read"})
    assert case.axes == {
        "auth": "token",
        "locality": "loopback",
        "device": "none",
        "client": "cli/cli",
        "role": "operator",
    }
    assert case.source.endswith("c.yaml:3")


def test_matrix_expands_every_combination_and_applies_rules_in_order(tmp_path: Path) -> None:
    text = HEADER + textwrap.dedent("""\
    defaults: {severity: must}
    matrices:
      - id: "{auth}.{device}"
        axes:
          auth:
            token: {gateway: {auth: token}, credentials: {token: right}}
            password: {gateway: {auth: password}, credentials: {password: right}}
          device:
            none: {device: {state: none}}
            fresh: {device: {state: unpaired}}
        base: {client: {id: cli, mode: cli}, scopes: [operator.read]}
        rules:
          - when: {}
            merge: {expect: {accepted: true, scopes: [operator.read]}, refs: [A]}
          - when: {device: fresh, auth: [token]}
            merge: {expect: {device_token: true}, refs: [B]}
    """)
    cases = {c.id: c for c in load_cases([write(tmp_path, text)])}
    assert sorted(cases) == ["password.fresh", "password.none", "token.fresh", "token.none"]
    assert cases["token.fresh"].refs == ("A", "B")
    assert cases["token.fresh"].expect.device_token is True
    assert cases["password.fresh"].expect.device_token is None
    assert cases["password.fresh"].device.state is DeviceState.UNPAIRED
    assert cases["password.none"].credentials.password is Secret.RIGHT


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            GOOD_CASE.replace("severity: must", "severity: maybe"),
            4,
            "severity: 'maybe' is not one of",
        ),
        (
            GOOD_CASE.replace("expect: {accepted: true", "expect: {acepted: true"),
            9,
            "unknown field 'acepted'",
        ),
        (
            GOOD_CASE.replace("    gateway: {auth: token}\n", ""),
            3,
            "missing required field 'gateway'",
        ),
        (GOOD_CASE.replace("auth: token}", "auth: tokn}"), 5, "gateway.auth: 'tokn'"),
        (
            GOOD_CASE.replace("{accepted: true, scopes: [operator.read]}", "{accepted: true}"),
            9,
            "an accepted case must state its effective scopes",
        ),
        (
            GOOD_CASE.replace(
                "{accepted: true, scopes: [operator.read]}", "{accepted: false, error: X}"
            ),
            9,
            "a rejection must state its close code",
        ),
        (
            GOOD_CASE.replace(
                "client: {id: cli, mode: cli}",
                "client: {id: cli, mode: cli}\n    device: {state: none, proof: bad-signature}",
            ),
            7,
            "proof/signature need device.state",
        ),
        (GOOD_CASE.replace("id: token.loopback.no-device.cli", "id: Bad Id"), 3, "must match"),
        (
            GOOD_CASE.replace("credentials: {token: right}", "credentials: {token: rihgt}"),
            7,
            "credentials.token: 'rihgt' is not one of",
        ),
    ],
)
def test_malformed_case_names_file_line_and_problem(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    err = error_of(tmp_path, HEADER + body)
    assert err.startswith(f"{tmp_path / 'c.yaml'}:{line}: "), err
    assert message in err


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, HEADER + "cases:\n  - id: [unclosed\n")
    assert err.startswith(f"{tmp_path / 'c.yaml'}:4: invalid YAML"), err
    assert "flow sequence at line 3" in err


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    err = error_of(tmp_path, HEADER + GOOD_CASE + "    severity: should\n")
    assert err == f"{tmp_path / 'c.yaml'}:10: duplicate key 'severity'"


def test_wrong_schema(tmp_path: Path) -> None:
    err = error_of(tmp_path, "schema: something/else\n" + GOOD_CASE)
    assert err.startswith(f"{tmp_path / 'c.yaml'}:1: ")
    assert "schema: expected 'openclaw-conformance/cases/v1'" in err


def test_duplicate_id_across_files_names_both_places(tmp_path: Path) -> None:
    write(tmp_path, HEADER + GOOD_CASE, "a.yaml")
    write(tmp_path, HEADER + GOOD_CASE, "b.yaml")
    with pytest.raises(CaseFileError) as info:
        load_cases([tmp_path])
    assert f"{tmp_path / 'b.yaml'}:3" in str(info.value)
    assert f"first defined at {tmp_path / 'a.yaml'}:3" in str(info.value)


def test_rule_with_unknown_axis_value(tmp_path: Path) -> None:
    text = HEADER + textwrap.dedent("""\
    matrices:
      - id: "{auth}"
        axes:
          auth: {token: {gateway: {auth: token}}}
        rules:
          - when: {auth: pasword}
            merge: {severity: must}
    """)
    err = error_of(tmp_path, text)
    assert ":7:" in err and "unknown value 'pasword'" in err


def test_matrix_error_names_the_combination(tmp_path: Path) -> None:
    text = HEADER + textwrap.dedent("""\
    defaults: {severity: must, client: {id: cli, mode: cli}}
    matrices:
      - id: "{auth}"
        axes:
          auth:
            token: {gateway: {auth: token}, expect: {accepted: true, scopes: []}}
            password: {gateway: {auth: password}, expect: {accepted: true}}
    """)
    err = error_of(tmp_path, text)
    assert "matrix #1 (auth=password)" in err or "case 'password'" in err
    assert "must state its effective scopes" in err


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="no such case file"):
        load_cases([tmp_path / "nope.yaml"])


def test_broken_proof_and_paired_defaults(tmp_path: Path) -> None:
    body = GOOD_CASE.replace(
        "credentials: {token: right}",
        "credentials: {token: right}\n    device: {state: paired, proof: wrong-nonce}",
    )
    (case,) = load_cases([write(tmp_path, HEADER + body)])
    assert case.device.proof is Proof.WRONG_NONCE
    assert case.device_axis == "wrong-nonce"
    assert case.device.paired_as is not None
    assert case.device.paired_as.scopes == ("operator.read",)


def test_baseline_errors(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        """\
    schema: openclaw-conformance/baseline/v1
    target: x
    entries:
      - id: no.such.case
        reason: because
    """,
        "b.yaml",
    )
    with pytest.raises(CaseFileError) as info:
        load_baseline(base, {"token.loopback.no-device.cli"})
    assert str(info.value).startswith(f"{base}:4: ")
    assert "unknown case id 'no.such.case'" in str(info.value)


def test_packaged_matrix_loads_with_unique_ids() -> None:
    cases = load_cases(packaged_case_paths())
    assert len({c.id for c in cases}) == len(cases) > 0


def test_merge_key_may_be_overridden(tmp_path: Path) -> None:
    text = HEADER + textwrap.dedent("""\
    cases:
      - &base
        id: a.one
        severity: must
        gateway: {auth: token}
        client: {id: cli, mode: cli}
        expect: {accepted: true, scopes: []}
      - <<: *base
        id: a.two
        severity: should
    """)
    cases = {c.id: c for c in load_cases([write(tmp_path, text)])}
    assert cases["a.two"].severity is Severity.SHOULD
    assert cases["a.one"].severity is Severity.MUST


def test_every_problem_of_a_file_is_reported_with_its_line(tmp_path: Path) -> None:
    text = HEADER + textwrap.dedent("""\
    cases:
      - id: a.one
        severity: maybe
        gateway: {auth: token, handshake_timeout_ms: 0}
        client: {id: cli, mode: cli}
        expect: {accepted: true, scopes: []}
      - id: a.two
        severity: must
        gateway: {auth: token}
        client: {id: cli, mode: cli}
        credentials: {device_token: issued}
        expect: {accepted: false, error: X}
      - id: a.three
        severity: must
        gateway: {auth: token}
        client: {id: cli, mode: cli}
        expect: {accepted: true, scopes: [], colour: red}
    """)
    path = write(tmp_path, text)
    with pytest.raises(CaseFileError) as info:
        load_cases([path])
    lines = str(info.value).splitlines()
    assert lines == list(info.value.problems)
    assert lines == [
        f"{path}:4: case 'a.one': severity: 'maybe' is not one of 'must', 'should' or 'info'",
        f"{path}:5: case 'a.one': gateway.handshake_timeout_ms: must be greater than 0",
        f"{path}:12: case 'a.two': credentials.device_token: needs device.state 'paired' "
        "(the token comes from pairing)",
        f"{path}:13: case 'a.two': expect: a rejection must state its close code",
        f"{path}:18: case 'a.three': expect: unknown field 'colour' (allowed: accepted, "
        "auth_method, close, details, details_code, device_token, error, http_status, "
        "message, response, scopes, secondary)",
    ]


def test_unknown_key_in_a_nested_block_names_the_allowed_ones(tmp_path: Path) -> None:
    body = GOOD_CASE.replace("gateway: {auth: token}", "gateway: {auth: token, proxies: []}")
    err = error_of(tmp_path, HEADER + body)
    assert err == (
        f"{tmp_path / 'c.yaml'}:5: case 'token.loopback.no-device.cli': gateway: unknown field "
        "'proxies' (allowed: auth, control_ui, handshake_timeout_ms, trusted_proxies, "
        "trusted_proxy)"
    )


def test_wrong_enum_value_lists_the_values(tmp_path: Path) -> None:
    body = GOOD_CASE.replace(
        "credentials: {token: right}", "credentials: {token: right}\n    device: {state: pared}"
    )
    err = error_of(tmp_path, HEADER + body)
    assert err == (
        f"{tmp_path / 'c.yaml'}:8: case 'token.loopback.no-device.cli': device.state: 'pared' "
        "is not one of 'none', 'unpaired' or 'paired'"
    )


def test_types_are_not_coerced(tmp_path: Path) -> None:
    body = GOOD_CASE.replace(
        "expect: {accepted: true,", "protocol: {min: '3', max: 4}\n    expect: {accepted: yes,"
    )
    err = error_of(tmp_path, HEADER + body).splitlines()
    assert err[0].endswith("protocol.min: must be an integer"), err
    assert err[0].startswith(f"{tmp_path / 'c.yaml'}:9: ")
    # YAML 1.1 reads `yes` as true: a bool, so accepted
    assert len(err) == 1


def test_a_broken_matrix_fragment_is_reported_once(tmp_path: Path) -> None:
    text = HEADER + textwrap.dedent("""\
    defaults: {severity: must, client: {id: cli, mode: cli}}
    matrices:
      - id: "{auth}.{device}"
        axes:
          auth:
            token: {gateway: {auth: tokn}}
            password: {gateway: {auth: password}}
          device:
            none: {device: {state: none}}
            fresh: {device: {state: unpaired}}
        rules:
          - when: {}
            merge: {expect: {accepted: true, scopes: []}}
    """)
    err = error_of(tmp_path, text)
    assert err.splitlines() == [
        f"{tmp_path / 'c.yaml'}:7: matrix #1: axes.auth.token.gateway.auth: 'tokn' is not one "
        "of 'token', 'password', 'none' or 'trusted-proxy'"
    ]


def test_problems_of_several_files_are_reported_together(tmp_path: Path) -> None:
    a = write(tmp_path, HEADER + GOOD_CASE.replace("severity: must", "severity: high"), "a.yaml")
    b = write(tmp_path, HEADER + GOOD_CASE.replace("mode: cli}", "mode: cli, os: linux}"), "b.yaml")
    with pytest.raises(CaseFileError) as info:
        load_cases([a, b])
    assert [p.split(": ", 1)[0] for p in info.value.problems] == [f"{a}:4", f"{b}:6"]


def test_matrix_shape_problems_stop_only_that_matrix(tmp_path: Path) -> None:
    text = HEADER + textwrap.dedent("""\
    defaults: {severity: must, client: {id: cli, mode: cli}}
    matrices:
      - id: "{auth}"
        axes: {auth: []}
      - id: "{auth}.{other}"
        axes:
          auth: {token: {gateway: {auth: token}, expect: {accepted: true, scopes: []}}}
        rules:
          - when: {colour: red}
            merge: {}
    """)
    err = error_of(tmp_path, text).splitlines()
    assert err == [
        f"{tmp_path / 'c.yaml'}:5: matrix #1: axes.auth: must be a mapping, got a list",
        f"{tmp_path / 'c.yaml'}:6: matrix #2: id: template '{{auth}}.{{other}}' names an "
        "unknown axis: 'other'",
        f"{tmp_path / 'c.yaml'}:10: matrix #2: rules[0].when.colour: unknown axis 'colour' "
        "(axes: auth)",
    ]


def test_baseline_reports_every_entry_problem(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        """\
    schema: openclaw-conformance/baseline/v1
    target: x
    entries:
      - id: token.loopback.no-device.cli
        reason: "  "
      - id: no.such.case
        reason: because
      - id: token.loopback.no-device.cli
        reason: again
        ref: [A]
      - id: token.loopback.no-device.cli
        reason: first valid one
      - id: token.loopback.no-device.cli
        reason: and a duplicate
    """,
        "b.yaml",
    )
    with pytest.raises(CaseFileError) as info:
        load_baseline(base, {"token.loopback.no-device.cli"})
    assert info.value.problems == (
        f"{base}:5: baseline entry: reason: must be a non-empty string",
        f"{base}:6: baseline entry: unknown case id 'no.such.case' (no loaded case has it)",
        f"{base}:10: baseline entry: unknown field 'ref' (allowed: id, reason, refs)",
        f"{base}:13: baseline entry: duplicate entry for 'token.loopback.no-device.cli'",
    )
