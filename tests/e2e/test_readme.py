"""The README's examples run, in order, and print what the README shows.

How it works and how to regenerate the outputs after a change of behaviour: see
``tests/e2e/readme_examples.py``. In short::

    .venv/bin/python -m tests.e2e.readme_examples --update README.md   # then review git diff README.md
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.readme_examples import ReadmeError, check_file, describe, parse

ROOT = Path(__file__).resolve().parents[2]

PREVIEW = "$ maintcal window preview --days sun --start 00:00 --end 06:00 --tz America/New_York \\\n"
PREVIEW_OUTPUT = """\
    --from 2027-03-14 --to 2027-03-15
ID                   STATUS     LOCAL START                 LOCAL END                   ZONE              UTC START          UTC END            HOURS
preview.w1.20270314  scheduled  Sun 2027-03-14 00:00 -0500  Sun 2027-03-14 06:00 -0400  America/New_York  2027-03-14 05:00Z  2027-03-14 10:00Z  5
"""  # noqa: E501
BAD_DAYS = """\
$ maintcal window preview --days sundays --start 00:00 --end 06:00 --tz UTC --from 2027-03-01 --to 2027-03-02
error: invalid days 'sundays': use mon,tue,... or ranges like tue-thu
[exit 2]
"""


def test_the_readme_examples_print_what_the_readme_shows(tmp_path: Path) -> None:
    failures = check_file(ROOT / "README.md", tmp_path)
    assert not failures, describe(failures)


def _readme(tmp_path: Path, text: str) -> Path:
    (tmp_path / "examples").mkdir(exist_ok=True)
    path = tmp_path / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_console_block_is_run_and_compared_line_by_line(tmp_path: Path) -> None:
    path = _readme(tmp_path, "Text.\n\n```console\n" + PREVIEW + PREVIEW_OUTPUT + BAD_DAYS + "```\n")
    work = tmp_path / "work"
    work.mkdir()
    assert check_file(path, work) == []


def test_a_changed_output_fails_and_update_rewrites_it_keeping_elisions(tmp_path: Path) -> None:
    wrong = PREVIEW + PREVIEW_OUTPUT.replace("05:00Z", "06:00Z") + BAD_DAYS.replace("[exit 2]\n", "")
    elided = "$ maintcal window preview --days sun --start 00:00 --end 06:00 --tz UTC \\\n"
    elided += "    --from 2027-03-01 --to 2027-04-01\nID ...\n...\nstale last line\n"
    path = _readme(tmp_path, "```console\n" + wrong + elided + "```\n")
    (tmp_path / "one").mkdir()
    failures = check_file(path, tmp_path / "one", write=True)
    assert [f.example.line for f in failures] == [2, 6, 8]
    assert failures[1].actual[-1] == "[exit 2]"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("```console\n" + PREVIEW + PREVIEW_OUTPUT + BAD_DAYS)
    assert text.endswith(
        "    --from 2027-03-01 --to 2027-04-01\n"
        "ID                   STATUS     LOCAL START                 LOCAL END                   ZONE  UTC START"
        "          UTC END            HOURS\n"
        "...\n"
        "preview.w1.20270328  scheduled  Sun 2027-03-28 00:00 +0000  Sun 2027-03-28 06:00 +0000  UTC   "
        "2027-03-28 00:00Z  2027-03-28 06:00Z  6\n"
        "```\n"
    )
    (tmp_path / "two").mkdir()
    assert check_file(path, tmp_path / "two") == []


def test_now_directive_pins_the_clock_for_the_blocks_after_it() -> None:
    readme = parse(
        "```console\n$ maintcal product list\n```\n<!-- readme-test: now 2027-01-04T13:40:00Z -->\n"
        "```console\n$ maintcal product list\n```\n"
    )
    assert [e.now.isoformat() for e in readme.examples] == ["2027-01-04T12:00:00+00:00", "2027-01-04T13:40:00+00:00"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```sh\nmaintcal serve\n```\n", "line 1: a ```sh block with commands is neither a ```console example"),
        ("```\n$ maintcal apply x.toml\n```\n", "line 1: a ``` block with commands is neither"),
        ("```console\nmaintcal db upgrade\n```\n", "line 2: a console block starts with '$ command'"),
        ("```console\n$ maintcal db upgrade\n", "line 1: code block never closed"),
        ("<!-- readme-test: now 2027-01-04 13:40 -->\n", "line 1: 'now' needs an offset or Z"),
    ],
)
def test_malformed_or_unmarked_examples_are_refused(text: str, message: str) -> None:
    with pytest.raises(ReadmeError) as error:
        parse(text)
    assert str(error.value).startswith(message)


def test_a_block_marked_not_run_is_skipped() -> None:
    readme = parse("<!-- readme-test: not run (starts the server) -->\n```sh\nmaintcal serve\n```\n")
    assert readme.examples == []
