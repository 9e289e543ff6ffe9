"""The sandbox tenant's front door: latency, throttling, random faults, credentials and permissions, then the
operation. One method per endpoint, each returning the `Reply` to send; HTTP itself is `server`'s business."""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import parse_qs, unquote_plus

from lxml import etree

from sync_engine.workday.sandbox import rest
from sync_engine.workday.sandbox import soap_parsing as parsing
from sync_engine.workday.sandbox import soap_responses as responses
from sync_engine.workday.sandbox.auth import TokenStore
from sync_engine.workday.sandbox.data import SandboxData
from sync_engine.workday.sandbox.faults import FaultDice, RateLimiter, SandboxKnobs, SlidingWindowLimiter
from sync_engine.workday.sandbox.locales import texts
from sync_engine.workday.sandbox.replies import HTML_CONTENT_TYPE, JSON_CONTENT_TYPE, Reply, soap_reply
from sync_engine.workday.sandbox.rest_operations import list_invoices
from sync_engine.workday.sandbox.soap_operations import Variations, get_customer_payments, get_customers

__all__ = [
    "GATEWAY_TIMEOUT_BODY",
    "NOT_AUTHORIZED",
    "NOT_IMPLEMENTED",
    "RESOURCE_NOT_FOUND",
    "SandboxService",
]

#: Processing_Fault text of an operation the API client is not allowed to call.
NOT_AUTHORIZED = "The task submitted is not authorized."
#: REST error text of a resource the tenant does not serve (CA-OAS: 404 "Resource not found").
RESOURCE_NOT_FOUND = "Resource not found."
#: What a held (timed-out) request finally gets, if its client is still there.
GATEWAY_TIMEOUT_BODY = b"<html><body>504 Gateway Time-out</body></html>"
#: Real Revenue_Management operations the sandbox does not serve (our client does not use them).
NOT_IMPLEMENTED = frozenset(
    {"Get_Customer_Invoices", "Get_Customer_Invoice_Adjustments", "Get_Customer_Activity"}
)

_SoapOperation = Callable[[SandboxData, etree._Element, str, Variations], Reply]
_SOAP_OPERATIONS: dict[str, _SoapOperation] = {
    "Get_Customers": get_customers,
    "Get_Customer_Payments": get_customer_payments,
}


