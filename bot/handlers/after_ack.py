"""A listener's work after its ack, on the app's listener threads.

The app runs with Bolt's `process_before_response`: a listener runs in the request's own thread and its
HTTP answer leaves as soon as it returns. So each listener only acknowledges (with what Slack needs in the
answer, e.g. a form's validation errors) and hands the rest here. Bolt's default instead runs the whole
listener on a pool thread while the request thread polls every 10 ms for its ack(): under 20 concurrent
requests that wait was 98 % of an ack's time (py-spy). Bolt's lazy listeners would do the same hand-off but
deep-copy and re-parse each request before answering, and log a failure without the app's error handler.
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["AfterAck", "log_failure"]

log = logging.getLogger(__name__)


def log_failure(error: Exception, body: dict[str, Any]) -> None:
    """A listener failed: logged with what identifies the request, never its tokens or the typed
    identifiers (the app's error handler for failures before the ack, `AfterAck` for those after)."""
    log.error(
        "Slack request failed",
        exc_info=error,
        extra={"type": body.get("type") or "slash_command", "user": _user(body)},
    )


class AfterAck:
    """`after_ack(body, work)`: run `work` on one of `threads` listener threads, leaving the ack to go.

    The threads all run from the start and take work from one queue, so handing work over takes no lock
    but the GIL. A `ThreadPoolExecutor` starts a thread inside `submit` when none is idle and waits for it
    to run, and every submit takes a lock all the process's pools share: while the process is busy, a
    holder that loses the GIL keeps the others waiting (py-spy: the slowest acks, 10-40 ms, were all
    waiting in `submit`).
    """

    def __init__(self, threads: int) -> None:
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        for n in range(threads):
            threading.Thread(target=_serve, args=(self._queue,), name=f"slack-{n}", daemon=True).start()
        # The threads hold the queue, not this object: once the app is gone, they end.
        weakref.finalize(self, _stop, self._queue, threads)

    def __call__(self, body: dict[str, Any], work: Callable[[], None]) -> None:
        self._queue.put((body, work))


_Work = tuple[dict[str, Any], Callable[[], None]]


def _serve(work_queue: queue.SimpleQueue[_Work | None]) -> None:
    while (item := work_queue.get()) is not None:
        body, work = item
        try:
            work()
        except Exception as error:
            log_failure(error, body)
        del item, body, work  # what the work held (the app) must not outlive it here


def _stop(work_queue: queue.SimpleQueue[_Work | None], threads: int) -> None:
    for _ in range(threads):
        work_queue.put(None)


def _user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id"))
    return body.get("user_id")
