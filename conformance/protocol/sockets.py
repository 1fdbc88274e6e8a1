"""Where the harness dials a gateway from: a vantage point, and the one way to open a TCP socket
inside another network namespace (a namespace of ours, or a container's)."""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
SETNS_TIMEOUT_S = 10.0

# Opens a TCP socket already connected to the gateway. Remote and loopback vantage points differ
# only in where (in which network namespace) that socket is created.
SocketFactory = Callable[[float], socket.socket]


class NamespaceSocketError(OSError):
    """No socket could be created inside the namespace (setns refused, thread stuck)."""


@dataclass(frozen=True)
class Vantage:
    """One place the harness dials the gateway from."""

    host: str  # the host part of the ws:// URL (and of the Host header)
    port: int
    connect: SocketFactory | None = None  # None: a plain TCP connect to host:port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"


def socket_in_namespace(ns_path: str, family: int = socket.AF_INET) -> socket.socket:
    """A TCP socket created inside the network namespace at `ns_path` (a `/var/run/netns/NAME`
    or a process's `/proc/PID/ns/net`). Needs CAP_SYS_ADMIN (root).

    setns() moves only the calling thread, so a short-lived thread joins the namespace, creates
    the socket and exits; the socket stays bound to the namespace it was created in."""
    result: dict[str, object] = {}

    def join_and_create() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(ns_path, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({ns_path}): {os.strerror(err)}")
            finally:
                os.close(fd)
            result["sock"] = socket.socket(family, socket.SOCK_STREAM)
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    t = threading.Thread(target=join_and_create, name="netns-socket", daemon=True)
    t.start()
    t.join(SETNS_TIMEOUT_S)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    sock = result.get("sock")
    if not isinstance(sock, socket.socket):
        raise NamespaceSocketError(f"could not create a socket inside {ns_path}")
    return sock


def namespace_connector(ns_path: str, host: str, port: int) -> SocketFactory:
    """A SocketFactory: a socket inside the namespace at `ns_path`, connected to host:port."""

    def connect(timeout: float) -> socket.socket:
        sock = socket_in_namespace(ns_path)
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
        sock.setblocking(False)
        return sock

    return connect
