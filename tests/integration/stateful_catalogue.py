"""The catalogue side of the stateful test: a model of what was applied, and its TOML text.

The model holds the catalogue as the operator's file would say it (products, windows, customers,
contacts, subscriptions). ``render`` turns it into the text ``maintcal apply`` reads; the state
machine in test_stateful.py edits the model, applies the text, and keeps the edit only when the
service accepted it. The value pools below are deliberately small (a few products, rules and
customers) so that every example stays cheap, and include the edges: windows crossing midnight,
DST nights, ``local`` rules, ``from``/``until`` in the past and future, and hostile text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

# -- fixed products ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductModel:
    key: str
    name: str
    notice_days: int
    public: bool
    reschedule_cutoff_hours: int
    reschedule_max_shift_days: int


PRODUCTS = (
    ProductModel("alpha", "Alpha", 3, True, 12, 14),
    ProductModel("beta", "Beta; Cloud, \\ EU", 10, False, 24, 7),
)
NOTICE_DAYS = {p.key: p.notice_days for p in PRODUCTS}

# -- value pools (hostile values last: shrinking prefers the first) ---------------------------------

RULE_NAMES = ("nightly", "weekend", "cron", "once")
ZONES = ("America/New_York", "UTC", "Europe/London", "Australia/Lord_Howe", "local")
WEEKLY_DAYS = ("tue", "sat,sun", "mon,wed,fri", "thu")
WEEKLY_TIMES = (("22:00", "05:00"), ("00:00", "06:00"), ("01:30", "03:30"), ("23:00", "23:00"), ("02:00", "02:30"))
CRONS = (("0 3 * * sun", "2h"), ("30 1 * * *", "1h"), ("0 2 1 * *", "4h"), ("0 */12 * * *", "12h"))
ONCE_DAYS = (12, -1, 0, 1, 4, 40, -10)  # days from today
ONCE_TIMES = ("01:00", "22:00")
ONCE_HOURS = (2, 5, 30)
FROM_DAYS = (None, 15, -3, 2, 45, -40)
UNTIL_DAYS = (None, 30, -1, 5, 90)
LABELS = (None, "Patch night", "Tuesday & Thursday 12:00 am - 6:00 am (Local time)", "bad\x0blabel")
WAIVERS = (None, "published in the support guide")

CUSTOMER_KEYS = ("acme", "koala", "delhi")
CUSTOMER_NAMES = ("Acme Ltd", "Koala, Pty; \\ Co", "Delhi Pvt", "Bell\x7fCorp", "Line\u2028Sep")
CUSTOMER_ZONES = ("Europe/London", "Australia/Sydney", "America/New_York", "Asia/Kolkata", "Pacific/Chatham")
CONTACTS = ("ops@acme.example", "noc@koala.example", "cto@delhi.example", "noc)@nile.example.com")


@dataclass(frozen=True)
class WindowModel:
    """One ``[[products.windows]]`` table: the rule's fields exactly as the file says them."""

    name: str
    fields: tuple[tuple[str, str], ...]  # days/start/end, cron/duration or once_start/once_end
    tz: str
    valid_from: date | None = None
    valid_until: date | None = None
    label: str | None = None
    waive_notice: str | None = None

    def without_dates(self) -> WindowModel:
        return replace(self, valid_from=None, valid_until=None)


@dataclass(frozen=True)
class CustomerModel:
    key: str
    name: str
    tz: str
    contacts: tuple[str, ...] = ()
    subscriptions: tuple[str, ...] = ()


@dataclass
class CatalogueModel:
    """What the catalogue file says now: windows per product, and the customers."""

    windows: dict[str, dict[str, WindowModel]] = field(default_factory=lambda: {p.key: {} for p in PRODUCTS})
    customers: dict[str, CustomerModel] = field(default_factory=dict)

    def copy(self) -> CatalogueModel:
        return CatalogueModel({k: dict(v) for k, v in self.windows.items()}, dict(self.customers))


# -- strategies (drawn inside rules, relative to the model clock) -----------------------------------


