"""What a user does beyond a modal's own controls: a double click on a modal's submit button (two
view_submissions leave before the first answer is shown: Slack's client does not hold the second back).
"""

from __future__ import annotations

import threading
from dataclasses import replace

from devtools.slack_emulator.client import AppResponse, SlackUser, payload_body

__all__ = ["AppUser"]


class AppUser(SlackUser):
    """A workspace user of the app (`SlackEmulator.user()`): every `SlackUser` action and the ones here."""

    def submit_twice(self) -> list[AppResponse]:
        """Double-click the open modal's submit button: both submissions are sent at once, with the
        same view state, and Slack applies each answer as it comes (in the order they came)."""
        ws = self._ws
        with ws.lock:
            opened = self._top_view()
            if opened.view.get("submit") is None:
                raise LookupError(f"modal {opened.id} has no submit button")
            bodies = [payload_body(self._submission(opened)) for _ in range(2)]
        answers: list[AppResponse] = []
        lock = threading.Lock()
        start = threading.Barrier(len(bodies))

        def send(body: bytes) -> None:
            start.wait()
            response = self._send(body)
            with lock:  # applied one at a time, in the order the answers came
                if response.error is None:
                    response = replace(response, error=self._apply_submission_answer(opened, response))
                answers.append(
                    self._record(
                        "view_submission", f"{opened.view.get('callback_id')!r} {opened.id}", response
                    )
                )

        threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers
