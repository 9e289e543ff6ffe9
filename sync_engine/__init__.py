"""Re-import Workday customers and their receivables documents into the AR store.

The engine's public surface: what a front end (the Slack app in `bot`) may use. Front ends import only
from here (`from sync_engine import RunService`), never a submodule; an import-linter contract in
pyproject.toml enforces it. Modules inside the engine import each other's submodules, never this
package's names, so that importing any of them first causes no cycle. No name here may be spelled like
a submodule: import-linter reads `from sync_engine import x` as importing `sync_engine.x` if it exists.
"""

from sync_engine.announcement_service import AnnouncementService
from sync_engine.approval import ApprovalRefusedError, Refusal
from sync_engine.cli import service_command
from sync_engine.clock import utcnow
from sync_engine.connection_status import ConnectionService, ConnectionStatus, Problem
from sync_engine.domain import (
    AnnouncementStep,
    ApprovalDecision,
    BatchRun,
    IdentifierType,
    RunAnnouncement,
    RunApproval,
    RunKind,
    RunStatus,
)
from sync_engine.errors import IdentifierError, ResyncError, RunNotFoundError, SettingsError, SetupError
from sync_engine.identifiers import (
    MAX_IDENTIFIERS,
    TOO_MANY_MESSAGE,
    WARNING,
    parse_identifiers,
    split_identifiers,
)
from sync_engine.jobs import DramatiqDispatcher
from sync_engine.jobs import register as register_actor
from sync_engine.logs import bind as bind_log_fields
from sync_engine.logs import configure_logging
from sync_engine.metrics import SlackOutcome, serve_metrics, slack_request
from sync_engine.metrics import exposition as metrics_exposition
from sync_engine.preview_decisions import (
    ApplyOutcome,
    PreviewAction,
    PreviewDecision,
    PreviewExpiredError,
    PreviewView,
)
from sync_engine.preview_diff import KINDS as DOCUMENT_KINDS
from sync_engine.preview_diff import CustomerDiff, KindDiff
from sync_engine.preview_plan import PreviewRefusedError, PreviewReport
from sync_engine.progress import RunEvent, RunEventKind
from sync_engine.readiness import Readiness, ReadinessCheck
from sync_engine.repeating_task import Periodic
from sync_engine.rerun import RerunPlan, RerunRefusedError
from sync_engine.results import CustomerResult, results_csv
from sync_engine.run_reason import MAX_REASON_LENGTH, ReasonError, clean_reason
from sync_engine.runtime import Runtime
from sync_engine.service import RunService
from sync_engine.settings import Settings, load_settings, read_settings
from sync_engine.shared_state import shared_redis
from sync_engine.startup import open_engine
from sync_engine.stopping import stop_outcome

__all__ = [
    "DOCUMENT_KINDS",
    "MAX_IDENTIFIERS",
    "MAX_REASON_LENGTH",
    "TOO_MANY_MESSAGE",
    "WARNING",
    "AnnouncementService",
    "AnnouncementStep",
    "ApplyOutcome",
    "ApprovalDecision",
    "ApprovalRefusedError",
    "BatchRun",
    "ConnectionService",
    "ConnectionStatus",
    "CustomerDiff",
    "CustomerResult",
    "DramatiqDispatcher",
    "IdentifierError",
    "IdentifierType",
    "KindDiff",
    "Periodic",
    "PreviewAction",
    "PreviewDecision",
    "PreviewExpiredError",
    "PreviewRefusedError",
    "PreviewReport",
    "PreviewView",
    "Problem",
    "Readiness",
    "ReadinessCheck",
    "ReasonError",
    "Refusal",
    "RerunPlan",
    "RerunRefusedError",
    "ResyncError",
    "RunAnnouncement",
    "RunApproval",
    "RunEvent",
    "RunEventKind",
    "RunKind",
    "RunNotFoundError",
    "RunService",
    "RunStatus",
    "Runtime",
    "Settings",
    "SettingsError",
    "SetupError",
    "SlackOutcome",
    "bind_log_fields",
    "clean_reason",
    "configure_logging",
    "load_settings",
    "metrics_exposition",
    "open_engine",
    "parse_identifiers",
    "read_settings",
    "register_actor",
    "results_csv",
    "serve_metrics",
    "service_command",
    "shared_redis",
    "slack_request",
    "split_identifiers",
    "stop_outcome",
    "utcnow",
]
