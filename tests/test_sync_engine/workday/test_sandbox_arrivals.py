"""The sandbox judges a request at the moment it reached the host, as Workday's edge does, not when one of
its threads got to it (`arrivals.py`), and its strict limiter counts a request judged late where it
belongs (`SlidingWindowLimiter`)."""

from __future__ import annotations

import io
import socket
import sys
import time

import pytest

from sync_engine.workday.sandbox.arrivals import TimestampedReader, stamp_arrivals
from sync_engine.workday.sandbox.faults import SlidingWindowLimiter


def _wait_for_kernel_stamps(listener: socket.socket) -> None:
    """Until a connection the listener accepts is stamped: Linux turns stamping on a moment after a socket
    asks (`arrivals`), and a connection inherits the listener's option."""
    deadline = time.monotonic() + 30
    while True:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        with server, client:
            client.sendall(b".")
            _, ancillary, _, _ = server.recvmsg(1, socket.CMSG_SPACE(16))
        if ancillary:
            return
        assert time.monotonic() < deadline, "no connection the listener accepted was stamped by the kernel"
        time.sleep(0.01)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernel receive timestamps: Linux")
def test_a_request_read_late_is_stamped_when_it_arrived() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        assert stamp_arrivals(listener)  # as the sandbox's server does
        _wait_for_kernel_stamps(listener)
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    with server, client:
        reader = TimestampedReader(server)
        stream = io.BufferedReader(reader)
        sent = time.monotonic()
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        time.sleep(0.3)  # the handler thread is busy elsewhere
        assert stream.readline() == b"GET / HTTP/1.1\r\n"
        read = time.monotonic()
    # Lower and upper bounds only: it arrived after it was sent, and well before it was read.
    assert sent - 0.01 <= reader.last_received < read - 0.2


def test_the_strict_limiter_counts_a_late_judged_arrival_where_it_belongs() -> None:
    limiter = SlidingWindowLimiter()
    assert limiter.allow(2, at=10.0) and limiter.allow(2, at=10.3)
    # Judged after those, but arrived between them: a third in one second.
    assert not limiter.allow(2, at=10.2)
    assert limiter.allow(2, at=11.25)
    # Arrived before 11.25 but judged after it: 10.3, 11.1 and 11.25 would share a second.
    assert not limiter.allow(2, at=11.1)
    # Exactly a second after an admission no longer shares its second.
    assert limiter.allow(2, at=12.3)
    assert limiter.allow(None, at=12.31)
