"""The plugin's options, each mirrored as an ini setting of the same name (dashes as
underscores), and `Settings`: what one run was asked to do, read once at configure time.

A command-line value wins over the ini one; the secrets fall back to OPENCLAW_GATEWAY_TOKEN and
OPENCLAW_GATEWAY_PASSWORD.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from conformance.targets.spec import TargetRequest


class Kind(Enum):
    """How an option takes its value; the value is also the ini type."""

    STRING = "string"
    ARGS = "args"  # repeatable on the command line, a list in the ini file
    BOOL = "bool"


@dataclass(frozen=True)
class Option:
    flag: str
    ini: str  # also the dest of the command-line option
    kind: Kind
    default: Any
    help: str


OPTIONS: tuple[Option, ...] = (
    Option(
        "--gateway",
        "gateway",
        Kind.STRING,
        "reference",
        "gateway under test: reference (default), reference@<profile> (current, 2026.3.13), "
        "openclaw@<version>",
    ),
    Option(
        "--gateway-url",
        "gateway_url",
        Kind.STRING,
        None,
        "test a gateway that is already running at ws://host:port",
    ),
    Option(
        "--gateway-token",
        "gateway_token",
        Kind.STRING,
        None,
        "shared token of the --gateway-url gateway (env OPENCLAW_GATEWAY_TOKEN)",
    ),
    Option(
        "--gateway-password",
        "gateway_password",
        Kind.STRING,
        None,
        "shared password of the --gateway-url gateway (env OPENCLAW_GATEWAY_PASSWORD)",
    ),
    Option(
        "--gateway-allowed-origin",
        "gateway_allowed_origins",
        Kind.ARGS,
        [],
        "an origin the --gateway-url gateway allows (gateway.controlUi.allowedOrigins); repeatable",
    ),
    Option(
        "--gateway-allow-pairing",
        "gateway_allow_pairing",
        Kind.BOOL,
        False,
        "let cases pair devices and create pending requests on the --gateway-url gateway",
    ),
    Option(
        "--gateway-auth",
        "gateway_auth",
        Kind.STRING,
        None,
        "auth mode of the --gateway-url gateway (token, password, none, trusted-proxy); "
        "checked against what the gateway says",
    ),
    Option(
        "--gateway-trusted-proxy",
        "gateway_trusted_proxies",
        Kind.ARGS,
        [],
        "an entry of the --gateway-url gateway's gateway.trustedProxies; repeatable",
    ),
    Option(
        "--gateway-config",
        "gateway_config",
        Kind.STRING,
        None,
        "the --gateway-url gateway's openclaw.json, read instead of asking it (config.get)",
    ),
    Option(
        "--min-cases",
        "min_cases",
        Kind.STRING,
        None,
        "fail the run (exit 7) when fewer handshake cases than this ran (default 1: a run "
        "that judged nothing never passes)",
    ),
    Option(
        "--gateway-image",
        "gateway_image",
        Kind.STRING,
        None,
        "test a gateway container image (e.g. one built by `openclaw-conformance image build`)",
    ),
    Option(
        "--gateway-no-reuse",
        "gateway_no_reuse",
        Kind.BOOL,
        False,
        "start every config of an npm release cold instead of switching a running gateway to "
        "it (config-file reload)",
    ),
    Option(
        "--gateway-cache",
        "gateway_cache",
        Kind.STRING,
        None,
        "cache folder for npm releases (env OPENCLAW_CONFORMANCE_CACHE)",
    ),
    Option(
        "--cases",
        "cases",
        Kind.ARGS,
        [],
        "extra case file or folder, added to the packaged matrix; repeatable",
    ),
    Option(
        "--baseline",
        "baseline",
        Kind.ARGS,
        [],
        "baseline file of known failures (strict xfail), or `auto` for the packaged baseline "
        "of the --gateway target; repeatable",
    ),
    Option(
        "--differential",
        "differential",
        Kind.STRING,
        None,
        "also run every case against the reference (profile: current, 2026.3.13, or auto = "
        "the profile nearest the target's version) and report where the observations differ",
    ),
    Option(
        "--conformance-case",
        "conformance_cases",
        Kind.ARGS,
        [],
        "run only the case with this exact id; repeatable (-k matches substrings)",
    ),
    Option(
        "--conformance-report",
        "conformance_report",
        Kind.STRING,
        None,
        "write the JSON report (schema openclaw-conformance/report/v1) to this path",
    ),
)

# The flags that each name the gateway under test: at most one per run.
TARGET_FLAGS = (
    ("--gateway", "gateway"),
    ("--gateway-url", "gateway_url"),
    ("--gateway-image", "gateway_image"),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("openclaw-conformance", "OpenClaw gateway handshake conformance")
    for option in OPTIONS:
        # default=None on the command line, so that "not given" falls through to the ini value.
        if option.kind is Kind.BOOL:
            group.addoption(
                option.flag, action="store_true", default=None, dest=option.ini, help=option.help
            )
        elif option.kind is Kind.ARGS:
            group.addoption(
                option.flag,
                action="append",
                default=None,
                dest=option.ini,
                metavar="PATH",
                help=option.help,
            )
        else:
            group.addoption(
                option.flag, action="store", default=None, dest=option.ini, help=option.help
            )
        parser.addini(option.ini, option.help, type=option.kind.value, default=option.default)


def option_value(config: pytest.Config, name: str) -> Any:
    """The command-line value, else the ini one."""
    value = config.getoption(name)
    if value is None or value == []:
        value = config.getini(name)
    return value


def parse_min_cases(value: Any) -> int:
    if value in (None, ""):
        return 1
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise pytest.UsageError(f"conformance: --min-cases {value!r}: expected a whole number >= 0")
    return number


def check_target_choice(config: pytest.Config) -> None:
    """One target per run: two target flags are a usage error, never a silent choice."""
    given = [
        flag
        for flag, name in TARGET_FLAGS
        # `gateway` always has an ini default, so only its command-line value counts.
        if config.getoption(name) or (name != "gateway" and config.getini(name))
    ]
    if len(given) > 1:
        raise pytest.UsageError(
            f"conformance: {' and '.join(given)} both name the gateway under test; give one of them"
        )


def target_request(config: pytest.Config) -> TargetRequest:
    return TargetRequest(
        gateway=option_value(config, "gateway") or "reference",
        url=option_value(config, "gateway_url") or None,
        token=option_value(config, "gateway_token") or os.environ.get("OPENCLAW_GATEWAY_TOKEN"),
        password=option_value(config, "gateway_password")
        or os.environ.get("OPENCLAW_GATEWAY_PASSWORD"),
        image=option_value(config, "gateway_image") or None,
        allowed_origins=tuple(option_value(config, "gateway_allowed_origins") or ()),
        allow_pairing=bool(option_value(config, "gateway_allow_pairing")),
        cache_dir=option_value(config, "gateway_cache") or None,
        auth=option_value(config, "gateway_auth") or None,
        trusted_proxies=tuple(option_value(config, "gateway_trusted_proxies") or ()) or None,
        config_file=option_value(config, "gateway_config") or None,
        reuse=not option_value(config, "gateway_no_reuse"),
    )


@dataclass(frozen=True)
class Settings:
    """What this run was asked to do: the options and ini settings, checked and parsed once."""

    request: TargetRequest
    min_cases: int
    extra_case_paths: tuple[Path, ...]
    baselines: tuple[str, ...]  # paths, or `auto`
    only_cases: frozenset[str]  # --conformance-case ids; empty: every case
    differential_profile: str | None
    report_path: Path | None

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        """Raises pytest.UsageError for two targets or a bad --min-cases."""
        check_target_choice(config)
        request = target_request(config)
        min_cases = parse_min_cases(option_value(config, "min_cases"))
        # Command-line paths are relative to where pytest runs, ini paths to the rootdir.
        extra = [Path(p) for p in config.getoption("cases") or ()] or [
            Path(str(config.rootpath)) / p for p in config.getini("cases")
        ]
        report_path = option_value(config, "conformance_report")
        return cls(
            request=request,
            min_cases=min_cases,
            extra_case_paths=tuple(extra),
            baselines=tuple(option_value(config, "baseline") or ()),
            only_cases=frozenset(option_value(config, "conformance_cases") or ()),
            differential_profile=option_value(config, "differential") or None,
            report_path=Path(report_path) if report_path else None,
        )
