"""What the terminal CLI reads and writes as data: the identifiers given to `sync` (arguments and `--file`),
the options naming a run's reason and a history search, and a run as `history --json` shows it."""

from __future__ import annotations

import codecs
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sync_engine.domain import ApprovalDecision, BatchRun, IdentifierType
from sync_engine.errors import IdentifierError
from sync_engine.identifiers import MAX_IDENTIFIERS, split_identifiers

__all__ = ["ReasonOption", "SearchOption", "given_identifiers", "run_json"]

#: `--reason` of the commands that start a run (checked by `sync_engine.run_reason`).
ReasonOption = Annotated[
    str | None,
    typer.Option(
        "--reason", help="Why (free text or a ticket), kept with the run; see RESYNC_REQUIRE_REASON."
    ),
]
#: `history --search`.
SearchOption = Annotated[
    str | None,
    typer.Option(
        "--search", metavar="TEXT", help="Only runs whose reason, identifiers or requester contain TEXT."
    ),
]


def given_identifiers(arguments: list[str], file: Path | None, kind: IdentifierType) -> str:
    """The arguments, then the file's lines (a file alone keeps its own line numbers in messages).

    The CLI's own messages, before `parse_identifiers` checks each identifier: a file that holds none is
    named, and a list too long says how long it is.
    """
    file_text = _read_identifiers(file) if file is not None else None
    text = "\n".join([*arguments, *([file_text] if file_text is not None else [])])
    found = len(split_identifiers(text, kind))
    if found == 0 and file is not None:
        raise IdentifierError(f"{_name(file)} holds no identifiers: put them one per line.")
    if found > MAX_IDENTIFIERS:
        raise IdentifierError(
            f"Too many identifiers: {found} (blanks and duplicates dropped). "
            f"Maximum {MAX_IDENTIFIERS} per run: split the list."
        )
    return text


def _name(file: Path) -> str:
    return "stdin" if str(file) == "-" else str(file)


def _read_identifiers(file: Path) -> str:
    """The text of `--file` (or stdin for '-'): UTF-8, with or without a BOM, or UTF-16 with its BOM
    (spreadsheets' "Unicode text"); anything else is refused in one line naming the first bad byte."""
    name = _name(file)
    try:
        data = sys.stdin.buffer.read() if name == "stdin" else file.read_bytes()
    except OSError as error:
        raise IdentifierError(f"Cannot read {name}: {error.strerror or error}.") from None
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        # utf-8-sig reports positions past the BOM it removed: name the byte's offset in the file.
        offset = error.start + len(data) - len(error.object)
        raise IdentifierError(
            f"{name} is not {error.encoding.upper()} text (byte 0x{data[offset]:02X} at offset "
            f"{offset}): save it as UTF-8 and try again."
        ) from None


def run_json(run: BatchRun) -> dict[str, Any]:
    """A run for scripts: times in ISO 8601 with their offset (UTC), the duration in seconds (null until
    it has ended)."""
    approval = run.approval
    approved = approval if approval and approval.decision is ApprovalDecision.APPROVED else None
    return {
        "id": run.id,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_seconds": round(run.duration_seconds, 3) if run.duration_seconds is not None else None,
        "status": run.status.value,
        "identifier_type": run.identifier_type.value,
        "identifiers": run.identifiers,
        "requested_by": run.requested_by,
        "reason": run.reason,
        "kind": run.kind.value,
        "source_run_id": run.source_run_id,
        "rerun_of": run.rerun_of,
        "counts": {
            "customers": run.counts.customers,
            "invoices": run.counts.invoices,
            "payments": run.counts.payments,
            "credit_notes": run.counts.credit_notes,
        },
        "error": run.error,
        "unresolved": run.unresolved,
        "unresolved_count": len(run.unresolved),
        "skipped": run.skipped,
        "stopped_by": run.stopped_by,
        "stopped_at": run.stopped_at.isoformat() if run.stopped_at else None,
        "approval": _approval_json(run),
        # The approver at the top level too: what an auditor's script asks first.
        "approved_by": approved.decided_by if approved else None,
        "approved_at": approved.decided_at.isoformat() if approved and approved.decided_at else None,
    }


def _approval_json(run: BatchRun) -> dict[str, Any] | None:
    """Who approved or rejected a run that needed a second admin (null for one that did not)."""
    approval = run.approval
    if approval is None:
        return None
    return {
        "above": approval.above,
        "held_at": approval.held_at.isoformat(),
        "expires_at": approval.expires_at.isoformat(),
        "decision": approval.decision.value if approval.decision else None,
        "decided_by": approval.decided_by,
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
    }
