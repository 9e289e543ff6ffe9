"""Keeps a run's status lock alive while its holder works (see `bot.status.throttle`)."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

import redis

from bot.status.throttle import Throttle

__all__ = ["LockHeartbeat"]

log = logging.getLogger(__name__)


class LockHeartbeat:
    """Keeps a run's update lock alive while its holder works: renewed every `every` seconds to `ttl`.

    The lock's TTL is short so that it dies with a killed holder (no renewal) within `ttl` seconds, while
    a live holder keeps it through a slow Slack call. `lost` tells that the lock expired under the holder
    (it stalled longer than `ttl`): another updater may have shown a newer state meanwhile.
    """

    def __init__(self, throttle: Throttle, run_id: int, token: str, *, ttl: float, every: float) -> None:
        self._throttle = throttle
        self._run_id = run_id
        self._token = token
        self._ttl = ttl
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"status-lock-{run_id}", daemon=True)
        self.lost = False

    def __enter__(self) -> LockHeartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        if not self.lost:
            # The last renewal may be up to `every` old: was the lock still ours when the work ended?
            self.lost = not self._renew()

    def _renew(self) -> bool:
        try:
            return self._throttle.renew(self._run_id, self._token, self._ttl)
        except redis.RedisError:
            # Redis blinked: the lock may still be ours; the next renewal tells.
            log.warning("Could not renew the status lock", extra={"run_id": self._run_id})
            return True

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            if not self._renew():
                self.lost = True
                return
