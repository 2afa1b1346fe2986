"""The MIME pieces of a notice email, written directly (no ``EmailMessage``), byte for byte as
``EmailMessage(policy=email.policy.SMTP).as_bytes()`` writes them.

Parsing and refolding every header through ``email.headerregistry`` was about half the time of
composing a notice (issue 11). Here the common case (a short or long plain-ASCII header, a text
body) is written straight; anything else (non-ASCII, encoded-word look-alikes, odd spacing, very
long words) goes through the standard library's own header classes, so the result is the same
bytes either way. The unit tests compare this against ``EmailMessage`` on varied content.
"""

from __future__ import annotations

import base64
import binascii
import re
from email import quoprimime
from email.headerregistry import Address
from email.policy import SMTP
from functools import lru_cache

_MAX: int = SMTP.max_line_length or 78  # 78 under the SMTP policy
_NEWLINES = re.compile(r"\r\n|\r|\n")  # what email.generator splits a payload on
_HEX = re.compile(r"[0-9a-f]")
_PLAIN = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")  # printable ASCII words, single spaces


def header(name: str, value: str) -> bytes:
    """One unstructured header line (folded with CRLF), as ``EmailMessage`` writes it."""
    if _PLAIN.fullmatch(value) and "=?" not in value:
        words = value.split(" ")
        if len(name) + 2 + len(value) <= _MAX:
            return f"{name}: {value}\r\n".encode("ascii")
        if len(value) + 1 <= _MAX:  # the library moves a value that fits a line of its own there
            return f"{name}:\r\n {value}\r\n".encode("ascii")
        if max(map(len, words)) <= _MAX - len(name) - 2:  # else the library splits or encodes words
            lines, line = [], f"{name}: {words[0]}"
            for word in words[1:]:
                if len(line) + 1 + len(word) <= _MAX:
                    line += " " + word
                else:
                    lines.append(line)
                    line = " " + word
            lines.append(line)
            return ("\r\n".join(lines) + "\r\n").encode("ascii")
    return library_header(name, value)


@lru_cache(maxsize=256)
def library_header(name: str, value: str) -> bytes:
    """A header made and folded by ``email.headerregistry`` (the slow, general way)."""
    if len(value.splitlines()) > 1:  # as EmailMessage refuses it: no header injection
        raise ValueError(f"header values may not contain linefeed or carriage return characters: {value!r}")
    return SMTP.fold_binary(name, SMTP.header_factory(name, value))


def address_header(name: str, address: Address) -> bytes:
    """An address header from an ``Address``, as ``msg[name] = address`` writes it."""
    return SMTP.fold_binary(name, SMTP.header_factory(name, address))


def multipart_header(subtype: str, boundary: str) -> bytes:
    """``Content-Type: multipart/<subtype>; boundary=...`` and the blank line after the headers.

    Boundaries differ in their hex digits only, so they fold alike: the library folds one made of
    zeros (cached) and the real boundary takes its place.
    """
    shape = _HEX.sub("0", boundary)
    folded = _content_type(f"multipart/{subtype}", (("boundary", shape),))
    if folded.count(shape.encode()) != 1:
        folded = _content_type(f"multipart/{subtype}", (("boundary", boundary),))
    return folded.replace(shape.encode(), boundary.encode()) + b"\r\n"


@lru_cache(maxsize=64)
def _content_type(ctype: str, params: tuple[tuple[str, str], ...]) -> bytes:
    value = "; ".join([ctype, *(f'{key}="{val}"' for key, val in params)])
    return library_header("Content-Type", value)


def text_part(subtype: str, text: str) -> bytes:
    """A text/<subtype> utf-8 part (headers, blank line, body) with the encoding the library picks."""
    cte, data = _encode_text(text)
    return (
        _content_type(f"text/{subtype}", (("charset", "utf-8"),))
        + b"Content-Transfer-Encoding: "
        + cte.encode()
        + b"\r\n\r\n"
        + "\r\n".join(_NEWLINES.split(data)).encode("ascii", "surrogateescape")
    )


def calendar_part(ics: bytes, method: str, filename: str) -> bytes:
    """The .ics attachment part: base64 in lines of 76 characters."""
    # encodebytes: 57 bytes (76 characters) a line, each ended by a newline, as the library does
    return _calendar_headers(method, filename) + base64.encodebytes(ics).replace(b"\n", b"\r\n")


@lru_cache(maxsize=8)
def _calendar_headers(method: str, filename: str) -> bytes:
    return (
        b"Content-Transfer-Encoding: base64\r\n"
        + library_header("Content-Disposition", f'attachment; filename="{filename}"')
        + _content_type("text/calendar", (("method", method), ("charset", "utf-8")))
        + b"\r\n"
    )


def _encode_text(string: str) -> tuple[str, str]:
    """``email.contentmanager._encode_text`` for utf-8 under the SMTP policy (cte_type 8bit)."""
    lines = string.encode("utf-8").splitlines()
    if max((len(x) for x in lines), default=0) <= _MAX:
        normal = b"\n".join(lines) + b"\n"
        if normal.isascii():
            return "7bit", normal.decode("ascii")
        return "8bit", normal.decode("ascii", "surrogateescape")
    sniff = b"\r\n".join(lines[:10]) + b"\r\n"
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), _MAX)
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        return "base64", _encode_base64(b"\r\n".join(lines) + b"\r\n")
    if len(lines) <= 10:
        return "quoted-printable", sniff_qp
    return "quoted-printable", quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _MAX)


def _encode_base64(data: bytes) -> str:
    step = _MAX // 4 * 3
    return "".join(binascii.b2a_base64(data[i : i + step]).decode("ascii") for i in range(0, len(data), step))
