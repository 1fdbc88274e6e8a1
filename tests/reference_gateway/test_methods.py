"""§5.1 method authorisation and the §6.1 probe answers."""

from __future__ import annotations

import pytest

from reference_gateway.config import load_config
from reference_gateway.methods import RpcCall, authorize_method, handle_rpc
from reference_gateway.pairing import PairingState
from reference_gateway.profiles import CURRENT, V2026_3_13

from ._support import ALL5

CFG = load_config({"gateway": {"auth": {"mode": "token", "token": "t"}}}, {})


def _call(scopes: tuple[str, ...], role: str = "operator", profile=CURRENT) -> RpcCall:
    return RpcCall(
        config=CFG, profile=profile, state=PairingState(), role=role, scopes=scopes, now_ms=1
    )


@pytest.mark.parametrize(
    "method,scope",
    [
        ("status", "operator.read"),
        ("system-presence", "operator.read"),
        ("config.get", "operator.read"),
        ("chat.abort", "operator.write"),
        ("sessions.delete", "operator.admin"),
        ("device.pair.list", "operator.pairing"),
        ("exec.approval.resolve", "operator.approvals"),
        ("config.apply", "operator.admin"),
        ("wizard.start", "operator.admin"),
        ("something.unlisted", "operator.admin"),
    ],
)
def test_missing_scope_current_is_forbidden(method: str, scope: str) -> None:
    err = authorize_method("operator", (), method, CURRENT)
    assert err is not None
    assert (err.code, err.message) == ("FORBIDDEN", f"missing scope: {scope}")


def test_missing_scope_3_13_is_invalid_request() -> None:
    err = authorize_method("operator", (), "status", V2026_3_13)
    assert err is not None
    assert (err.code, err.message) == ("INVALID_REQUEST", "missing scope: operator.read")


def test_health_needs_nothing() -> None:
    assert authorize_method("operator", (), "health", CURRENT) is None


def test_write_satisfies_read_and_admin_satisfies_all() -> None:
    assert authorize_method("operator", ("operator.write",), "status", CURRENT) is None
    for m in ("status", "chat.abort", "sessions.delete", "device.pair.list", "config.apply"):
        assert authorize_method("operator", ("operator.admin",), m, CURRENT) is None


def test_roles() -> None:
    err = authorize_method("node", ALL5, "status", CURRENT)
    assert err is not None and err.message == "unauthorized role: node"
    err = authorize_method("operator", ALL5, "node.invoke.result", CURRENT)
    assert err is not None and err.message == "unauthorized role: operator"
    assert authorize_method("node", (), "node.invoke.result", CURRENT) is None


@pytest.mark.parametrize(
    "scopes,method,message",
    [
        (
            ("operator.admin",),
            "chat.abort",
            "invalid chat.abort params: must have required property 'sessionKey'",
        ),
        (
            ("operator.admin",),
            "sessions.delete",
            "invalid sessions.delete params: must have required property 'key'",
        ),
        (
            ("operator.approvals",),
            "exec.approval.resolve",
            "invalid exec.approval.resolve params: must have required property 'id'",
        ),
        (("operator.write",), "chat.abort", "session mutation target is unavailable"),
    ],
)
def test_probe_answers_after_scope_check(
    scopes: tuple[str, ...], method: str, message: str
) -> None:
    result = handle_rpc(_call(scopes), method, {})
    assert result.error is not None
    assert (result.error.code, result.error.message) == ("INVALID_REQUEST", message)


def test_3_13_write_only_chat_abort_gets_params_error() -> None:
    result = handle_rpc(_call(("operator.write",), profile=V2026_3_13), "chat.abort", {})
    assert result.error is not None
    assert result.error.message == (
        "invalid chat.abort params: must have required property 'sessionKey'"
    )


def test_read_probes_succeed() -> None:
    for method in ("status", "system-presence", "config.get"):
        assert handle_rpc(_call(("operator.read",)), method, {}).error is None


def test_pair_list_shape() -> None:
    result = handle_rpc(_call(("operator.pairing",)), "device.pair.list", {})
    assert result.payload == {"pending": [], "paired": []}


def test_config_get_never_shows_the_token() -> None:
    result = handle_rpc(_call(("operator.read",)), "config.get", {})
    assert "'t'" not in repr(result.payload)
