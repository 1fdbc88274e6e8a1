"""Remote locality is real: a server in the namespace sees the host-side veth address."""

from __future__ import annotations

import socket
import subprocess

import pytest

from conformance.targets.netns import Netns, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")


def test_peers_seen_inside_the_namespace_and_teardown() -> None:
    ns = Netns.create(tag="t1")
    try:
        server = ns.socket_inside()
        with server:
            server.bind(("0.0.0.0", 0))
            server.listen()
            port = server.getsockname()[1]
            with socket.create_connection((ns.inner_ip, port), timeout=5):
                conn, (peer, _) = server.accept()
                conn.close()
            assert peer == ns.outer_ip
            assert peer.startswith("198.18.")
            inside = ns.loopback_connector(port)(5)
            with inside:
                conn, (peer, _) = server.accept()
                conn.close()
            assert peer == "127.0.0.1"
            # The host's own loopback is another network: nothing listens there on this port.
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        ns.close()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert ns.name not in listed
    links = subprocess.run(["ip", "link"], capture_output=True, text=True).stdout
    assert "occht1" not in links
