"""A network namespace that makes "remote" real: the gateway sees a non-loopback peer.

Layout (addresses from the 198.18.0.0/15 benchmarking range, so they can never be someone else's):

    host (harness)  occ-h<N> 198.18.<k>.1  <--veth-->  occ-n<N> 198.18.<k>.2  namespace (gateway)

The gateway runs inside the namespace bound to every interface. A remote client dials
198.18.<k>.2 from the host and the gateway sees the peer 198.18.<k>.1; a loopback client needs a
socket created *inside* the namespace dialling 127.0.0.1. A network namespace is a per-thread
attribute, so a short-lived thread joins the namespace with setns(2), creates the socket and exits:
the socket stays in the namespace it was created in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass

import filelock

from conformance.protocol.sockets import SocketFactory, namespace_connector, socket_in_namespace
from conformance.targets import registry

NETNS_DIR = "/var/run/netns"
LOCK_PATH = "/tmp/openclaw-conformance-netns.lock"
LOCK_TIMEOUT_S = 60.0  # the holder only runs a few `ip` commands


class NetnsUnavailable(Exception):
    """Why remote locality cannot be produced on this machine."""


def _run(*argv: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    if proc.returncode != 0:
        raise NetnsUnavailable(f"`{' '.join(argv)}` failed: {proc.stderr.strip()}")


def unavailable_reason() -> str | None:
    """None when a namespace can be made here, else what is missing."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "remote locality needs root to create a network namespace (run as root)"
    if shutil.which("ip") is None:
        return "remote locality needs the `ip` command (Debian package iproute2)"
    return None


@dataclass
class Netns:
    """One namespace and its veth pair; `close()` removes both (the veth dies with the netns)."""

    name: str
    outer_ip: str  # host side: the address the gateway sees for remote clients
    inner_ip: str  # namespace side: where remote clients dial the gateway
    host_if: str = ""
    _closed: bool = False

    @classmethod
    def create(cls, tag: str | None = None) -> Netns:
        reason = unavailable_reason()
        if reason:
            raise NetnsUnavailable(reason)
        n = tag or str(os.getpid())
        name = f"occ-{n}"
        host_if, ns_if = f"occh{n}"[-15:], f"occn{n}"[-15:]
        _cleanup_stale(name, host_if)
        # Parallel sessions (pytest-xdist workers) each make a namespace: the lock makes picking
        # a free /30 and claiming it one step.
        with filelock.FileLock(LOCK_PATH, timeout=LOCK_TIMEOUT_S):
            k = _free_subnet(start=os.getpid() % 250)
            outer, inner = f"198.18.{k}.1", f"198.18.{k}.2"
            _run("ip", "netns", "add", name)
            registry.current().add("netns", [name, host_if])
            ns = cls(name=name, outer_ip=outer, inner_ip=inner, host_if=host_if)
            try:
                _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
                _run("ip", "link", "set", ns_if, "netns", name)
                _run("ip", "addr", "add", f"{outer}/30", "dev", host_if)
                _run("ip", "link", "set", host_if, "up")
                _run("ip", "netns", "exec", name, "ip", "addr", "add", f"{inner}/30", "dev", ns_if)
                _run("ip", "netns", "exec", name, "ip", "link", "set", ns_if, "up")
                _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
            except BaseException:
                ns.close()
                raise
        return ns

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that runs `argv` inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    @property
    def path(self) -> str:
        return os.path.join(NETNS_DIR, self.name)

    def socket_inside(self, family: int = socket.AF_INET) -> socket.socket:
        return socket_in_namespace(self.path, family)

    def loopback_connector(self, port: int) -> SocketFactory:
        """A SocketFactory: a socket inside the namespace, connected to its 127.0.0.1:port."""
        return self.connector("127.0.0.1", port)

    def connector(self, host: str, port: int) -> SocketFactory:
        """A socket inside the namespace, connected to host:port (e.g. the host side of the veth
        pair, where a gateway of this host listens beyond loopback)."""
        return namespace_connector(self.path, host, port)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Deleting our end removes the pair now; the namespace's own teardown is deferred by the
        # kernel while sockets created in it linger (TIME_WAIT), which would keep the veth up.
        if self.host_if:
            subprocess.run(
                ["ip", "link", "del", self.host_if], capture_output=True, timeout=10, check=False
            )
        subprocess.run(
            ["ip", "netns", "del", self.name], capture_output=True, timeout=10, check=False
        )
        registry.current().discard("netns", [self.name, self.host_if])


def _free_subnet(start: int) -> int:
    """A third octet k whose 198.18.k.0/30 no interface of this host uses yet."""
    used = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    for i in range(250):
        k = (start + i) % 250 + 1
        if f" 198.18.{k}." not in used:
            return k
    raise NetnsUnavailable("no free 198.18.x.0/30 subnet left for a network namespace")


def _cleanup_stale(name: str, host_if: str) -> None:
    """A namespace left by a killed run with the same pid would make `ip netns add` fail."""
    with contextlib.suppress(Exception):
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, check=False)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=10, check=False)
