"""A stdlib HTML parser for the report pages: the `tr.case` rows of `table#cases`, and the
elements a test wants to count, from markup a browser produced (or from the renderer directly in
the unit tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    rows: list[dict[str, str]] = field(default_factory=list)  # attributes of each tr.case
    tags: dict[str, int] = field(default_factory=dict)  # element name -> count
    links: list[str] = field(default_factory=list)  # every a[href]
    title: str = ""
    script_text: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._table_depth = 0  # > 0 while inside table#cases (tables may nest in cells)
        self._in_title = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.page.tags[tag] = self.page.tags.get(tag, 0) + 1
        if tag == "table":
            if self._table_depth or a.get("id") == "cases":
                self._table_depth += 1
        elif tag == "tr" and self._table_depth and "case" in a.get("class", "").split():
            self.page.rows.append(a)
        elif tag == "a" and "href" in a:
            self.page.links.append(a["href"])
        self._in_title = tag == "title"
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._table_depth:
            self._table_depth -= 1
        if tag in ("title", "script"):
            self._in_title = self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.page.title += data
        if self._in_script:
            self.page.script_text.append(data)


def parse(markup: str) -> Page:
    parser = _Parser()
    parser.feed(markup)
    parser.close()
    return parser.page
