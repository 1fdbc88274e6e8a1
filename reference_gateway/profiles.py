"""Behaviour profiles: the current contract (2026.9.6) and the known-bad 2026.3.13.

A profile is data only. The policy core branches on named flags and reads the profile's decision
tables (`tables.py`), never version strings, so a reader can see what each release does
differently in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_gateway.frames import ErrorCode
from reference_gateway.tables import TABLES_3_13, TABLES_9_6, ProfileTables

CLIENT_IDS_3_13: tuple[str, ...] = (
    "webchat-ui",
    "openclaw-control-ui",
    "webchat",
    "cli",
    "gateway-client",
    "openclaw-macos",
    "openclaw-ios",
    "openclaw-android",
    "node-host",
    "test",
    "fingerprint",
    "openclaw-probe",
)
CLIENT_MODES_3_13: tuple[str, ...] = ("webchat", "cli", "ui", "backend", "node", "probe", "test")
# §1.4: 9.6 adds these ids and the `worker` mode.
CLIENT_IDS_9_6 = (
    *CLIENT_IDS_3_13,
    "openclaw-browser-copilot",
    "openclaw-tui",
    "openclaw-linux",
    "openclaw-watchos",
    "openclaw-worker",
)
CLIENT_MODES_9_6 = (*CLIENT_MODES_3_13, "worker")
# §1.4: additional optional connect params of 9.6; their inner shape is not checked.
EXTRA_PARAMS_9_6 = ("computerUse", "workerRuns", "modelCatalog")
EXTRA_CLIENT_FIELDS_9_6 = ("buildId", "timeZone")
# 9.6 (observed 2026-12-03): error.details.code for failed-auth reasons by prefix, before the
# codes every release shares (auth.py); 3.13 answers these AUTH_UNAUTHORIZED.
AUTH_DETAIL_CODE_PREFIXES_9_6 = (
    ("trusted_proxy_missing_header_", "AUTH_IDENTITY_HEADER_REQUIRED"),
)


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    protocol: int
    handshake_timeout_ms: int
    client_ids: tuple[str, ...]
    client_modes: tuple[str, ...]
    extra_params: tuple[str, ...]
    extra_client_fields: tuple[str, ...]
    missing_scope_code: str
    # §1.5 / K18: 9.6 also accepts legacy node ranges and probe ranges down to 3.
    legacy_node_protocol: int | None
    minimum_probe_protocol: int | None
    # ajv wording of an unknown enum value (K17).
    enum_error_style: str  # "anyOf-const" (3.13) | "enum" (9.6)
    # hello-ok `auth`: always present (9.6) or only with an issued device token (3.13).
    hello_auth_always: bool
    # K1-K4: 3.13 mints no device token for an empty scope list; 9.6 does.
    mint_token_for_empty_scopes: bool
    # §4.2: 9.6 refuses trusted-proxy auth whose proxy peer is loopback.
    refuse_loopback_trusted_proxy: bool
    # §4.2: 9.6 answers proxy-shaped headers from untrusted peers with HTTP 403.
    http_403_for_untrusted_proxy_headers: bool
    # 9.6 (observed 2026-11-25): proxy headers from a trusted proxy that attribute the
    # connection to a loopback client are refused with HTTP 403 as well.
    http_403_for_proxied_loopback_client: bool
    # §4.2: 9.6 pairing locality (container-local equivalents) vs 3.13's isLocalClient only.
    pairing_locality_v96: bool
    # 9.6 (observed 2026-12-03): the shared secret is read from either auth field, its own
    # first: the token sent as auth.password authenticates a token gateway (method token), a
    # random value there is token_mismatch; likewise the password as auth.token. 3.13 reads
    # only the mode's own field (token_missing / password_missing).
    shared_secret_in_either_field: bool
    # error.details.code by failed-auth reason prefix (auth.detail_code).
    auth_detail_code_prefixes: tuple[tuple[str, str], ...]
    # K12: 9.6 reports a device-token scope failure as scope_mismatch.
    device_token_scope_mismatch_reason: str
    # K13/K14 wording.
    local_cli_auth_hints: bool
    pairing_messages_with_reason: bool
    # Scope implication (admin covers all, write covers read) when checking a paired baseline.
    implied_scopes_in_baseline: bool
    # 9.6: trusted-proxy connects are capped by the X-OpenClaw-Scopes request header.
    cap_trusted_proxy_scopes_by_header: bool
    # 9.6 chat.abort from a write-only caller: "session mutation target is unavailable".
    chat_abort_needs_admin_target: bool
    # 9.6: device.pair.approve cannot grant scopes above the caller's own.
    approve_capped_by_caller: bool
    # 9.6 (observed 2026-12-04): a silent pairing is refused when a requested scope is outside
    # the requested role (`resolveScopeOutsideRequestedRoles`: every scope must start with
    # "<role>."), so a node-host/node device asking operator.admin stays pending:
    # NOT_PAIRED/PAIRING_REQUIRED. 3.13 pairs it silently with the scope.
    silent_pairing_scopes_within_role: bool
    # 9.6 (observed 2026-12-04): role node with an unpaired device on a connect whose pairing is
    # skipped (gateway-client/backend with the shared secret) fails in the handler: close 1000
    # and no response. 3.13 accepts it.
    node_skip_needs_paired_device: bool
    # §5.2 / §5.3: the missing-device and pairing decision tables (tables.py). Everything the
    # A and B rows decide differently between the releases is in these rows, not in flags.
    tables: ProfileTables


CURRENT = Profile(
    name="current",
    version="2026.9.6",
    protocol=4,
    handshake_timeout_ms=15000,
    client_ids=CLIENT_IDS_9_6,
    client_modes=CLIENT_MODES_9_6,
    extra_params=EXTRA_PARAMS_9_6,
    extra_client_fields=EXTRA_CLIENT_FIELDS_9_6,
    missing_scope_code=ErrorCode.FORBIDDEN,
    legacy_node_protocol=3,
    minimum_probe_protocol=3,
    enum_error_style="enum",
    hello_auth_always=True,
    mint_token_for_empty_scopes=True,
    refuse_loopback_trusted_proxy=True,
    http_403_for_untrusted_proxy_headers=True,
    http_403_for_proxied_loopback_client=True,
    pairing_locality_v96=True,
    shared_secret_in_either_field=True,
    auth_detail_code_prefixes=AUTH_DETAIL_CODE_PREFIXES_9_6,
    device_token_scope_mismatch_reason="scope_mismatch",
    local_cli_auth_hints=True,
    pairing_messages_with_reason=True,
    implied_scopes_in_baseline=True,
    cap_trusted_proxy_scopes_by_header=True,
    chat_abort_needs_admin_target=True,
    approve_capped_by_caller=True,
    silent_pairing_scopes_within_role=True,
    node_skip_needs_paired_device=True,
    tables=TABLES_9_6,
)

V2026_3_13 = Profile(
    name="2026.3.13",
    version="2026.3.13",
    protocol=3,
    handshake_timeout_ms=3000,
    client_ids=CLIENT_IDS_3_13,
    client_modes=CLIENT_MODES_3_13,
    extra_params=(),
    extra_client_fields=(),
    missing_scope_code=ErrorCode.INVALID_REQUEST,
    legacy_node_protocol=None,
    minimum_probe_protocol=None,
    enum_error_style="anyOf-const",
    hello_auth_always=False,
    mint_token_for_empty_scopes=False,
    refuse_loopback_trusted_proxy=False,
    http_403_for_untrusted_proxy_headers=False,
    http_403_for_proxied_loopback_client=False,
    pairing_locality_v96=False,
    shared_secret_in_either_field=False,
    auth_detail_code_prefixes=(),
    device_token_scope_mismatch_reason="device_token_mismatch",
    local_cli_auth_hints=False,
    pairing_messages_with_reason=False,
    implied_scopes_in_baseline=False,
    cap_trusted_proxy_scopes_by_header=False,
    chat_abort_needs_admin_target=False,
    approve_capped_by_caller=False,
    silent_pairing_scopes_within_role=False,
    node_skip_needs_paired_device=False,
    tables=TABLES_3_13,
)

PROFILES: dict[str, Profile] = {"current": CURRENT, "2026.9.6": CURRENT, "2026.3.13": V2026_3_13}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r} (choose from {', '.join(sorted(PROFILES))})"
        ) from None
