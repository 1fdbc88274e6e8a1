"""The case fields issue 9 added: secrets in either field, another device's token, absent or
empty platform and the optional client fields, each built or refused with its file:line."""

from __future__ import annotations

from pathlib import Path

from conformance.cases.loader import load_cases
from conformance.cases.model import DeviceTokenUse, Secret
from conformance.protocol.frames import ConnectPlan

from .test_loader import GOOD_CASE, HEADER, error_of, write


def _case(tmp_path: Path, old: str, new: str):
    body = GOOD_CASE.replace(old, new)
    assert body != GOOD_CASE
    (case,) = load_cases([write(tmp_path, HEADER + body)])
    return case


def test_gateway_secret_in_the_other_field(tmp_path: Path) -> None:
    case = _case(tmp_path, "credentials: {token: right}", "credentials: {password: gateway-token}")
    assert case.credentials.password is Secret.GATEWAY_TOKEN
    assert case.credentials.token is None
    body = GOOD_CASE.replace("gateway: {auth: token}", "gateway: {auth: password}").replace(
        "credentials: {token: right}", "credentials: {token: gateway-password}"
    )
    (case,) = load_cases([write(tmp_path, HEADER + body, "p.yaml")])
    assert case.credentials.token is Secret.GATEWAY_PASSWORD


def test_a_secret_the_gateway_does_not_have_is_refused_at_its_line(tmp_path: Path) -> None:
    body = GOOD_CASE.replace(
        "credentials: {token: right}", "credentials: {token: gateway-password}"
    )
    text = error_of(tmp_path, HEADER + body)
    assert "c.yaml:" in text
    assert "credentials.token" in text
    assert "'gateway-password' needs gateway.auth password" in text


def test_other_device_token_needs_a_device(tmp_path: Path) -> None:
    body = GOOD_CASE.replace(
        "credentials: {token: right}", "credentials: {device_token: other-device}"
    )
    text = error_of(tmp_path, HEADER + body)
    assert "credentials.device_token" in text
    assert "'other-device' needs device.state 'unpaired' or 'paired'" in text
    case = _case(
        tmp_path,
        "credentials: {token: right}",
        "credentials: {device_token: other-device}\n    device: {state: unpaired}",
    )
    assert case.credentials.device_token is DeviceTokenUse.OTHER_DEVICE


def test_platform_absent_and_empty_are_told_apart(tmp_path: Path) -> None:
    absent = _case(
        tmp_path, "client: {id: cli, mode: cli}", "client: {id: cli, mode: cli, platform: null}"
    )
    empty = _case(
        tmp_path, "client: {id: cli, mode: cli}", 'client: {id: cli, mode: cli, platform: ""}'
    )
    assert absent.client.platform is None
    assert empty.client.platform == ""
    assert "platform" not in ConnectPlan(platform=None).frame("n")["params"]["client"]
    assert ConnectPlan(platform="").frame("n")["params"]["client"]["platform"] == ""


def test_optional_client_fields_are_sent_as_given(tmp_path: Path) -> None:
    case = _case(
        tmp_path,
        "client: {id: cli, mode: cli}",
        "client: {id: cli, mode: cli, display_name: D, instance_id: '', caps: [tool-events], "
        "locale: en-US, user_agent: UA}",
    )
    c = case.client
    assert (c.display_name, c.instance_id, c.caps, c.locale, c.user_agent) == (
        "D",
        "",
        ("tool-events",),
        "en-US",
        "UA",
    )
    params = ConnectPlan(
        display_name=c.display_name,
        instance_id=c.instance_id,
        caps=c.caps,
        locale=c.locale,
        user_agent=c.user_agent,
    ).frame("n")["params"]
    assert params["client"]["displayName"] == "D"
    assert params["client"]["instanceId"] == ""
    assert (params["caps"], params["locale"], params["userAgent"]) == (
        ["tool-events"],
        "en-US",
        "UA",
    )
    # absent: not sent at all
    bare = ConnectPlan().frame("n")["params"]
    assert not {"caps", "locale", "userAgent"} & set(bare)
    assert not {"displayName", "instanceId"} & set(bare["client"])


def test_client_field_types_are_checked(tmp_path: Path) -> None:
    body = GOOD_CASE.replace(
        "client: {id: cli, mode: cli}", "client: {id: cli, mode: cli, caps: tool-events}"
    )
    text = error_of(tmp_path, HEADER + body)
    assert "c.yaml:" in text and "client.caps" in text