@st.composite
def windows(draw: st.DrawFn, name: str, today: date) -> WindowModel:
    """A window rule named ``name``: weekly, cron or one-off, with optional from/until/label/waiver."""
    form = draw(st.sampled_from(("weekly", "cron", "once")))
    fields: tuple[tuple[str, str], ...]
    if form == "weekly":
        start, end = draw(st.sampled_from(WEEKLY_TIMES))
        fields = (("days", draw(st.sampled_from(WEEKLY_DAYS))), ("start", start), ("end", end))
    elif form == "cron":
        expression, duration = draw(st.sampled_from(CRONS))
        fields = (("cron", expression), ("duration", duration))
    else:
        day = today + timedelta(days=draw(st.sampled_from(ONCE_DAYS)))
        hh, mm = (int(part) for part in draw(st.sampled_from(ONCE_TIMES)).split(":"))
        first = datetime(day.year, day.month, day.day, hh, mm)
        last = first + timedelta(hours=draw(st.sampled_from(ONCE_HOURS)))
        fields = (("once_start", f"{first:%Y-%m-%dT%H:%M}"), ("once_end", f"{last:%Y-%m-%dT%H:%M}"))
    from_days, until_days = draw(st.sampled_from(FROM_DAYS)), draw(st.sampled_from(UNTIL_DAYS))
    return WindowModel(
        name=name,
        fields=fields,
        tz=draw(st.sampled_from(ZONES)),
        valid_from=None if from_days is None else today + timedelta(days=from_days),
        valid_until=None if until_days is None else today + timedelta(days=until_days),
        label=draw(st.sampled_from(LABELS)),
        waive_notice=draw(st.sampled_from(WAIVERS)),
    )


@st.composite
def customers(draw: st.DrawFn, key: str) -> CustomerModel:
    return CustomerModel(
        key=key,
        name=draw(st.sampled_from(CUSTOMER_NAMES)),
        tz=draw(st.sampled_from(CUSTOMER_ZONES)),
        contacts=tuple(draw(st.lists(st.sampled_from(CONTACTS), max_size=2, unique=True))),
        subscriptions=tuple(draw(st.lists(st.sampled_from([p.key for p in PRODUCTS]), max_size=2, unique=True))),
    )


# -- the file -------------------------------------------------------------------------------------


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except that DEL must be escaped too."""
    return json.dumps(value).replace("\x7f", "\\u007f")


def _pairs(items: list[tuple[str, Any]], indent: str) -> list[str]:
    lines = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, date):
            text = value.isoformat()
        elif isinstance(value, tuple):
            text = "[" + ", ".join(toml_string(v) for v in value) + "]"
        else:
            text = toml_string(value)
        lines.append(f"{indent}{key} = {text}")
    return lines


def render(model: CatalogueModel) -> str:
    """The catalogue file for ``model`` (every product and customer listed; nothing pruned)."""
    lines: list[str] = []
    for product in PRODUCTS:
        lines += ["[[products]]"]
        lines += _pairs(
            [
                ("key", product.key),
                ("name", product.name),
                ("notice_days", product.notice_days),
                ("public", product.public),
                ("reschedule_cutoff_hours", product.reschedule_cutoff_hours),
                ("reschedule_max_shift_days", product.reschedule_max_shift_days),
            ],
            "",
        )
        for window in model.windows[product.key].values():
            lines += ["", "  [[products.windows]]"]
            lines += _pairs(
                [
                    ("name", window.name),
                    *window.fields,
                    ("tz", window.tz),
                    ("from", window.valid_from),
                    ("until", window.valid_until),
                    ("label", window.label),
                    ("waive_notice", window.waive_notice),
                ],
                "  ",
            )
        lines.append("")
    for customer in model.customers.values():
        lines += ["[[customers]]"]
        lines += _pairs(
            [
                ("key", customer.key),
                ("name", customer.name),
                ("tz", customer.tz),
                ("contacts", customer.contacts),
                ("subscriptions", customer.subscriptions),
            ],
            "",
        )
        lines.append("")
    return "\n".join(lines)
