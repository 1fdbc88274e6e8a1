"""The process tree, read from /proc: what a gateway started, whatever process group it chose."""

from __future__ import annotations

from pathlib import Path


def descendants(root: int) -> set[int]:
    """Every live descendant of `root`, from /proc (empty where there is no /proc).

    9.6 starts helpers (a "spawn broker") in process groups of their own, which a killpg of the
    gateway's group does not reach; they must not outlive the session either.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, ...
        fields = stat.rsplit(")", 1)[-1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
