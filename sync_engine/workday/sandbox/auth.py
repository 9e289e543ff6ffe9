"""OAuth of the sandbox tenant: the API client's credentials, refresh tokens (rotated on request) and
access tokens."""

from __future__ import annotations

import hmac
import math
import random
import secrets
import string
import threading
import time
from dataclasses import dataclass

__all__ = ["Grant", "TokenStore", "sandbox_credentials"]

# Expired access tokens are dropped once this many are held, so a long `serve()` does not grow forever.
_PRUNE_ABOVE = 10_000


def sandbox_credentials(tenant: str, seed: int) -> tuple[str, str, str]:
    """(client_id, client_secret, refresh_token), the same for the same tenant and seed, so a restarted
    `serve()` keeps working with the same `.env`."""
    rng = random.Random(f"credentials:{tenant}:{seed}")

    def token(length: int) -> str:
        return "".join(rng.choices(string.ascii_letters + string.digits, k=length))

    return token(48), token(64), token(64)


@dataclass(frozen=True, slots=True)
class Grant:
    access_token: str
    #: Whole seconds, as Workday's `expires_in`.
    expires_in: int
    #: A new refresh token when the tenant rotates them.
    refresh_token: str | None


class TokenStore:
    """Thread-safe."""

    def __init__(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._lock = threading.Lock()
        # Refresh token → monotonic expiry; None until it is rotated out.
        self._refresh_tokens: dict[str, float | None] = {refresh_token: None}
        self._current_refresh_token = refresh_token
        # Access token → (monotonic issue time, monotonic expiry).
        self._access_tokens: dict[str, tuple[float, float]] = {}

    @property
    def refresh_token(self) -> str:
        """The newest refresh token (the first one until a rotation)."""
        with self._lock:
            return self._current_refresh_token

    def client_matches(self, client_id: str, client_secret: str) -> bool:
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        return id_ok and secret_ok

    def grant(self, refresh_token: str, *, lifetime: float, rotate: bool, grace: float) -> Grant | None:
        """A new access token for a valid refresh token; None (invalid_grant) otherwise."""
        with self._lock:
            now = time.monotonic()
            if refresh_token not in self._refresh_tokens:
                return None
            expiry = self._refresh_tokens[refresh_token]
            if expiry is not None and expiry <= now:
                return None
            if len(self._access_tokens) > _PRUNE_ABOVE:
                self._access_tokens = {
                    token: times for token, times in self._access_tokens.items() if times[1] > now
                }
            access_token = secrets.token_urlsafe(32)
            self._access_tokens[access_token] = (now, now + lifetime)
            new_refresh_token = None
            if rotate:
                new_refresh_token = secrets.token_urlsafe(48)
                self._refresh_tokens[new_refresh_token] = None
                if expiry is None:
                    self._refresh_tokens[refresh_token] = now + grace
                self._current_refresh_token = new_refresh_token
            return Grant(access_token, math.ceil(lifetime), new_refresh_token)

    def access_token_valid(self, token: str) -> bool:
        with self._lock:
            times = self._access_tokens.get(token)
            return times is not None and time.monotonic() < times[1]

    def issued_before(self, token: str, moment: float) -> bool:
        """Whether the access token was issued before the monotonic `moment`."""
        with self._lock:
            times = self._access_tokens.get(token)
            return times is not None and times[0] < moment
