"""**Re-run N** on a finished run's status message: opens the request form through the click's trigger_id,
pre-filled with exactly the run's failed and unresolved identifiers and their type, and carrying "re-run
of #M" (sealed in its `private_metadata`) through the confirmation to the run it stores.

Only admins: anyone else is told privately and nothing opens. The click only opens a form (one per
trigger, as Slack allows); the run is stored by the form's submission, once per submission
(`RunService.create_draft_once`), and queued by Confirm, once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import messages
from bot.handlers.actions import int_value
from bot.handlers.deps import Deps
from bot.handlers.form_opening import open_request_form
from bot.ids import ActionId
from sync_engine import RerunRefusedError, RunNotFoundError

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.RERUN.value)
    def on_rerun(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        arrived = time.monotonic()
        ack()
        deps.after_ack(body, lambda: open_rerun_form(body, client, respond, arrived))

    def open_rerun_form(body: dict[str, Any], client: WebClient, respond: Respond, arrived: float) -> None:
        user_id = body["user"]["id"]

        def tell(text: str) -> None:
            respond(text=text, response_type="ephemeral", replace_original=False)

        if not deps.is_admin(user_id):
            tell(deps.refusal().text)
            return
        run_id = int_value(body)
        try:
            plan = deps.service.rerun_plan(run_id if run_id is not None else -1)
            source = deps.service.get(plan.source_run_id)
        except RunNotFoundError:
            tell(messages.unavailable_run().text)
            return
        except RerunRefusedError as error:
            tell(f"{error} Nothing was changed.")
            return
        trigger_id = body["trigger_id"]

        open_request_form(
            deps,
            client,
            user_id=user_id,
            trigger_id=trigger_id,
            # Where the run it re-runs reported; a run without one (none in Slack) gets the picker.
            channel_id=source.slack_channel or "",
            arrived=arrived,
            identifiers=plan.identifiers,
            identifier_type=plan.identifier_type,
            rerun_of=plan.source_run_id,
        )
        log.info("Re-run form opened", extra={"rerun_of": plan.source_run_id, "user": user_id})
