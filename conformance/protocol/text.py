"""Bounds on what a gateway can make the harness print: every string it sends (an error message,
a close reason, a log line) is cut to a fixed size, and the cut says how much it dropped. A
gateway answering with a 10 MB message once produced 2.3 GB of output."""

from __future__ import annotations

MESSAGE_LIMIT = 2000  # characters of a message, reason or detail string
LINE_LIMIT = 500  # characters of one log or output line


def cap(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` if it fits, else its first `limit` characters and a marker of the cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text) - limit} more characters]"


def cap_lines(text: str, limit: int = LINE_LIMIT) -> str:
    """Each line of `text` capped (log tails, command output)."""
    return "\n".join(cap(line, limit) for line in text.split("\n"))


def cap_value(value: object, limit: int = MESSAGE_LIMIT, depth: int = 0) -> object:
    """A JSON value with every string capped and containers bounded (error details)."""
    if isinstance(value, str):
        return cap(value, limit)
    if depth > 8:
        return "… [cut: nested deeper than 8 levels]"
    if isinstance(value, dict):
        items = list(value.items())
        out = {cap(str(k), 200): cap_value(v, limit, depth + 1) for k, v in items[:100]}
        if len(items) > 100:
            out["…"] = f"[cut: {len(items) - 100} more keys]"
        return out
    if isinstance(value, list):
        out_list = [cap_value(v, limit, depth + 1) for v in value[:100]]
        if len(value) > 100:
            out_list.append(f"… [cut: {len(value) - 100} more items]")
        return out_list
    return value
