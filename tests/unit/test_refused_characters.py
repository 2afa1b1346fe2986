"""``refused_character`` finds, by one regular expression, exactly the characters whose Unicode
category plain text refuses (Cc, Cs, Zl, Zp): checked on every code point."""

from __future__ import annotations

import sys
import unicodedata

from windows.text import refused_character

REFUSED = {"Cc", "Cs", "Zl", "Zp"}


def test_every_code_point_is_judged_by_its_category() -> None:
    refused = [cp for cp in range(sys.maxunicode + 1) if refused_character(chr(cp)) is not None]
    expected = [cp for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) in REFUSED]
    assert refused == expected
    assert len(refused) == 65 + 2048 + 2  # 65 controls, 2,048 surrogates, U+2028 and U+2029


def test_the_first_refused_character_is_named() -> None:
    assert refused_character("ok\u2029then\x00") == ("\u2029", "a paragraph separator")
    assert refused_character("a\tb\nc") == ("\t", "a tab")
    assert refused_character("x\r") == ("\r", "a line break")
    assert refused_character("\x85") == ("\x85", "a control character")
    assert refused_character("\udc80") == ("\udc80", "an invalid character")
    assert refused_character("café \u65e5\u672c \U0001f527 \u00a0\u200b") is None
