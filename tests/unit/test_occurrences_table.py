"""``maintcal occurrences`` prints its table without rich, byte for byte as rich's print_table would."""

from __future__ import annotations

import pytest

from commands.common import print_table
from commands.occurrences import COLUMNS, print_plain_table

ROW = (
    "pureengage-cloud.early-morning.20270316.fjord-freight",
    "scheduled",
    "Tue 2027-03-16 00:00 +0100",
    "Tue 2027-03-16 06:00 +0100",
    "Europe/Oslo",
    "2027-03-15 23:00Z",
    "2027-03-16 05:00Z",
    "6",
)
SHORT = ("p.r.20270316", "moved", "Tue 2027-03-16 22:00 -0400", "Wed 2027-03-17 05:00 -0400", "UTC", "a", "b", "7.5")


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [ROW],
        [SHORT],
        [ROW, SHORT, ROW],
        [(*ROW[:7], "168"), SHORT],
        [("x" * 75, *ROW[1:])],  # 200 wide: still one line each
    ],
    ids=["empty", "one", "short", "mixed", "wide hours", "nearly too wide"],
)
def test_plain_table_is_what_rich_prints(rows: list[tuple[str, ...]], capsys: pytest.CaptureFixture[str]) -> None:
    print_table(COLUMNS, rows)
    expected = capsys.readouterr().out
    assert print_plain_table(COLUMNS, rows) is True
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize(
    "row",
    [
        ("x" * 76, *ROW[1:]),  # 201 wide, wider than the console: rich wraps it
        ("p.[bold]r[/bold].1", *ROW[1:]),  # rich markup
        ("p.r.1", *ROW[1:4], "Amérique/Zone", *ROW[5:]),  # not ASCII: rich measures cells
    ],
    ids=["too wide", "markup", "not ascii"],
)
def test_what_rich_lays_out_otherwise_is_left_to_rich(row: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert print_plain_table(COLUMNS, [row]) is False
    assert capsys.readouterr().out == ""
