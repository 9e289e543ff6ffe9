"""When a request reached the sandbox's host: the kernel's receive timestamp of its first bytes.

Workday's edge counts a request when it arrives. The sandbox's handler threads share one GIL with the
threads building pages, and measured 2026-12-08 a request could wait 56-74 ms between leaving the
client's socket and a thread getting to it: judged then, it was bunched with the requests sent after
it, and the strict limiter refused one that Workday's edge would have let through. So each connection
reads through `TimestampedReader`, and the limiters judge a request at its `arrived` time.

Linux stamps received packets only while some socket asks for stamps, and it turns stamping on a moment
after the first one asks (a deferred static key): measured 2026-12-08, 192 of 200 fresh connections that
asked just before their first byte got no stamp. So the server asks on its listening socket, which holds
stamping on for its whole life and passes the option to every connection it accepts.
"""

from __future__ import annotations

import io
import socket
import struct
import sys
import time

__all__ = ["TimestampedReader", "stamp_arrivals"]

# Linux's SO_TIMESTAMPNS (asm-generic/socket.h); Python's socket module does not name it.
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)
_TIMESPEC = struct.Struct("@qq")


def stamp_arrivals(connection: socket.socket) -> bool:
    """Ask the kernel to stamp what this socket receives (and, on a listener, what its connections
    receive); False where it cannot."""
    if _SO_TIMESTAMPNS is None:
        return False
    try:
        connection.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


class TimestampedReader(io.RawIOBase):
    """The connection's bytes, as `socket.makefile` reads them, noting when the kernel received the bytes of
    each read (`last_received`, on the monotonic clock; the moment of the read where the kernel gives
    none)."""

    def __init__(self, connection: socket.socket) -> None:
        super().__init__()
        self._connection = connection
        self._stamped = stamp_arrivals(connection)
        self.last_received = time.monotonic()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._stamped:
            read = self._connection.recv_into(buffer)
            self.last_received = time.monotonic()
            return read
        read, ancillary, _flags, _address = self._connection.recvmsg_into(
            [buffer], socket.CMSG_SPACE(_TIMESPEC.size)
        )
        self.last_received = time.monotonic()
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
                seconds, nanoseconds = _TIMESPEC.unpack_from(data)
                # The kernel stamps on the wall clock: carried over to the monotonic one.
                self.last_received -= time.time() - (seconds + nanoseconds / 1e9)
        return read
