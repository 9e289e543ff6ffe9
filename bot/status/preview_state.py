"""A finished preview's diff and decision, for its status message (None for any other run)."""

from __future__ import annotations

from sync_engine import BatchRun, PreviewRefusedError, PreviewView, RunKind, RunService, RunStatus

__all__ = ["preview_of"]


def preview_of(service: RunService, run: BatchRun) -> PreviewView | None:
    if run.kind is not RunKind.PREVIEW or run.status is not RunStatus.COMPLETED:
        return None
    try:
        return service.previews().view(run.id)
    except PreviewRefusedError:
        return None