class SandboxService:
    """One tenant's endpoints. Thread-safe: every handler thread calls it."""

    def __init__(
        self,
        *,
        data: SandboxData,
        knobs: SandboxKnobs,
        tokens: TokenStore,
        tenant: str,
        base_url: str,
        stopping: threading.Event,
    ) -> None:
        self.tenant = tenant
        self._data = data
        self._knobs = knobs
        self._tokens = tokens
        self._invoices_href = f"{base_url}/ccx/api/customerAccounts/v1/{tenant}/invoices"
        # Set when the sandbox closes, to cut every pause short.
        self._stopping = stopping
        self._dice = FaultDice(knobs)
        self._limiter = RateLimiter()
        self._strict_limiter = SlidingWindowLimiter()
        # When `stale_token_scopes` was first seen on (monotonic); tokens issued before it get 403.
        self._scopes_changed_at: float | None = None
        self._order_lock = threading.Lock()
        self._order_moves = 0

    def token(self, authorization: str | None, body: bytes) -> Reply:
        """`POST /ccx/oauth2/{tenant}/token`: the refresh-token grant, client authenticated by HTTP Basic."""
        knobs = self._knobs
        self._pause(knobs.latency)
        credentials = _basic_credentials(authorization)
        if credentials is None or not self._tokens.client_matches(*credentials):
            challenge = ("WWW-Authenticate", f'Basic realm="{self.tenant}"')
            return _token_reply(401, {"error": "invalid_client"}, "unauthorized", (challenge,))
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        grant_type = form.get("grant_type", [""])[-1]
        refresh_token = form.get("refresh_token", [""])[-1]
        if grant_type and grant_type != "refresh_token":
            return _token_reply(400, {"error": "unsupported_grant_type"}, "fault")
        if not grant_type or not refresh_token:
            return _token_reply(400, {"error": "invalid_request"}, "fault")
        grant = None
        if not knobs.revoked:
            grant = self._tokens.grant(
                refresh_token,
                lifetime=knobs.token_lifetime,
                rotate=knobs.rotate_refresh_tokens,
                grace=knobs.rotation_grace,
            )
        if grant is None:
            return _token_reply(400, {"error": "invalid_grant"}, "unauthorized")
        payload: dict[str, rest.JsonValue] = {
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "expires_in": grant.expires_in,
        }
        if grant.refresh_token is not None:
            payload["refresh_token"] = grant.refresh_token
        return _token_reply(200, payload, "ok", (("Cache-Control", "no-store"), ("Pragma", "no-cache")))

    def soap(
        self, service: str, version: str, authorization: str | None, body: bytes, arrived: float | None = None
    ) -> Reply:
        """`POST /ccx/service/{tenant}/{service}/{version}`: dispatch on the Body's first element; `arrived`:
        when the request reached the host (monotonic clock; default now)."""
        knobs = self._knobs
        try:
            request = parsing.parse_request(body)
        except parsing.SoapRequestError as error:
            self._pause(knobs.latency)
            return soap_reply("unknown", responses.malformed_fault(str(error)))
        operation = parsing.operation_name(request) or "unknown"
        # The limiters count a request when it arrives; answering it, refused or not, takes the latency.
        refused = self._gate(operation, rest_api=False, arrived=arrived)
        self._pause(knobs.latency)
        if refused is not None:
            return refused
        if not self._bearer_valid(authorization):
            return soap_reply(operation, responses.authentication_fault(), outcome="unauthorized")
        words = texts(knobs.fault_locale)
        request_version = parsing.request_version(request)
        if (
            service != "Revenue_Management"
            or version not in parsing.SUPPORTED_VERSIONS
            or request_version not in (None, *parsing.SUPPORTED_VERSIONS)
        ):
            return soap_reply(operation, responses.version_fault(words), detail=f"{service}/{version}")
        if operation in knobs.unauthorized_operations:
            denied = responses.processing_fault(words.not_authorized, words)
            return soap_reply(operation, denied, outcome="unauthorized")
        if self._dice.roll(knobs.processing_fault_rate):
            return soap_reply(
                operation, responses.processing_fault(words.transient, words), detail="transient"
            )
        answer = _SOAP_OPERATIONS.get(operation)
        if answer is None:
            if operation in NOT_IMPLEMENTED:
                message = f"{operation} is not implemented in sandbox."
                return soap_reply(operation, responses.processing_fault(message, words))
            return soap_reply(operation, responses.version_fault(words), detail=f"{service}/{version}")
        shape = Variations(
            words=words,
            echo_response_filter=not knobs.omit_response_filter,
            require_as_of_on_pages=knobs.require_as_of_on_pages,
            references_ignore_case=knobs.references_ignore_case,
            reverse_order=knobs.reverse_response_order,
            hidden_payments_of=frozenset(knobs.hidden_payments_of),
            interleave_customers=knobs.interleave_customers,
        )
        reply = answer(self._data, request, version, shape)
        if operation == "Get_Customer_Payments" and reply.page == 1:
            self._pause(knobs.slow_page_seconds)
        return self._size_limited(self._priced(reply))

    def invoices(self, query: str, authorization: str | None, arrived: float | None = None) -> Reply:
        """`GET /ccx/api/customerAccounts/v1/{tenant}/invoices` (`arrived`: as for `soap`)."""
        operation = "invoices"
        refused = self._gate(operation, rest_api=True, arrived=arrived)  # on arrival, as for SOAP
        self._pause(self._knobs.latency)
        if refused is not None:
            return refused
        if not self._bearer_valid(authorization):
            challenge = ("WWW-Authenticate", 'Bearer error="invalid_token"')
            body = rest.error("invalid_token")
            return Reply(401, JSON_CONTENT_TYPE, body, operation, "unauthorized", headers=(challenge,))
        if self._knobs.rest_service_disabled:
            return Reply(404, JSON_CONTENT_TYPE, rest.error(RESOURCE_NOT_FOUND), operation, "fault")
        if operation in self._knobs.unauthorized_operations or self._stale_scopes(authorization):
            return Reply(403, JSON_CONTENT_TYPE, rest.error(NOT_AUTHORIZED), operation, "unauthorized")
        knobs = self._knobs
        style = rest.AmountStyle(knobs.amount_shape, knobs.document_currency, knobs.zero_adjustment_totals)
        reply = list_invoices(
            self._data,
            query,
            self._invoices_href,
            style,
            invisible_every=knobs.rest_invisible_every,
            shuffle_seed=self._order_move(query),
            interleave_customers=knobs.interleave_customers,
        )
        return self._size_limited(self._priced(reply))

    def _priced(self, reply: Reply) -> Reply:
        """`reply`, after the time page 1 of its query takes to build (`seconds_per_result`)."""
        if reply.page != 1:
            return reply
        seconds = self._knobs.seconds_per_result * reply.matched
        self._pause(seconds)
        return replace(reply, priced_seconds=seconds)

    def _order_move(self, query: str) -> int | None:
        """A seed to serve this page in another order, while `rest_order_moves` lasts (not for page 1)."""
        if "offset=" not in query or "offset=0" in query.split("&"):
            return None
        with self._order_lock:
            if self._knobs.rest_order_moves <= 0:
                return None
            self._knobs.rest_order_moves -= 1
            self._order_moves += 1
            return self._knobs.fault_seed * 7919 + self._order_moves

    def _size_limited(self, reply: Reply) -> Reply:
        """`reply`, broken off after `max_response_bytes` when its body is longer."""
        limit = self._knobs.max_response_bytes
        if limit is None or reply.status != 200 or len(reply.body) <= limit:
            return reply
        detail = f"{reply.detail} broken off at {limit} of {len(reply.body)} bytes".strip()
        return replace(reply, outcome="too_large", detail=detail, cut_at=limit)

    def _gate(self, operation: str, *, rest_api: bool, arrived: float | None) -> Reply | None:
        """Throttling and simulated timeouts, which come before anything is checked (a gateway's work)."""
        knobs = self._knobs
        injected = knobs.rest_429_rate if rest_api else knobs.soap_500_rate
        throttled = not self._limiter.allow(knobs.rate_limit)
        # Both limiters see every arrival: a request one refuses is not counted by the other.
        throttled = throttled or not self._strict_limiter.allow(knobs.strict_rate_limit, arrived)
        if throttled or self._dice.roll(injected):
            if rest_api:
                # Workday sends no Retry-After.
                return Reply(429, JSON_CONTENT_TYPE, rest.error("Too many requests"), operation, "throttled")
            return Reply(500, HTML_CONTENT_TYPE, responses.THROTTLED_BODY, operation, "throttled")
        if self._dice.roll(knobs.timeout_rate):
            self._pause(knobs.hang_seconds)
            return Reply(504, HTML_CONTENT_TYPE, GATEWAY_TIMEOUT_BODY, operation, "timeout")
        return None

    def _stale_scopes(self, authorization: str | None) -> bool:
        if not self._knobs.stale_token_scopes:
            self._scopes_changed_at = None
            return False
        if self._scopes_changed_at is None:
            self._scopes_changed_at = time.monotonic()
        token = (authorization or "").partition(" ")[2].strip()
        return self._tokens.issued_before(token, self._scopes_changed_at)

    def _bearer_valid(self, authorization: str | None) -> bool:
        if self._knobs.revoked or authorization is None:
            return False
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and self._tokens.access_token_valid(token.strip())

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


def _token_reply(
    status: int, payload: dict[str, rest.JsonValue], outcome: str, headers: tuple[tuple[str, str], ...] = ()
) -> Reply:
    return Reply(status, JSON_CONTENT_TYPE, rest.encode(payload).encode(), "token", outcome, headers=headers)


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) of an HTTP Basic header (each form-encoded, as OAuth 2 specifies)."""
    if authorization is None:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(client_secret)) if colon else None
