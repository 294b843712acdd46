"""The guard conftest.py installs: tests reach the loopback and nothing else."""

import socket
import urllib.request

import pytest
from network_guard import NetworkBlocked


def test_another_machine_is_refused_before_any_packet_leaves():
    with pytest.raises(NetworkBlocked, match="only the loopback"):
        socket.create_connection(("93.184.215.14", 443), timeout=1)
    with pytest.raises(NetworkBlocked, match="example.com"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(OSError):  # what a library sees: a connection error, as for a server that is down
        urllib.request.urlopen("https://example.com/", timeout=1)


def test_the_loopback_is_reachable():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
        assert socket.getaddrinfo("localhost", 80)
    finally:
        server.close()
