"""Free TCP ports for processes a test starts itself (one helper: the kernel picks, bind to port 0)."""

from __future__ import annotations

import socket

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """A port nothing listens on right now. Free only until someone binds it: pass it to the process at once
    (and prefer `0` where the process can pick and report its own port, as `python -m embedded` does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def bound_socket(host: str = LOCALHOST) -> socket.socket:
    """A TCP socket already bound to a port the kernel picked, for a server run in-process (uvicorn's
    `sockets=`): no window in which another process can take the port. The caller closes it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    return sock


def port_of(sock: socket.socket) -> int:
    """The port a bound socket holds."""
    return int(sock.getsockname()[1])
