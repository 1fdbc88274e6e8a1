"""Wire-level protocol values: frames, error shapes, close codes and the first-frame classifier.

Everything here is pure data and pure functions; the transport turns these values into bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class CloseCode(IntEnum):
    NORMAL = 1000  # handshake timeout and not-JSON first frame: closed with no response
    PROTOCOL_ERROR = 1002  # protocol version mismatch
    POLICY_VIOLATION = 1008  # every rejected connect
    MESSAGE_TOO_BIG = 1009  # pre-auth frame above 64 KiB
    INTERNAL_ERROR = 1011  # our own bug: never let an exception escape to the client


class ErrorCode:
    """`ErrorShape.code` values. 9.6 adds FORBIDDEN (missing scope)."""

    NOT_LINKED = "NOT_LINKED"
    NOT_PAIRED = "NOT_PAIRED"
    AGENT_TIMEOUT = "AGENT_TIMEOUT"
    INVALID_REQUEST = "INVALID_REQUEST"
    UNAVAILABLE = "UNAVAILABLE"
    FORBIDDEN = "FORBIDDEN"


# A WebSocket close reason is at most 123 bytes of UTF-8 (RFC 6455 5.5: 125 minus the code).
MAX_CLOSE_REASON_BYTES = 123
PREAUTH_MAX_FRAME_BYTES = 65536
MAX_PAYLOAD_BYTES = 26214400
MAX_BUFFERED_BYTES = 52428800
TICK_INTERVAL_MS = 30000


@dataclass(frozen=True)
class ErrorShape:
    code: str
    message: str
    details: Any = None
    retryable: bool | None = None
    retry_after_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        if self.retryable is not None:
            out["retryable"] = self.retryable
        if self.retry_after_ms is not None:
            out["retryAfterMs"] = self.retry_after_ms
        return out


@dataclass(frozen=True)
class RequestFrame:
    id: str
    method: str
    params: Any = None
    has_params: bool = False


@dataclass(frozen=True)
class CloseOnly:
    """The server answers nothing and closes (not JSON, not a request frame)."""

    code: int
    reason: str = ""


@dataclass(frozen=True)
class ErrorThenClose:
    """The server sends `res ok:false` for `request_id`, then closes."""

    request_id: str
    error: ErrorShape
    code: int
    reason: str


@dataclass(frozen=True)
class FrameParse:
    frame: RequestFrame | None = None
    failure: CloseOnly | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def truncate_close_reason(reason: str, limit: int = MAX_CLOSE_REASON_BYTES) -> str:
    """Cut at the byte limit without splitting a UTF-8 sequence."""
    text = well_formed(reason)  # a client's lone surrogate, quoted, as Node encodes it
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


def parse_request_frame(data: str | bytes) -> FrameParse:
    """Classify one incoming WS message as a request frame or a close-without-answer.

    Not JSON (or not UTF-8) -> close 1000 with an empty reason (K15); valid JSON that is not a
    `req` frame -> close 1008 "invalid request frame" (§1.3).
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return FrameParse(failure=CloseOnly(CloseCode.NORMAL, ""))
    invalid = FrameParse(failure=CloseOnly(CloseCode.POLICY_VIOLATION, "invalid request frame"))
    try:
        obj = json.loads(data)
    except RecursionError:
        # Valid JSON nested deeper than Python's parser goes; JSON.parse takes it and the frame
        # then fails the schema (9.6: 1008 "invalid request frame").
        return invalid
    except ValueError:
        return FrameParse(failure=CloseOnly(CloseCode.NORMAL, ""))
    if not isinstance(obj, dict) or obj.get("type") != "req":
        return invalid
    req_id, method = obj.get("id"), obj.get("method")
    if not isinstance(req_id, str) or not req_id or not isinstance(method, str) or not method:
        return invalid
    # Unknown extra keys on the envelope are rejected like any other schema violation.
    if set(obj) - {"type", "id", "method", "params"}:
        return invalid
    return FrameParse(
        frame=RequestFrame(
            id=req_id, method=method, params=obj.get("params"), has_params="params" in obj
        )
    )


def first_request_not_connect(frame: RequestFrame) -> ErrorThenClose:
    message = "invalid handshake: first request must be connect"
    return ErrorThenClose(
        request_id=frame.id,
        error=ErrorShape(ErrorCode.INVALID_REQUEST, message),
        code=CloseCode.POLICY_VIOLATION,
        reason=message,
    )


def res_ok(request_id: str, payload: Any) -> dict[str, Any]:
    return {"type": "res", "id": request_id, "ok": True, "payload": payload}


def res_error(request_id: str, error: ErrorShape) -> dict[str, Any]:
    return {"type": "res", "id": request_id, "ok": False, "error": error.to_json()}


def event(name: str, payload: Any = None, seq: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "event", "event": name}
    if payload is not None:
        out["payload"] = payload
    if seq is not None:
        out["seq"] = seq
    return out


def challenge_event(nonce: str, ts_ms: int) -> dict[str, Any]:
    return event("connect.challenge", {"nonce": nonce, "ts": ts_ms})


_SURROGATE = re.compile("[\ud800-\udfff]")


def encode(frame: dict[str, Any]) -> str:
    """The frame as JSON text. A lone surrogate (valid in JSON text, `"\\ud800"`, but not
    encodable as UTF-8) is written as its escape, as JavaScript's JSON.stringify writes it:
    OpenClaw echoes such a request id."""
    text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
    if not text.isascii() and _SURROGATE.search(text):
        return json.dumps(frame, separators=(",", ":"), ensure_ascii=True)
    return text


def well_formed(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, as Node's Buffer.from encodes it."""
    return _SURROGATE.sub("\ufffd", text) if not text.isascii() else text
