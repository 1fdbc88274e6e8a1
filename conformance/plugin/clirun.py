"""Running one CLI case's command: the gateway of its config, then `openclaw ARGS` against it."""

from __future__ import annotations

from conformance.cases.model import CliCase
from conformance.targets.base import CliRun, Endpoint, Target

CLI_TIMEOUT_S = 90.0


def run_cli_command(case: CliCase, target: Target) -> tuple[Endpoint, CliRun]:
    """The endpoint of the case's config and the command's run (raises what the target raises:
    CaseNotApplicable, GatewayStartError, TargetUnavailable)."""
    endpoint = target.endpoint(case.gateway)
    values = {
        "token": endpoint.token or "",
        "password": endpoint.password or "",
        "port": str(endpoint.loopback.port if endpoint.loopback else ""),
    }
    args = [part.format(**values) for part in case.command]
    return endpoint, target.run_cli(case.gateway, args, CLI_TIMEOUT_S)
