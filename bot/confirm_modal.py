"""The request form's later steps (pure builders: data in, views out): the confirmation the form turns into
after Synchronize (`response_action: update`), and what it shows once Confirm queued the run.

The confirmation lives in the form itself, not in an ephemeral message (Slack does not guarantee their
delivery, and they vanish on reload or on another device). Its metadata names the draft run only by id.
"""

from __future__ import annotations

from typing import Any

from bot.ids import ActionId, BlockId, CallbackId
from bot.modal import IDENTIFIER_TYPE_LABELS, TITLE, ModalMetadata
from bot.mrkdwn import clip, escape, plural
from sync_engine import WARNING, BatchRun, RunKind, RunStatus

__all__ = [
    "CONFIRM",
    "FIRST_SHOWN",
    "PREVIEW_FIRST",
    "confirmation_view",
    "home_link",
    "notice_view",
    "queued_view",
    "step_view",
]

CONFIRM = "Confirm"
PREVIEW_FIRST = "Preview changes first"
#: Identifiers the confirmation lists; the rest are counted.
FIRST_SHOWN = 10
#: Characters of the reason shown (a section holds 3,000; the lead-in takes the rest).
REASON_ROOM = 2900

JsonDict = dict[str, Any]


def _section(text: str, block_id: str | None = None) -> JsonDict:
    block: JsonDict = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def _context(text: str) -> JsonDict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _modal(blocks: list[JsonDict], metadata: ModalMetadata, *, submit: str | None, close: str) -> JsonDict:
    view: JsonDict = {
        "type": "modal",
        "callback_id": CallbackId.CONFIRM_MODAL.value,
        "title": {"type": "plain_text", "text": TITLE},
        "close": {"type": "plain_text", "text": close},
        "private_metadata": metadata.dumps(),
        "blocks": blocks,
    }
    if submit is not None:
        view["submit"] = {"type": "plain_text", "text": submit}
    return view


def _where(channel_id: str) -> str:
    return f"Its status message and records file go to <#{channel_id}>." if channel_id else ""


def confirmation_view(run: BatchRun, *, channel_id: str, connection: str | None = None) -> JsonDict:
    """The sentence to confirm word for word, the identifier type, the first identifiers; Confirm
    (submit) queues the draft, Preview changes first queues it as a preview (nothing written until its
    Apply), Back returns to the filled form, Cancel closes it (nothing is queued)."""
    count = len(run.identifiers)
    shown = ", ".join(f"`{escape(identifier)}`" for identifier in run.identifiers[:FIRST_SHOWN])
    if count > FIRST_SHOWN:
        shown += f" and {count - FIRST_SHOWN} more"
    blocks = [
        _section(f":warning: *{WARNING.format(n=count)}*", BlockId.CONFIRM_WARNING.value),
        _section(
            f"*Identifier type:* {IDENTIFIER_TYPE_LABELS[run.identifier_type]}\n"
            f"*{'Identifiers' if count <= FIRST_SHOWN else 'First identifiers'}:* {shown}"
        ),
        # A section of its own: with ten of the longest identifiers, one section would pass 3,000 characters.
        *([_section(f"*Reason:* {clip(run.reason, REASON_ROOM)}")] if run.reason else []),
        {
            "type": "actions",
            "block_id": BlockId.CONFIRM_ACTIONS.value,
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Back"},
                    "action_id": ActionId.BACK.value,
                    "value": str(run.id),
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": PREVIEW_FIRST},
                    "action_id": ActionId.PREVIEW_FIRST.value,
                    "value": str(run.id),
                },
            ],
        },
    ]
    if where := _where(run.slack_channel or channel_id):
        blocks.append(_context(where))
    if run.rerun_of is not None:
        blocks.append(_context(f":repeat: Re-run of #{run.rerun_of}: its failed and unresolved customers."))
    metadata = ModalMetadata(channel_id, connection, run.id)
    return _modal(blocks, metadata, submit=CONFIRM, close="Cancel")


def home_link(team_id: str, app_id: str) -> str:
    """Slack's deep link to the app's Home tab."""
    return f"slack://app?team={team_id}&id={app_id}&tab=home"


def queued_view(run: BatchRun, *, home_url: str, permalink: str | None) -> JsonDict:
    """*Run #N is queued*, with the Home tab (History) and, once posted, the status message."""
    lead = f":inbox_tray: *Run #{run.id} is queued* ({plural(len(run.identifiers), 'customer')})."
    if run.kind is RunKind.PREVIEW:
        lead = (
            f":mag: *Preview #{run.id} is queued* ({plural(len(run.identifiers), 'customer')}): it fetches "
            "every customer and writes nothing. Its status message shows what applying it would change, "
            "then *Apply this preview* or *Discard*."
        )
    if run.status is RunStatus.PENDING_APPROVAL:
        lead = (
            f":raised_hand: *Run #{run.id} awaits another admin's approval* "
            f"({plural(len(run.identifiers), 'customer')}): its status message asks for it."
        )
    elif run.status is not RunStatus.RECEIVED:
        lead = f"{lead} It is {run.status.label.lower()} now."
    buttons: list[JsonDict] = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Follow it in History"},
            "action_id": ActionId.OPEN_HOME.value,
            "url": home_url,
            "style": "primary",
        }
    ]
    if permalink:
        buttons.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Status message"},
                "action_id": ActionId.OPEN_STATUS.value,
                "url": permalink,
            }
        )
    where = "" if permalink else " Its status message is being posted; its link shows here once it is."
    blocks = [
        _section(lead + " Your list was cleared; the app's Home tab shows it in History." + where),
        {"type": "actions", "block_id": BlockId.QUEUED_LINKS.value, "elements": buttons},
    ]
    return _modal(blocks, ModalMetadata(run.slack_channel or "", None, run.id), submit=None, close="Done")


def notice_view(text: str) -> JsonDict:
    """The form replaced by one message (a refusal, a request that no longer exists)."""
    return _modal([_section(text)], ModalMetadata(""), submit=None, close="Close")


def step_view(run: BatchRun, *, channel_id: str, connection: str | None, home_url: str) -> JsonDict:
    """What the form shows for a draft as it stands now: to confirm, queued, or cancelled (Back)."""
    if run.status is RunStatus.DRAFT:
        return confirmation_view(run, channel_id=channel_id, connection=connection)
    if run.status is RunStatus.CANCELLED:
        return notice_view(
            f":no_entry_sign: Run #{run.id} was cancelled and nothing was changed. "
            "Start again from the app's Home tab or with /workday-resync."
        )
    return queued_view(run, home_url=home_url, permalink=run.announcement.link)
