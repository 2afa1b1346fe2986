"""``maintcal sla compute`` through click's CliRunner: exact JSON, the human table, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli import maintcal

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sla-2027-03.json"
AFTER_MARCH = ["--as-of", "2027-04-02T00:00:00Z"]

DOCUMENT: dict[str, Any] = {
    "period": {"month": "2027-03", "tz": "America/New_York"},
    "windows": [
        {
            "start": "2027-03-16T04:00:00Z",
            "end": "2027-03-16T10:00:00Z",
            "kind": "planned",
            "announced_at": "2027-02-14T04:00:00Z",
            "customer_consent": False,
        },
        {"start": "2027-03-23T04:00:00Z", "end": "2027-03-23T05:00:00Z", "announced_at": "2027-03-11T04:00:00Z"},
    ],
    "outages": [
        {"start": "2027-03-16T09:00:00Z", "end": "2027-03-16T10:30:00Z"},
        {"start": "2027-02-28T23:00:00Z", "end": "2027-03-01T05:10:00Z"},
    ],
}


def run(*args: str) -> Result:
    return CliRunner().invoke(maintcal, ["sla", "compute", *args])


def write(tmp_path: Path, content: Any, name: str = "sla.json") -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def test_json_output_is_exactly_the_design_6_document(tmp_path: Path) -> None:
    result = run(write(tmp_path, DOCUMENT), "--json", *AFTER_MARCH)
    assert (result.exit_code, result.stderr) == (0, "")
    # P = 743 h; E = 6 h; D = 30 min overrun + 1 h unnoticed + 10 min after the month's start.
    assert json.loads(result.stdout) == {
        "period_start": "2027-03-01T05:00:00Z",
        "period_end": "2027-04-01T04:00:00Z",
        "period_seconds": 2_674_800,
        "excluded_seconds": 21_600,
        "downtime_seconds": 6000,
        "eligible_seconds": 2_653_200,
        "availability_percent": "99.7739",  # 2,647,200 / 2,653,200
        "target_percent": "99.95",
        "met": False,
        "credit_percent": 10,
        "error_budget_seconds": 1326 - 6000,  # 0.05 % of 2,653,200 s = 1326.6 s
        "windows": [
            {
                "start": "2027-03-16T04:00:00Z",
                "end": "2027-03-16T10:00:00Z",
                "kind": "planned",
                "announced_at": "2027-02-14T04:00:00Z",
                "customer_consent": False,
                "qualifies": True,
                "reason": "noticed 30 days ahead",
            },
            {
                "start": "2027-03-23T04:00:00Z",
                "end": "2027-03-23T05:00:00Z",
                "kind": "planned",
                "announced_at": "2027-03-11T04:00:00Z",
                "customer_consent": False,
                "qualifies": False,
                "reason": "notice 12 days < 30 days",
            },
        ],
    }


def test_excluded_as_up_uses_the_whole_period_as_denominator(tmp_path: Path) -> None:
    result = run(write(tmp_path, DOCUMENT), "--json", "--excluded-as-up", *AFTER_MARCH)
    output = json.loads(result.stdout)
    assert result.exit_code == 0
    assert (output["eligible_seconds"], output["downtime_seconds"]) == (2_674_800, 6000)
    assert output["availability_percent"] == "99.7757"  # 2,668,800 / 2,674,800


def test_a_month_in_progress_counts_up_to_as_of(tmp_path: Path) -> None:
    result = run(write(tmp_path, DOCUMENT), "--json", "--as-of", "2027-03-16T09:30:00Z")
    output = json.loads(result.stdout)
    assert (output["period_end"], output["period_seconds"]) == ("2027-03-16T09:30:00Z", 15 * 86400 + 4 * 3600 + 1800)
    assert (output["excluded_seconds"], output["downtime_seconds"]) == (19_800, 600)


def test_as_of_may_come_from_the_document(tmp_path: Path) -> None:
    result = run(write(tmp_path, {**DOCUMENT, "as_of": "2027-03-02T05:00:00Z"}), "--json")
    output = json.loads(result.stdout)
    assert (output["period_end"], output["period_seconds"], output["downtime_seconds"]) == (
        "2027-03-02T05:00:00Z",
        86400,
        600,
    )


def test_a_month_not_started_is_a_forecast_with_a_warning(tmp_path: Path) -> None:
    result = run(write(tmp_path, DOCUMENT), "--json", "--as-of", "2027-01-15T00:00:00Z")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["period_seconds"] == 2_674_800
    assert result.stderr.startswith("warning: 2027-03 has not started yet")


def test_human_output_is_a_short_table_and_the_windows_with_reasons() -> None:
    result = run(str(EXAMPLE), *AFTER_MARCH)
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "SLA 2027-03 (America/New_York)"
    text = result.stdout
    for expected in (
        "743h00m00s (2674800 s)",
        "99.0424 %",
        "target 99.95 % NOT met",
        "noticed 35d20h ahead",
        "notice 11d19h < 30 days",
        "customer consent",
        "unplanned maintenance counts as downtime",
    ):
        assert expected in text
    assert len(lines) < 20


def test_the_example_document_computes() -> None:
    result = run(str(EXAMPLE), "--json", *AFTER_MARCH)
    output = json.loads(result.stdout)
    assert (output["excluded_seconds"], output["downtime_seconds"], output["credit_percent"]) == (43_200, 25_200, 10)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "invalid JSON at line 1 column 2"),
        ("", "invalid JSON at line 1 column 1"),
        ({**DOCUMENT, "period": {"month": "2027-3"}}, "period.month: use YYYY-MM, e.g. 2027-03"),
        (
            {**DOCUMENT, "windows": [{"start": "2027-03-02T00:00:00Z", "end": "2027-03-01T00:00:00Z"}]},
            "windows[0].end: not after start",
        ),
        ({**DOCUMENT, "period": {"month": "2027-03", "tz": "Mars/Olympus"}}, "period.tz: unknown time zone"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(tmp_path: Path, content: Any, message: str) -> None:
    path = str(tmp_path / "missing.json") if content is None else write(tmp_path, content)
    result = run(path, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_directory_is_refused_as_bad_input(tmp_path: Path) -> None:
    result = run(str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_a_bad_as_of_is_refused() -> None:
    result = run(str(EXAMPLE), "--as-of", "yesterday")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "invalid instant" in result.stderr


def test_every_sla_command_has_help() -> None:
    for args in (["sla", "--help"], ["sla", "compute", "--help"]):
        result = CliRunner().invoke(maintcal, args)
        assert result.exit_code == 0 and "Usage:" in result.stdout
