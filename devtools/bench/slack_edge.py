"""Slack's side of the ack timings: signed requests sent to the app from a process of their own, one thread
per user over raw sockets, each timed from its connect to the last byte of the app's answer.

Slack's edge is other machines. Sent from the emulator's process, a request's time included the Python of
that process (20 users building urllib requests at once, the emulator checking every page the app posts
back, the Workday sandbox building pages, all on one GIL): 20-40 ms on a burst's first requests, while
the app's own handling of each took about 1 ms.
"""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from devtools.slack_emulator.client import SentRequest

__all__ = ["THINK_SECONDS", "EdgeAnswer", "send_from_the_edge"]

#: Slack gives up on an ack after 3 s.
ACK_TIMEOUT = 3.0
#: A user's pause between an answer and their next request: 20 users then send about 80 requests a
#: second, the pace the emulator's own users managed, and four times an admin who clicks every second.
THINK_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class EdgeAnswer:
    #: HTTP status, 0 when the request failed (refused, reset, timed out, cut short).
    status: int
    #: Seconds from connecting to the answer's last byte.
    elapsed: float


def send_from_the_edge(url: str, users: list[list[SentRequest]]) -> list[list[EdgeAnswer]]:
    """Each user's requests one after another (`THINK_SECONDS` apart), every user at once (their first
    requests spread over one pause), from a process of their own; what each got, in the same order."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as edge:
        return edge.submit(_send_all, url, users).result()


def _send_all(url: str, users: list[list[SentRequest]]) -> list[list[EdgeAnswer]]:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    # Built before the clock starts: only the exchange itself is timed.
    wire = [[_request_bytes(parts.netloc, parts.path, sent) for sent in requests] for requests in users]
    answers: list[list[EdgeAnswer]] = [[] for _ in users]
    start = threading.Barrier(len(users))

    def user(n: int) -> None:
        start.wait()
        # Users act at their own moments: spread over one pause, not all in the same millisecond.
        time.sleep(n / len(users) * THINK_SECONDS)
        for request in wire[n]:
            answers[n].append(_exchange(address, request))
            time.sleep(THINK_SECONDS)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _request_bytes(host: str, path: str, sent: SentRequest) -> bytes:
    headers = {**sent.headers, "Host": host, "Content-Length": str(len(sent.body)), "Connection": "close"}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + sent.body


def _exchange(address: tuple[str, int], request: bytes) -> EdgeAnswer:
    started = time.perf_counter()
    try:
        with socket.create_connection(address, timeout=ACK_TIMEOUT) as connection:
            connection.sendall(request)
            status = _read_answer(connection)
    except (OSError, ValueError):
        return EdgeAnswer(0, time.perf_counter() - started)
    return EdgeAnswer(status, time.perf_counter() - started)


def _read_answer(connection: socket.socket) -> int:
    """Read one HTTP answer to its last byte (by its Content-Length, not waiting for the close); its
    status."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += _more(connection)
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
    }
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += _more(connection)
    return int(lines[0].split()[1])


def _more(connection: socket.socket) -> bytes:
    chunk = connection.recv(65536)
    if not chunk:
        raise ValueError("the app closed the connection before its whole answer")
    return chunk
