"""The HTML reports in a real browser: a real run report (the suite against the 2026.3.13
reference profile, run in a child pytest) and a matrix of it with the current reference, rendered,
opened in headless Chromium, screenshotted, and the browser's DOM counted.

Skipped with the reason when Chromium is not on PATH (scripts/ensure-chromium installs it),
unless OPENCLAW_CONFORMANCE_REQUIRE_CHROMIUM=1, where that is a failure. Screenshots go to the
pytest tmp dir only; set OPENCLAW_CONFORMANCE_SCREENSHOT_DIR to keep copies elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conformance.reports import render
from tests.reports._dom import Page, parse

REQUIRE = os.environ.get("OPENCLAW_CONFORMANCE_REQUIRE_CHROMIUM") == "1"
CHILD_TIMEOUT_S = 600
BROWSER_TIMEOUT_S = 120
# The flags that make a headless run quiet and hermetic: no GPU, no network side traffic
# (component updates, sync, field trials), a throw-away profile per call.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # running as root in a container: the sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        reason = "chromium is not on PATH (run scripts/ensure-chromium)"
        if REQUIRE:
            pytest.fail(f"{reason} (and OPENCLAW_CONFORMANCE_REQUIRE_CHROMIUM=1)", pytrace=False)
        pytest.skip(reason)
    return path


def _run_suite(gateway: str, workdir: Path) -> dict[str, Any]:
    """The conformance suite against `gateway` in a child pytest; its v1 report. The child runs
    in its own directory so its tmp files and reports cannot collide with this session."""
    workdir.mkdir(parents=True, exist_ok=True)
    report = workdir / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        "conformance",
        "-p",
        "no:cacheprovider",
        "-q",
        "--gateway",
        gateway,
        "--conformance-report",
        str(report),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    # 0: all passed; 1: some cases failed (2026.3.13 has known failures). Anything else means
    # the run itself broke.
    assert proc.returncode in (0, 1), f"{gateway}: exit {proc.returncode}\n{proc.stdout[-3000:]}"
    assert report.is_file(), f"{gateway}: no report\n{proc.stdout[-3000:]}"
    return json.loads(report.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def real_reports(
    chromium: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, Any]]:
    base = tmp_path_factory.mktemp("suite-runs")
    # The two runs are independent processes with their own gateways: run them side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        old = pool.submit(_run_suite, "reference@2026.3.13", base / "old")
        cur = pool.submit(_run_suite, "reference", base / "current")
        return old.result(), cur.result()


def _chromium(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)
    assert proc.returncode == 0, f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    return proc


def _open_in_browser(chromium: str, page: Path) -> tuple[Page, Path]:
    """Screenshot and DOM of `page` as Chromium renders it (after its inline script ran)."""
    url = page.resolve().as_uri()
    png = page.with_suffix(".png")
    _chromium(chromium, f"--screenshot={png}", "--window-size=1400,2000", url)
    assert png.is_file(), f"no screenshot at {png}"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, "screenshot is not a page"
    keep = os.environ.get("OPENCLAW_CONFORMANCE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
    dom = _chromium(chromium, "--dump-dom", url).stdout
    assert "</html>" in dom, f"no DOM dumped for {url}"
    return parse(dom), png


def test_run_report_renders_in_chromium(
    chromium: str, real_reports: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    report = json.loads(json.dumps(real_reports[0]))  # a copy: the fixture is shared
    cases = report["cases"]
    assert report["summary"]["failed"] > 0 and report["summary"]["passed"] > 0
    # Gateway text is untrusted: plant markup in one real message; the browser must show it as
    # text (no new element, no script run) without changing the row count.
    cases[0]["message"] = HOSTILE
    page_path = tmp_path / "run.html"
    page_path.write_text(render.run_html(report), encoding="utf-8")
    (tmp_path / "run.md").write_text(render.run_markdown(report), encoding="utf-8")

    dom, png = _open_in_browser(chromium, page_path)
    print(f"screenshot: {png}")
    assert len(dom.rows) == len(cases)
    assert sorted(r["data-id"] for r in dom.rows) == sorted(c["id"] for c in cases)
    assert "pwned" not in dom.title and "img" not in dom.tags
    assert dom.tags.get("script") == 1
    # failures first, as the browser laid them out
    ranks = [render.outcome_rank(r["data-outcome"]) for r in dom.rows]
    assert ranks == sorted(ranks)
    assert dom.rows[0]["data-outcome"] == "failed"
    assert any(
        link.startswith("https://github.com/openclaw/openclaw/issues/") for link in dom.links
    )


def test_matrix_renders_in_chromium(
    chromium: str, real_reports: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    matrix = render.matrix_from_reports(list(real_reports))
    assert [t["name"] for t in matrix["targets"]] == ["reference@2026.3.13", "reference"]
    page_path = tmp_path / "matrix.html"
    page_path.write_text(render.matrix_html(matrix), encoding="utf-8")
    (tmp_path / "matrix.md").write_text(render.matrix_markdown(matrix), encoding="utf-8")

    dom, png = _open_in_browser(chromium, page_path)
    print(f"screenshot: {png}")
    assert len(dom.rows) == len(matrix["cases"])
    differing = sum(1 for c in matrix["cases"] if c["differs"])
    # every 2026.3.13 failure passes on the current reference, so at least those rows differ
    assert differing >= real_reports[0]["summary"]["failed"] > 0
    flags = [r["data-differs"] for r in dom.rows]
    assert flags == ["true"] * differing + ["false"] * (len(flags) - differing)
