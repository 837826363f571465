"""Whether a port can be listened on, checked before minutes of work end in a bind error."""

from __future__ import annotations

import socket

from tenure.errors import TenureError

# A demo that finds its default port taken tries the next few before it gives up.
DEMO_PORT_TRIES = 20


class PortInUse(TenureError):
    """Another program already listens on the port."""

    code = "port_in_use"


def can_listen(host: str, port: int) -> bool:
    """True when a server could bind `host:port` now (SO_REUSEADDR, as uvicorn binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def require_port(host: str, port: int) -> None:
    """Raise PortInUse, with what to do, unless `host:port` is free."""
    if not can_listen(host, port):
        raise PortInUse(host=host, port=port, other=port + 1)


def first_free_port(host: str, start: int, tries: int = DEMO_PORT_TRIES) -> int:
    """The first port from `start` on that is free; PortInUse naming `start` when none is."""
    for port in range(start, start + tries):
        if can_listen(host, port):
            return port
    raise PortInUse(host=host, port=start, other=start + tries)
