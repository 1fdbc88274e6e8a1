"""When a release's log says a config reload took effect, was refused, or never happened."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from conformance.targets.reload import SwitchFailed, log_size, wait_applied, write_config


def _append_later(path: Path, lines: list[str], delay: float = 0.1) -> None:
    def write() -> None:
        time.sleep(delay)
        with open(path, "a") as fh:
            fh.write("".join(f"{line}\n" for line in lines))

    threading.Thread(target=write, daemon=True).start()


@pytest.mark.parametrize(
    "line",
    [
        "2026-12-04T19:00:48.385+00:00 [reload] config hot reload applied (gateway.auth.token)",
        "2026-12-04T19:00:59.053+00:00 [gateway] ready",  # 9.6, after an in-process restart
        "2026-12-04T18:53:49.142+00:00 [gateway] listening on ws://127.0.0.1:58123",  # 3.13
    ],
)
def test_an_applied_reload_is_seen_after_the_offset(tmp_path: Path, line: str) -> None:
    log = tmp_path / "gateway.log"
    log.write_text("[gateway] ready\n")  # before the write: not an answer to it
    offset = log_size(log)
    _append_later(log, ["[reload] config change detected; evaluating reload", line])
    assert wait_applied(log, offset, exited=lambda: None, timeout=5) == line


def test_a_refused_reload_fails_at_once_with_the_release_words(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    log.write_text("")
    refusal = (
        "[reload] config reload skipped (invalid config): gateway.controlUi: "
        'Unrecognized key: "allowInsecureAuth"'
    )
    _append_later(log, [refusal])
    started = time.monotonic()
    with pytest.raises(SwitchFailed, match="allowInsecureAuth") as info:
        wait_applied(log, 0, exited=lambda: None, timeout=10)
    assert time.monotonic() - started < 5
    assert info.value.reloads  # the release does reload: only this config is refused


def test_a_release_that_never_mentions_a_reload_says_so(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    log.write_text("")
    with pytest.raises(SwitchFailed, match="says nothing of it") as info:
        wait_applied(log, 0, exited=lambda: None, timeout=0.3)
    assert not info.value.reloads


def test_a_gateway_that_dies_while_reloading_fails_the_switch(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    log.write_text("")
    with pytest.raises(SwitchFailed, match="exited with code 1"):
        wait_applied(log, 0, exited=lambda: "exited with code 1", timeout=5)


def test_the_config_is_replaced_in_one_rename(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    write_config(path, {"gateway": {"auth": {"mode": "token"}}})
    assert '"mode": "token"' in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["openclaw.json"]
