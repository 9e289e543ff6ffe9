"""Settings from the environment or `.env`; a missing or malformed one fails in one line naming it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync_engine.errors import SettingsError

__all__ = ["Settings", "WorkdaySettings", "load_settings", "read_settings"]

AnySettings = TypeVar("AnySettings", bound=BaseSettings)

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
    #: Seconds one fetch of the customers fetched together (a group) may take in all, every retry included.
    customer_deadline: float = 600.0
    #: Seconds an attempt waits for Workday when other requests are waiting for an in-flight slot.
    contended_timeout: float = 30.0


class Settings(BaseSettings):
    """The engine's settings; a front end reads its own beside them (the Slack app: `bot.settings`)."""

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
    #: Seconds one fetch of a group of customers (or of one alone) may take in all, retries included.
    workday_customer_deadline: float = Field(default=600.0, gt=0)
    #: Seconds an attempt waits for Workday while other requests wait for an in-flight slot.
    workday_contended_timeout: float = Field(default=30.0, gt=0)

    #: Days the customers' rows an overwrite replaced are kept, so the run can be restored; 0 keeps none.
    resync_keep_previous_days: int = Field(default=30, ge=0, le=3650)
    #: Seconds a preview's staged snapshot can be applied; then it is dropped.
    resync_preview_ttl: int = Field(default=3600, ge=60, le=7 * 86400)
    #: A sync of more customers than this waits for a second admin's approval; unset: never.
    resync_approval_above: int | None = Field(default=None, ge=0)
    #: Refuse a run asked for without a reason (or ticket), at every entry point.
    resync_require_reason: bool = False

    #: Dramatiq worker threads per process (customers synced at once per process).
    worker_threads: int = Field(default=8, ge=1, le=64)

    #: Port of the Prometheus endpoint of `workday-resync worker` (and of `serve` in Socket Mode).
    metrics_port: int = Field(default=9191, ge=1, le=65535)
    #: Address that endpoint listens on.
    metrics_host: str = "0.0.0.0"
    #: Where a worker's processes keep their metric values (wiped when it starts); default: a directory
    #: per METRICS_PORT in the system's temporary directory.
    metrics_dir: str | None = None

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        # Checked here: a wrong scheme stops every command in one line, before any driver is loaded.
        scheme = value.partition("://")[0] if "://" in value else ""
        if scheme.partition("+")[0] not in ("sqlite", "postgres", "postgresql"):
            given = f" (not {scheme}://)" if scheme else ""
            raise ValueError(f"use sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE{given}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        # Checked here, not first in a worker process forked later, where it would end in a traceback.
        if value and value.partition("://")[0] not in ("redis", "rediss", "unix"):
            raise ValueError("must start with redis://, rediss:// or unix://")
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
    # Pydantic prefixes the message of a validator's ValueError with "Value error, ": not ours to show.
    message = first["msg"].removeprefix("Value error, ")
    return f"Invalid setting {name}: {message}."


def read_settings(model: type[AnySettings]) -> AnySettings:
    """Read `model`'s settings (the engine's, or a front end's own) from the environment and `.env`;
    `SettingsError` with one line naming the first bad one."""
    try:
        return model()
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


@cache
def load_settings() -> Settings:
    """The engine's settings, read once per process."""
    return read_settings(Settings)
