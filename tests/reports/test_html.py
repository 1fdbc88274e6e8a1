"""The HTML pages from the Jinja2 templates: autoescaped gateway text, the CSS and JS inlined
from the package's static files, nothing fetched."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import pytest

from conformance.reports import html, render
from tests.reports._dom import parse

SCRIPT = "<script>alert(1)</script>"


def _rejected_case(message: str) -> dict[str, Any]:
    return {
        "id": "gw.hostile",
        "title": "a gateway answers with markup",
        "axes": {"auth": "token", "locality": "loopback", "device": "none"},
        "severity": "must",
        "refs": ["openclaw/openclaw#1"],
        "outcome": "failed",
        "expected": {"accepted": False, "error": {"code": "NOT_PAIRED"}},
        "observed": {
            "accepted": False,
            "error": {"code": SCRIPT, "details_code": None, "message": message},
            "close_code": 1008,
            "probes": {"operator.read": message},
        },
        "message": message,
        "problems": [
            {"field": "error.code", "rule": "equal", "expected": "NOT_PAIRED",
             "observed": SCRIPT, "text": f"error.code {SCRIPT} != expected NOT_PAIRED"},
        ],
    }  # fmt: skip


def _pages(message: str) -> dict[str, str]:
    report = {"target": {"name": SCRIPT, "kind": "url"}, "cases": [_rejected_case(message)]}
    matrix = render.matrix_from_reports([report, report])
    return {"run": render.run_html(report), "matrix": render.matrix_html(matrix)}


@pytest.mark.parametrize("kind", ["run", "matrix"])
def test_a_gateway_message_with_a_script_shows_as_text(kind: str) -> None:
    out = _pages(SCRIPT)[kind]
    page = parse(out)
    assert page.tags.get("script") == 1  # the page's own, inlined
    assert SCRIPT not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    # what a reader sees: the literal text, in the message, the facts and the tooltip
    text = re.sub(r"<[^>]+>", "", out)
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3


@pytest.mark.parametrize("kind", ["run", "matrix"])
def test_attribute_breakouts_stay_inside_the_attribute(kind: str) -> None:
    out = _pages('" onmouseover="alert(1)" x=\'')[kind]
    names: set[str] = set()

    class Attributes(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            names.update(name for name, _ in attrs)

    Attributes().feed(out)
    assert "onmouseover" not in names and "x" not in names
    assert "&quot; onmouseover=&quot;alert(1)&quot; x=&#x27;" in out


@pytest.mark.parametrize("kind", ["run", "matrix"])
def test_css_and_js_are_inlined_and_nothing_is_fetched(kind: str) -> None:
    out = _pages("m")[kind]
    static = resources.files("conformance.reports").joinpath("static")
    css = static.joinpath("report.css").read_text(encoding="utf-8")
    js = static.joinpath("report.js").read_text(encoding="utf-8")
    assert f"<style>{css}</style>" in out
    assert f"<script>{js}</script>" in out
    assert not re.search(r"<(link|img|iframe|object|embed)\b", out)
    assert not re.search(r"\s(src|srcset)=", out)
    assert "@import" not in out and "url(" not in out
    # the only URLs are the links to upstream pages, as plain anchors
    urls = re.findall(r"https?://[^\s\"'<>]+", out)
    assert urls and set(urls) == set(parse(out).links)


def test_the_environment_autoescapes() -> None:
    env = html.environment()
    assert env.autoescape is True
    assert env.from_string("{{ v }}").render(v=SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_templates_and_static_files_are_package_data() -> None:
    # A non-editable install has only what pyproject's package-data lists: everything the
    # renderer loads must live under those two globs.
    base = resources.files("conformance.reports")
    for name in ("base.html.j2", "macros.html.j2", "run.html.j2", "matrix.html.j2"):
        assert base.joinpath("templates", name).is_file(), name
    for name in ("report.css", "report.js"):
        assert base.joinpath("static", name).is_file(), name
    env = html.environment()
    assert set(env.list_templates()) >= {"run.html.j2", "matrix.html.j2"}
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]["conformance.reports"]
    assert data == ["templates/*", "static/*"]
