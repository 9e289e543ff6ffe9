"""Settings from the environment or `.env`; a missing or malformed one fails in one line naming it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sync_engine.errors import SettingsError

__all__ = ["Settings", "WorkdaySettings", "load_settings"]

#: Where the store lives when DATABASE_URL is unset: a SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///workday-resync.db"


@dataclass(frozen=True, slots=True)
class WorkdaySettings:
    """The Workday connection, complete: only built when every required setting is present."""

    base_url: str
    tenant: str
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    api_version: str
    reference_id_type: str
    max_in_flight: int
    rate_limit: float
    timeout: float
    #: REST `limit` and SOAP `Count` per page: Workday's maxima, the fewest requests (smaller for benchmarks).
    invoices_page_size: int = 100
    payments_page_size: int = 999
    #: Customers fetched together (one REST list, one payments query); 1 = each alone.
    customers_per_group: int = 50
    #: Seconds before now that a payments snapshot is pinned at, so a clock ahead of Workday's never asks
    #: for a moment Workday has not reached yet (pages would drift). 0 in the sandbox's settings.
    as_of_lag: float = 5.0
    #: Seconds one customer's fetch may take in all, every retry included.
    customer_deadline: float = 600.0
    #: Seconds an attempt waits for Workday when other requests are waiting for an in-flight slot.
    contended_timeout: float = 30.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # Out of repr(): these URLs may carry the database's or Redis's password.
    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    #: Unset: the embedded in-process worker with an in-memory broker.
    redis_url: str | None = Field(default=None, repr=False)

    workday_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    workday_tenant: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    workday_client_id: str | None = None
    workday_client_secret: SecretStr | None = None
    workday_refresh_token: SecretStr | None = None
    workday_api_version: str = Field(default="v45.2", pattern=r"^v\d+\.\d+$")
    workday_reference_id_type: Literal["Customer_ID", "Customer_Reference_ID"] = "Customer_ID"
    #: Requests in flight at once per tenant, across every process of the service.
    workday_max_in_flight: int = Field(default=4, ge=1, le=64)
    #: Requests per second per tenant, across every process of the service.
    workday_rate_limit: float = Field(default=5.0, gt=0, le=1000)
    #: Seconds to wait for one Workday response (connect, write and read each).
    workday_timeout: float = Field(default=120.0, gt=0)
    #: Documents per page: REST invoices `limit` (max 100) and SOAP payments `Count` (max 999).
    workday_invoices_page_size: int = Field(default=100, ge=1, le=100)
    workday_payments_page_size: int = Field(default=999, ge=1, le=999)
    #: Customers fetched together (their WIDs in one URL: 50 keep it near 2.5 KB); 1 = each alone.
    workday_customers_per_group: int = Field(default=50, ge=1, le=50)
    #: Seconds before now that a payments snapshot is pinned at (clock skew against Workday).
    workday_as_of_lag: float = Field(default=5.0, ge=0, le=300)
    #: Seconds one customer's fetch may take in all, retries included.
    workday_customer_deadline: float = Field(default=600.0, gt=0)
    #: Seconds an attempt waits for Workday while other requests wait for an in-flight slot.
    workday_contended_timeout: float = Field(default=30.0, gt=0)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = Field(default="https://slack.com/api/", pattern=r"^https?://\S+/$")
    resync_admin_user_ids: Annotated[tuple[str, ...], NoDecode] = ()
    #: Seconds between two updates of one Slack status message (final states are never held back).
    slack_status_interval: float = Field(default=3.0, gt=0, le=600)
    #: chat.update calls per minute for the whole workspace, every run together (Slack's Tier 3: 50).
    slack_updates_per_minute: float = Field(default=40.0, gt=0, le=1000)
    # `serve --http` (waitress; see bot/http_server.py). An idle connection holds a descriptor, never a
    # thread: the cap keeps descriptors below the process's limit.
    #: Seconds a connection may stay idle (mid-request or between requests) before it is closed: longer
    #: than a load balancer's keep-alive (60 s on the common ones), so the balancer closes first.
    slack_http_idle_timeout: int = Field(default=75, ge=1, le=3600)
    #: Connections open at once; past it, new ones wait in the listen backlog.
    slack_http_max_connections: int = Field(default=4000, ge=10, le=1_000_000)
    #: The listen backlog (the kernel caps it at net.core.somaxconn).
    slack_http_backlog: int = Field(default=1024, ge=1, le=65535)
    #: Threads running complete requests (each waits for its listener's ack: milliseconds, seconds at most).
    slack_http_threads: int = Field(default=32, ge=1, le=256)

    #: Dramatiq worker threads per process (customers synced at once per process).
    worker_threads: int = Field(default=8, ge=1, le=64)

    #: Port of the Prometheus endpoint of `workday-resync worker` (and of `serve` in Socket Mode).
    metrics_port: int = Field(default=9191, ge=1, le=65535)
    #: Address that endpoint listens on.
    metrics_host: str = "0.0.0.0"
    #: Where a worker's processes keep their metric values (wiped when it starts); default: a directory
    #: per METRICS_PORT in the system's temporary directory.
    metrics_dir: str | None = None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        # Checked here, not first in a worker process forked later, where it would end in a traceback.
        if value and value.partition("://")[0] not in ("redis", "rediss", "unix"):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("resync_admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
        return value

    def workday(self) -> WorkdaySettings:
        """The Workday connection, or `SettingsError` naming every missing setting."""
        required = {
            "WORKDAY_BASE_URL": self.workday_base_url,
            "WORKDAY_TENANT": self.workday_tenant,
            "WORKDAY_CLIENT_ID": self.workday_client_id,
            "WORKDAY_CLIENT_SECRET": self.workday_client_secret,
            "WORKDAY_REFRESH_TOKEN": self.workday_refresh_token,
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise SettingsError(f"Workday is not configured: set {', '.join(missing)}.")
        assert self.workday_base_url and self.workday_tenant and self.workday_client_id
        assert self.workday_client_secret and self.workday_refresh_token
        return WorkdaySettings(
            base_url=self.workday_base_url.rstrip("/"),
            tenant=self.workday_tenant,
            client_id=self.workday_client_id,
            client_secret=self.workday_client_secret,
            refresh_token=self.workday_refresh_token,
            api_version=self.workday_api_version,
            reference_id_type=self.workday_reference_id_type,
            max_in_flight=self.workday_max_in_flight,
            rate_limit=self.workday_rate_limit,
            timeout=self.workday_timeout,
            invoices_page_size=self.workday_invoices_page_size,
            payments_page_size=self.workday_payments_page_size,
            customers_per_group=self.workday_customers_per_group,
            as_of_lag=self.workday_as_of_lag,
            customer_deadline=self.workday_customer_deadline,
            contended_timeout=self.workday_contended_timeout,
        )


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = "_".join(str(part) for part in first["loc"]).upper() or "settings"
    return f"Invalid setting {name}: {first['msg']}."


@cache
def load_settings() -> Settings:
    """Read the settings once per process; raise `SettingsError` with one line naming the bad one."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
