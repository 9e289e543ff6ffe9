"""The Stop button of a run's status message: admins only; the stop itself is the engine's, once
(a double click or a redelivered click finds the run stopped and changes nothing)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot import messages
from bot.handlers.actions import int_value
from bot.handlers.deps import Deps
from bot.ids import ActionId
from bot.stop_blocks import stop_answer
from sync_engine import RunNotFoundError

__all__ = ["register"]


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.STOP_RUN.value)
    def on_stop(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        deps.after_ack(body, lambda: stop(body, respond))

    def stop(body: dict[str, Any], respond: Respond) -> None:
        user_id = body["user"]["id"]
        if not deps.is_admin(user_id):
            respond(**deps.refusal().kwargs(), response_type="ephemeral", replace_original=False)
            return
        run_id = int_value(body)
        try:
            # The status message shows the stopped run through the run's FINISHED event.
            run, stopped = deps.service.stop(run_id if run_id is not None else -1, user_id)
        except RunNotFoundError:
            respond(**messages.unavailable_run().kwargs(), replace_original=False)
            return
        text = stop_answer(run, stopped)
        respond(text=text, response_type="ephemeral", replace_original=False)
