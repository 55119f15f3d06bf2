"""The listening sockets of the control-plane server and the endpoints, and their limits.

- `listen_socket`: the one listening socket of a service, bound once by the parent and
  inherited by each of its processes (`inherited_socket`), never a port that unrelated
  processes join with SO_REUSEPORT (issue 10, finding 2).
- `raise_descriptor_limit`: the soft limit of open descriptors raised to the hard one.
- `port_holder`: which process holds a port, for the message when it is taken.

Plain `socket`, so that what binds a port does not load uvicorn (`_http.py` has the HTTP
protocol).
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket

from shipyard.core.errors import ConflictError, InvalidInputError

BACKLOG = 2048  # uvicorn's default


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (`host`, `port`) and listening, for this process and its
    children alone (no SO_REUSEPORT: nobody else can join the port while it is open).

    Created from the address's own protocol number (IPPROTO_TCP), as uvicorn's would be:
    asyncio switches Nagle's algorithm off (TCP_NODELAY) only on sockets that say TCP,
    and a kept-alive connection with it on waits ~40 ms on every small answer.
    A port in use raises `ConflictError`; an address that cannot be used, `InvalidInputError`.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        # SO_REUSEADDR only lets a restart bind over connections in TIME_WAIT; on Linux it
        # never lets a second socket listen on the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        message = f"cannot listen on {host}:{port}: {exc.strerror}"
        if exc.errno == 98:  # EADDRINUSE
            raise ConflictError(message) from exc
        raise InvalidInputError(message) from exc
    return sock


def port_holder(port: int) -> str | None:
    """Which process listens on TCP `port` ("process 123 (python3)"), if this machine's
    /proc says and lets us see; None otherwise."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    with open(f"/proc/{pid}/comm") as comm:
                        return f"process {pid} ({comm.read().strip()})"
    return None


def inherited_socket(fd: int) -> socket.socket:
    """The listening socket a parent passed down as descriptor `fd` (family, type and
    protocol are read from the descriptor, so TCP_NODELAY still applies)."""
    sock = socket.socket(fileno=fd)
    if sock.type != socket.SOCK_STREAM:
        raise InvalidInputError(f"descriptor {fd} is not a stream socket")
    return sock


def raise_descriptor_limit() -> int:
    """Raise this process's soft limit of open descriptors to its hard limit; the new one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return hard
    return soft
