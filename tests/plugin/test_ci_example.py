"""`examples/ci/conformance.yml`: the GitHub Actions workflow a gateway repository copies.

The workflow's structure is checked as loaded by PyYAML, then its steps are rendered here as far
as this machine allows: the steps' own `run:` scripts, verbatim, with bash as GitHub runs them
(`bash --noprofile --norc -eo pipefail`), in a temporary working directory, against a reference
gateway that this test starts in place of the real one.

Not run here (no GitHub, no registry, no internet): `actions/checkout`, `actions/setup-python`,
`actions/setup-node`, `actions/upload-artifact`, the suite's `pip install`, the gateway's own
build, and both "Start the gateway" steps (`node openclaw.mjs gateway run` needs the gateway's
checkout, the image step needs Docker and an image). The test starts the reference gateway the
way the source step starts the real one (the rendered config, log and pid file under
`$RUNNER_TEMP/openclaw`), and every run script is at least parsed (`bash -n`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._matrix import REPO

WORKFLOW = REPO / "examples" / "ci" / "conformance.yml"
VENV_BIN = Path(sys.executable).parent
BASH = shutil.which("bash")
READY_TIMEOUT_S = 10.0
STEP_TIMEOUT_S = 120.0

pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash to run the workflow's scripts")


def load_workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def steps() -> list[dict[str, Any]]:
    return load_workflow()["jobs"]["conformance"]["steps"]


def step(name: str) -> dict[str, Any]:
    found = [s for s in steps() if s.get("name") == name]
    assert len(found) == 1, f"no single step named {name!r} in {WORKFLOW}"
    return found[0]


def uses(prefix: str) -> list[dict[str, Any]]:
    return [s for s in steps() if str(s.get("uses", "")).startswith(prefix)]


# ---- the workflow's structure ----------------------------------------------------------------


def test_triggers_and_job() -> None:
    wf = load_workflow()
    # PyYAML reads the bare key `on` as YAML 1.1's boolean true.
    on = wf.get("on", wf.get(True))
    assert isinstance(on, dict), on
    assert {"push", "pull_request"} <= set(on) or "workflow_dispatch" in on
    assert on["workflow_dispatch"]["inputs"]["gateway_from"]["options"] == ["source", "image"]
    job = wf["jobs"]["conformance"]
    assert job["runs-on"].startswith("ubuntu")
    assert job["timeout-minutes"] > 0
    assert set(job["env"]) >= {"GATEWAY_FROM", "IMAGE", "GATEWAY_PORT", "GATEWAY_URL"}
    assert job["env"]["GATEWAY_URL"].endswith(f":{job['env']['GATEWAY_PORT']}")
    assert all(s.get("name") for s in job["steps"]), "every step has a name"
    assert all(("run" in s) != ("uses" in s) for s in job["steps"])


def test_setup_steps() -> None:
    assert uses("actions/checkout@")
    assert uses("actions/setup-python@")
    [node] = uses("actions/setup-node@")
    assert str(node["with"]["node-version"]) == "24"
    assert node["if"] == "env.GATEWAY_FROM == 'source'"
    install = step("Install the conformance suite")["run"]
    assert install.strip() == "python -m pip install openclaw-conformance"


def test_the_gateway_starts_either_way() -> None:
    source = step("Start the gateway from source")
    assert source["if"] == "env.GATEWAY_FROM == 'source'"
    assert 'node openclaw.mjs gateway run --port "$GATEWAY_PORT" --bind loopback' in source["run"]
    image = step("Start the gateway image")
    assert image["if"] == "env.GATEWAY_FROM == 'image'"
    assert "docker run -d --name openclaw --network host" in image["run"]
    assert '"$IMAGE"' in image["run"]


def test_reports_and_summary_always() -> None:
    suite = step("Run the conformance suite")
    assert "if" not in suite
    for flag in ("--baseline auto", "--min-cases 30", '--gateway-url "$GATEWAY_URL"'):
        assert flag in suite["run"]
    [upload] = uses("actions/upload-artifact@v4")
    assert upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/") == "reports"
    summary = step("Write the job summary")
    assert summary["if"] == "always()"
    assert 'cat reports/conformance.md >> "$GITHUB_STEP_SUMMARY"' in summary["run"]
    assert step("Stop the gateway")["if"] == "always()"
    assert step("Show the gateway log")["if"] == "failure()"
    names = [s["name"] for s in steps()]
    assert names.index("Run the conformance suite") < names.index("Write the job summary")
    assert names.index("Write the job summary") < names.index("Upload the reports")
    assert names[-1] == "Stop the gateway"


@pytest.mark.parametrize("name", [s["name"] for s in steps() if "run" in s])
def test_every_script_parses(name: str) -> None:
    proc = subprocess.run(
        [BASH or "bash", "-n"], input=step(name)["run"], capture_output=True, text=True, timeout=10
    )
    assert proc.returncode == 0, proc.stderr


# ---- the workflow's steps, run here --------------------------------------------------------


class Runner:
    """A job's environment: the workflow's job env, GitHub's files, and the steps run so far."""

    def __init__(self, tmp: Path) -> None:
        self.workspace = tmp / "workspace"
        self.workspace.mkdir()
        self.temp = tmp / "runner-temp"
        self.temp.mkdir()
        self.github_env = tmp / "github_env"
        self.github_env.touch()
        self.summary = tmp / "step_summary.md"
        self.summary.touch()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCLAW_", "PYTEST_"))}
        job_env = load_workflow()["jobs"]["conformance"]["env"]
        env.update({k: str(v) for k, v in job_env.items() if "${{" not in str(v)})
        env.update(
            GATEWAY_FROM="source",  # `${{ inputs.gateway_from || 'source' }}` on a push
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            RUNNER_TEMP=str(self.temp),
            GITHUB_WORKSPACE=str(self.workspace),
            GITHUB_ENV=str(self.github_env),
            GITHUB_STEP_SUMMARY=str(self.summary),
            CI="true",
            GITHUB_ACTIONS="true",
        )
        self.env = env

    def run(self, name: str) -> subprocess.CompletedProcess[str]:
        """One step's `run:` script as GitHub runs it, with what earlier steps put in GITHUB_ENV."""
        script = self.temp / "step.sh"
        script.write_text(step(name)["run"])
        env = dict(self.env)
        for line in self.github_env.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                env[key] = value
        return subprocess.run(
            [BASH or "bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
        )

    def token(self) -> str:
        lines = self.github_env.read_text().splitlines()
        [token] = [ln.split("=", 1)[1] for ln in lines if ln.startswith("OPENCLAW_GATEWAY_TOKEN=")]
        return token


def start_reference_like_the_source_step(runner: Runner) -> subprocess.Popen:
    """The reference gateway, started as the source step starts `node openclaw.mjs gateway run`:
    the rendered config, a log file and a pid file under $RUNNER_TEMP/openclaw; a free port."""
    gwdir = runner.temp / "openclaw"
    config = str(gwdir / "openclaw.json")
    argv = [sys.executable, "-m", "reference_gateway", "--config", config, "--port", "0"]
    log = (gwdir / "gateway.log").open("w")
    try:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=runner.workspace,
            env={k: v for k, v in runner.env.items() if not k.startswith("GATEWAY_")},
        )
    finally:
        log.close()
    (gwdir / "gateway.pid").write_text(f"{proc.pid}\n")
    return proc


