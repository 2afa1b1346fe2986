"""Composing a notice for chat channels: a Slack Block Kit message and a Microsoft Teams Adaptive Card.

Both say what the email says in a few lines: the headline, the product, the local and UTC times,
the length, the occurrence id and sequence (as in the .ics), and the note. Text from people (names,
notes) is escaped for Slack's mrkdwn; the Adaptive Card's TextBlocks are plain text in JSON.
"""

from __future__ import annotations

from typing import Any

from notifications.content import Entry, Notice, format_local, format_utc_human
from notifications.message import headline
from windows.lifecycle import human_duration


def _escape(text: str) -> str:
    """Slack mrkdwn control characters (``&``, ``<``, ``>``) as entities.

    >>> _escape("<!channel> & co")
    '&lt;!channel&gt; &amp; co'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _facts(notice: Notice, entry: Entry) -> list[tuple[str, str]]:
    facts = [
        ("Product", entry.product_name),
        ("Start", format_local(entry.start, notice.zone)),
        ("End", format_local(entry.end, notice.zone)),
        ("UTC", f"{format_utc_human(entry.start)} to {format_utc_human(entry.end)}"),
        ("Duration", human_duration(entry.end - entry.start)),
        ("Occurrence", f"{entry.occurrence_id} (sequence {entry.sequence})"),
    ]
    if entry.status == "cancelled":
        facts.append(("Status", "cancelled"))
    if notice.note:
        facts.append(("Note", notice.note))
    return facts


def slack_message(notice: Notice, entry: Entry) -> dict[str, Any]:
    """A Slack incoming-webhook body (Block Kit) about one entry of ``notice``."""
    title = f"{headline(notice.kind)}: {entry.product_name} for {notice.customer_name}"
    facts = _facts(notice, entry)
    return {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{_escape(value)}"} for name, value in facts[:10]],
            },
        ],
    }


def teams_card(notice: Notice, entry: Entry) -> dict[str, Any]:
    """A Teams workflow-webhook body: one message with an Adaptive Card about one entry."""
    title = f"{headline(notice.kind)}: {entry.product_name} for {notice.customer_name}"
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": title, "wrap": True},
            {"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in _facts(notice, entry)]},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
