"""Eras: a case judges each release by the contract of its time, and the loader refuses eras
that overlap, run backwards or say nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases.loader import CaseFileError, load_cases
from conformance.versions import Version

CASE = """\
schema: openclaw-conformance/cases/v1
cases:
  - id: scope-upgrade.token.loopback.cli
    severity: must
    gateway: {auth: token}
    client: {id: cli, mode: cli}
    credentials: {token: right}
    scopes: [operator.admin]
    device: {state: paired, paired_as: {role: operator, scopes: [operator.read]}}
    expect: {accepted: true, scopes: [operator.admin]}
    eras:
{eras}
"""
APPROVAL_ERA = """\
      - since: 2026.3.25
        until: 2026.7.1
        refs: [CVE-2026-35625]
        note: a local scope upgrade needs approval
        expect: {accepted: false, error: NOT_PAIRED, details_code: PAIRING_REQUIRED, close: 1008}
      - since: 2026.7.1
        refs: [openclaw/openclaw#124589]
        security: the approval of the fix is gone again
"""


def load(tmp_path: Path, eras: str):
    path = tmp_path / "c.yaml"
    path.write_text(CASE.replace("{eras}\n", eras))
    return load_cases([path])


def test_each_release_is_judged_by_its_era(tmp_path: Path) -> None:
    (case,) = load(tmp_path, APPROVAL_ERA)
    before, during, after = (
        case.for_version(Version.parse(v)) for v in ("2026.3.24", "2026.5.28", "2026.9.6")
    )
    assert before is case and before.era is None  # the current contract, no era
    assert during.expect.accepted is False and during.expect.error == "NOT_PAIRED"
    assert during.era is not None and during.era.refs == ("CVE-2026-35625",)
    # an era with only a security flag keeps the case's own expectation
    assert after.expect == case.expect
    assert after.era is not None and after.era.security == "the approval of the fix is gone again"
    # until is the first release after the era
    assert case.for_version(Version.parse("2026.7.1")).era.security
    assert case.for_version(Version.parse("2026.6.35")).expect.accepted is False
    # an unknown version is judged by the current contract
    assert case.for_version(None) is case


def test_prereleases_belong_to_the_era_of_their_release(tmp_path: Path) -> None:
    (case,) = load(tmp_path, APPROVAL_ERA)
    assert case.for_version(Version.parse("2026.7.1-beta.1")).era.security


@pytest.mark.parametrize(
    ("eras", "problem"),
    [
        (
            "      - refs: [x]\n        security: s\n",
            "eras[0]: an era needs since or until",
        ),
        (
            "      - since: 2026.5.1\n        until: 2026.4.1\n        security: s\n",
            "eras[0]: since 2026.5.1 is not before until 2026.4.1",
        ),
        (
            "      - since: 2026.4.1\n        security: s\n"
            "      - since: 2026.5.1\n        security: t\n",
            "eras[0]: only the last era may be open-ended (no until)",
        ),
        (
            "      - since: 2026.4.1\n        until: 2026.6.1\n        security: s\n"
            "      - since: 2026.5.1\n        security: t\n",
            "eras[1]: eras must be in release order and must not overlap",
        ),
        ("      - since: 2026.4.1\n        note: n\n", "eras[0]: an era states an expect"),
        (
            "      - since: 2026.4.1\n        expect: {accepted: false, error: X, close: 1008}\n",
            "eras[0].refs: an era names the upstream change it follows (refs)",
        ),
        (
            "      - since: 2026.4.1\n        refs: [r]\n        expect: {accepted: true}\n",
            "eras[0].expect: an accepted case must state its effective scopes",
        ),
    ],
)
def test_bad_eras_are_refused_with_their_line(tmp_path: Path, eras: str, problem: str) -> None:
    with pytest.raises(CaseFileError) as info:
        load(tmp_path, eras)
    text = str(info.value)
    assert problem in text, text
    assert "c.yaml:" in text and "case 'scope-upgrade.token.loopback.cli'" in text