def wait_for_port(proc: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        first = log.read_text().partition("\n")[0]
        if first.startswith("[gateway] listening on ws://"):
            return int(first.rsplit(":", 1)[1])
        assert proc.poll() is None, f"the reference gateway exited: {log.read_text()}"
        time.sleep(0.05)
    raise AssertionError(f"the reference gateway did not listen in {READY_TIMEOUT_S} s")


@pytest.fixture
def job(tmp_path: Path) -> Iterator[tuple[Runner, subprocess.Popen]]:
    runner = Runner(tmp_path)
    config = runner.run("Write the gateway config (throwaway token)")
    assert config.returncode == 0, config.stdout + config.stderr
    proc = start_reference_like_the_source_step(runner)
    try:
        port = wait_for_port(proc, runner.temp / "openclaw" / "gateway.log")
        runner.env["GATEWAY_PORT"] = str(port)
        runner.env["GATEWAY_URL"] = f"ws://127.0.0.1:{port}"
        yield runner, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def test_the_steps_against_a_reference_gateway(job: tuple[Runner, subprocess.Popen]) -> None:
    runner, gateway = job
    token = runner.token()
    assert len(token) >= 32
    config = json.loads((runner.temp / "openclaw" / "openclaw.json").read_text())
    assert config["gateway"]["auth"] == {"mode": "token", "token": token}
    assert config["gateway"]["bind"] == "loopback"

    wait = runner.run("Wait for the gateway")
    assert wait.returncode == 0, wait.stdout + wait.stderr

    suite = runner.run("Run the conformance suite")
    output = suite.stdout + suite.stderr
    assert suite.returncode == 0, output[-4000:]
    reports = runner.workspace / "reports"
    for name in ("conformance.json", "conformance.md", "conformance.html", "junit.xml"):
        assert (reports / name).is_file(), f"reports/{name} missing: {output[-2000:]}"
    report = json.loads((reports / "conformance.json").read_text())
    assert report["summary"]["passed"] >= 30, report["summary"]
    assert report["summary"]["failed"] == 0, report["summary"]
    assert any(ln.startswith("Coverage:") for ln in suite.stdout.splitlines()), output[-2000:]
    markdown = (reports / "conformance.md").read_text()
    assert any(ln.startswith("Coverage:") for ln in markdown.splitlines())
    # Reports are uploaded as artifacts: the throwaway token is in none of them.
    for path in reports.iterdir():
        assert token not in path.read_text(errors="replace"), path.name

    summary = runner.run("Write the job summary")
    assert summary.returncode == 0, summary.stdout + summary.stderr
    heading = next(ln for ln in markdown.splitlines() if ln.startswith("# "))
    assert heading in runner.summary.read_text().splitlines()

    shown = runner.run("Show the gateway log")  # runs on failure() only; shown here anyway
    assert shown.returncode == 0, shown.stderr
    assert "[gateway] connect accepted" in shown.stdout

    stop = runner.run("Stop the gateway")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert gateway.wait(10) is not None


def test_summary_without_a_report(tmp_path: Path) -> None:
    """The suite step died before writing a report (exit 4, 6): the summary step still passes."""
    runner = Runner(tmp_path)
    summary = runner.run("Write the job summary")
    assert summary.returncode == 0, summary.stderr
    assert "No conformance report" in runner.summary.read_text()
