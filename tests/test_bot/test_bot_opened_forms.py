"""A request form the app sealed for its user is submitted a moment before the app has remembered it as
opened (views.open answered; Redis or memory not written yet): it is taken, not refused as forged. One the
app never opened for that user is still refused."""

from __future__ import annotations

import threading

import redis

from bot.forms import OPENED_WAIT_SECONDS, RequestForms
from bot.opened_views import MemoryOpenedViews, OpenedViews, RedisOpenedViews


def _submitted_while_remembered_late(opened: OpenedViews) -> bool:
    forms = RequestForms("signing-secret", opened)
    view = {**forms.render("U_ANA", channel_id="C_FIN"), "id": "V_NEW"}
    # The app's thread remembers the view a moment after the submission arrived.
    late = threading.Timer(OPENED_WAIT_SECONDS / 5, opened.remember, ("U_ANA", "V_NEW"))
    late.start()
    try:
        taken = forms.submitted("U_ANA", view) is not None
    finally:
        late.join()
    never_opened = {**view, "id": "V_OTHER"}
    assert forms.submitted("U_ANA", never_opened) is None
    assert forms.submitted("U_OLGA", view) is None  # sealed for another user
    return taken


def test_a_form_submitted_before_the_app_remembered_it_is_taken_in_memory() -> None:
    assert _submitted_while_remembered_late(MemoryOpenedViews())


def test_a_form_submitted_before_the_app_remembered_it_is_taken_with_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert _submitted_while_remembered_late(RedisOpenedViews(client))
    finally:
        client.close()
