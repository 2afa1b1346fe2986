"""The text and HTML bodies of a notice email: the one place a notice's wording is written.

Plain string formatting, since rendering Jinja templates was most of a notice's time once the MIME
headers were made cheap (issue 11); the HTML escapes every value it is given. Every kind and
content is pinned byte for byte by the golden files in ``tests/golden/notice_bodies/``
(``tests/unit/test_notice_bodies.py``): a change of wording is made here, then
``MAINTCAL_UPDATE_GOLDEN=1`` rewrites the files and their diff shows it in every notice it reaches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import escape

_INTROS = {
    "update": "A planned maintenance window for {name} has been changed. The new time:",
    "cancel": "The following maintenance window for {name} has been cancelled; no maintenance will take place then:",
    "unplanned": "Unplanned (emergency) maintenance has been declared for {name}:",
    "reschedule-approved": "Your request to reschedule maintenance for {name} has been approved. The new time:",
    "reminder": "A reminder of maintenance for {name}, at its current time:",
    "started": "Maintenance for {name} has started:",
    "finished": "Maintenance for {name} has finished:",
}
_DECLINED = "Your request to reschedule maintenance for {name} was declined. The window stays at:"


def _intro(kind: str, name: str, count: int) -> str:
    if kind == "announce":
        windows = "window is" if count == 1 else "windows are"
        return f"The following maintenance {windows} planned for {name}:"
    return _INTROS.get(kind, _DECLINED).format(name=name)


def _calendar_sentence(context: Mapping[str, Any], attachment: str, method: str) -> str:
    does = "removes the event from" if context["method"] == "CANCEL" else "adds or updates the events in"
    return (
        f"The attached {attachment} ({method}) {does} your calendar; "
        "the events have the same identity as in your maintcal calendar feed."
    )


def text(context: Mapping[str, Any]) -> str:
    """The plain-text body for ``context`` (``message.context``)."""
    entries: Sequence[Mapping[str, Any]] = context["entries"]
    out = ["Hello,\n\n", _intro(context["kind"], str(context["customer_name"]), len(entries)), "\n\n"]
    for e in entries:
        flag = " - CANCELLED" if e["status"] == "cancelled" else " - UNPLANNED" if e["unplanned"] else ""
        out.append(
            f"* {e['product']} ({e['id']}){flag}\n"
            f"  {e['local_start']} to {e['local_end']}\n"
            f"  {e['utc_start']} to {e['utc_end']} ({e['length']})\n"
        )
    if context["note"]:
        out.append(f"\nNote: {context['note']}\n")
    sentence = _calendar_sentence(context, str(context["attachment"]), str(context["method"]))
    out.append(f"\nLocal times are in {context['zone']}. {sentence}\n\n")
    if context["portal_url"]:
        out.append(f"See your windows, subscribe to your calendar or ask for a move: {context['portal_url']}\n\n")
    out.append(
        "You receive this email because you are a nominated maintenance contact of "
        f"{context['customer_name']}.\n-- \nmaintcal\n"
    )
    return "".join(out)


def html(context: Mapping[str, Any]) -> str:
    """The HTML body for ``context`` (``message.context``), every value escaped."""
    entries: Sequence[Mapping[str, Any]] = context["entries"]
    headline, name, zone = escape(context["headline"]), escape(context["customer_name"]), escape(context["zone"])
    out = [
        "<!DOCTYPE html>\n<html>\n",
        f'<head><meta charset="utf-8"><title>{headline}</title></head>\n',
        '<body style="font-family: sans-serif">\n',
        f'<h1 style="font-size: 1.2em">{headline}</h1>\n<p>\n',
        _intro(context["kind"], name, len(entries)),
        "\n</p>\n",
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">\n',
        f"<thead><tr><th>Product</th><th>Start ({zone})</th><th>End ({zone})</th>"
        "<th>Start (UTC)</th><th>End (UTC)</th><th>Duration</th></tr></thead>\n<tbody>\n",
    ]
    for e in entries:
        struck = ' style="text-decoration: line-through"' if e["status"] == "cancelled" else ""
        unplanned = " (unplanned)" if e["unplanned"] else ""
        out.append(
            f"<tr{struck}>\n"
            f"<td>{escape(e['product'])}<br><small>{escape(e['id'])}{unplanned}</small></td>\n"
            f"<td>{escape(e['local_start'])}</td><td>{escape(e['local_end'])}</td>"
            f"<td>{escape(e['utc_start'])}</td><td>{escape(e['utc_end'])}</td><td>{escape(e['length'])}</td>\n"
            "</tr>\n"
        )
    out.append("</tbody>\n</table>\n")
    if context["note"]:
        out.append(f"<p><strong>Note:</strong> {escape(context['note'])}</p>\n")
    sentence = _calendar_sentence(context, escape(context["attachment"]), escape(context["method"]))
    out.append(f"<p>{sentence}</p>\n")
    if context["portal_url"]:
        out.append(
            f'<p><a href="{escape(context["portal_url"])}">'
            "See your windows, subscribe to your calendar or ask for a move</a></p>\n"
        )
    out.append(
        '<p style="color: #666"><small>You receive this email because you are a nominated maintenance contact of '
        f"{name}.</small></p>\n</body>\n</html>\n"
    )
    return "".join(out)
