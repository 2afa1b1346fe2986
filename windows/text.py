"""Free text that ends up in calendars and mail headers: names, labels, reasons, notes.

Every such text is one line of plain text. Refused, wherever it is typed (CLI, catalogue file,
HTTP API): every control character (C0 ``U+0000``-``U+001F`` including tab, CR and LF; DEL
``U+007F``; C1 ``U+0080``-``U+009F`` including NEL ``U+0085``), the Unicode line and paragraph
separators ``U+2028`` and ``U+2029``, and lone surrogates (bytes that were not UTF-8). Reasons and
notes are one line too: they become mail subjects, headers and iCalendar properties, where a
line break would either be lost or break the parser of a customer's calendar.

The check runs on the text as typed, before leading and trailing spaces are removed.
"""

from __future__ import annotations

import re
import unicodedata

from windows.errors import InvalidInput

_REFUSED_CATEGORIES = {"Cc": "a control character", "Cs": "an invalid character", "Zl": "a line separator"}
_REFUSED_CATEGORIES["Zp"] = "a paragraph separator"
_NAMED = {"\t": "a tab", "\n": "a line break", "\r": "a line break"}
# Every character of those categories (Cc: U+0000-U+001F and U+007F-U+009F; Cs: the surrogates;
# Zl: U+2028; Zp: U+2029), found by one search in C rather than a category lookup per character.
_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def refused_character(value: str) -> tuple[str, str] | None:
    """The first character that plain one-line text may not contain, and what it is; or None.

    >>> refused_character("Premier Edition")
    >>> refused_character("a\\x0bb")
    ('\\x0b', 'a control character')
    >>> refused_character("night\\u2028shift")
    ('\\u2028', 'a line separator')
    >>> refused_character("caf\\u00e9 \\u65e5\\u672c \\U0001f527")  # any printable Unicode is fine
    """
    found = _REFUSED.search(value)
    if found is None:
        return None
    char = found.group()
    return char, _NAMED.get(char) or _REFUSED_CATEGORIES[unicodedata.category(char)]


def printable(value: str) -> str:
    r"""``value`` with every non-printable character written as a Python escape, for messages.

    >>> print(printable("a\x1bb@x.com"), printable("café\u2028"))
    a\x1bb@x.com café\u2028
    """
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in value)


def clean_text(field: str, value: str, *, max_length: int = 200, required: bool = True) -> str:
    """``value`` without leading and trailing spaces, or InvalidInput naming ``field``.

    Refuses the characters listed in the module docstring, an empty text when ``required`` and a
    text longer than ``max_length`` characters. An empty optional text comes back as ``""``.

    >>> clean_text("--label", "  Nightly patching ")
    'Nightly patching'
    >>> clean_text("--label", "a\\x0bb")
    Traceback (most recent call last):
    ...
    windows.errors.InvalidInput: --label contains a control character (U+000B); use plain text
    >>> clean_text("--reason", "line one\\nline two")
    Traceback (most recent call last):
    ...
    windows.errors.InvalidInput: --reason contains a line break (U+000A); use one line of plain text
    """
    found = refused_character(value)
    if found is not None:
        char, what = found
        if 0xDC80 <= ord(char) <= 0xDCFF:  # how Python passes on a byte of a command line that is not UTF-8
            raise InvalidInput(f"{field} contains a byte that is not UTF-8 (0x{ord(char) - 0xDC00:02X}); use UTF-8")
        advice = "use one line of plain text" if char in "\r\n\u2028\u2029" else "use plain text"
        raise InvalidInput(f"{field} contains {what} (U+{ord(char):04X}); {advice}")
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(f"{field} must not be empty")
    if len(cleaned) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters")
    return cleaned


def optional_text(field: str, value: str | None, *, max_length: int = 2000) -> str | None:
    """An optional reason or note: checked like ``clean_text``; None when absent or blank.

    >>> optional_text("--note", None), optional_text("--note", "  "), optional_text("--note", " ok ")
    (None, None, 'ok')
    """
    if value is None:
        return None
    return clean_text(field, value, max_length=max_length, required=False) or None
