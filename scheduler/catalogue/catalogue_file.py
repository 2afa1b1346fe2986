"""The declarative catalogue file (TOML): parsing and validation, every problem with its line.

The file lists products (with ``[[products.windows]]``) and customers (with contacts and
subscriptions). ``parse_catalogue`` turns it into specs or refuses it as a whole, listing every
problem as ``file:line: message``. ``scheduler.catalogue.apply`` plans and applies the specs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from notifications.addresses import address_key, normalize_address
from scheduler.catalogue.blackouts_file import (
    POLICY_KEYS,
    BlackoutDecl,
    FreezeDecl,
    collect,
    parse_blackout,
    parse_freeze,
    policy_values,
)
from scheduler.catalogue.file_problems import Problems
from scheduler.catalogue.products import check_name
from windows.errors import InvalidInput, MaintcalError, ManyProblems
from windows.lifecycle import parse_leads
from windows.parsing import check_date, check_slug
from windows.rules import Rule, rules_overlap_warning
from windows.rulespec import RuleOptions, build_rule
from windows.text import clean_text
from windows.timezones import resolve_zone

_PRODUCT_KEYS = {
    "key",
    "name",
    "notice_days",
    "public",
    "reschedule_cutoff_hours",
    "reschedule_max_shift_days",
    "windows",
    "notice_channels",
} | POLICY_KEYS
_WINDOW_KEYS = {"name", "days", "start", "end", "cron", "duration", "once_start", "once_end", "tz", "from", "until"}
_WINDOW_KEYS |= {"label", "waive_notice"}
NOTICE_CHANNELS = ("email", "webhook", "slack", "teams")
_CUSTOMER_KEYS = {"key", "name", "tz", "contacts", "subscriptions", "blackouts", "reminders", "lifecycle_notices"}


@dataclass(frozen=True)
class WindowSpec:
    rule: Rule
    waive_notice: str | None


@dataclass(frozen=True)
class ProductSpec:
    key: str
    name: str
    notice_days: int
    public: bool
    reschedule_cutoff_hours: int
    reschedule_max_shift_days: int
    windows: list[WindowSpec]
    policy: dict[str, Any] = field(default_factory=dict)  # on_blackout, blackout_lead_days, ...
    notice_channels: tuple[str, ...] | None = None  # what compliance counts; None: email only


@dataclass(frozen=True)
class CustomerSpec:
    key: str
    name: str
    tz: str
    contacts: list[str]
    subscriptions: list[str]
    blackouts: list[BlackoutDecl] | None = None  # None: the file does not say (keep the stored ones)
    reminders: tuple[str, ...] | None = None  # lead times; None: the default (7d, 24h)
    lifecycle_notices: bool = False  # started/finished notices for planned windows too


@dataclass
class Catalogue:
    products: list[ProductSpec] = field(default_factory=list)
    customers: list[CustomerSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    freezes: list[FreezeDecl] | None = None  # None: the file does not say (keep the stored ones)


def parse_catalogue(text: str, filename: str = "catalogue.toml") -> Catalogue:
    """Parse and validate a catalogue file; ManyProblems lists every problem with its line."""
    problems = Problems(filename, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"{filename}: not valid TOML: {error}") from None
    catalogue = Catalogue()
    for unknown in set(data) - {"products", "customers", "freezes"}:
        problems.add(f"unknown top-level key '{unknown}' (expected products, customers, freezes)", unknown)
    if "freezes" in data:
        found = [collect(problems, parse_freeze, raw) for raw in _tables(data, "freezes", problems)]
        catalogue.freezes = [f for f in found if f is not None]
    seen: set[str] = set()
    entries = _tables(data, "products", problems)
    for entry, span in zip(entries, problems.spans("products", len(entries)), strict=True):
        problems.scope = span
        spec = _product(entry, problems, catalogue.warnings)
        key = entry.get("key")
        if isinstance(key, str) and key in seen:
            problems.add(f"product '{key}' is listed twice", f'"{key}"')
        elif spec:
            catalogue.products.append(spec)
        seen.add(str(key))
    seen = set()
    entries = _tables(data, "customers", problems)
    for entry, span in zip(entries, problems.spans("customers", len(entries)), strict=True):
        problems.scope = span
        customer = _customer(entry, problems, catalogue.warnings)
        key = entry.get("key")
        if isinstance(key, str) and key in seen:
            problems.add(f"customer '{key}' is listed twice", f'"{key}"')
        elif customer:
            catalogue.customers.append(customer)
        seen.add(str(key))
    problems.scope = None
    if problems.items:
        raise ManyProblems(problems.items)
    return catalogue


def _tables(data: dict[str, Any], name: str, problems: Problems) -> list[dict[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.add(f"'{name}' must be an array of tables ([[{name}]])", name)
        return []
    return value


def _product(entry: dict[str, Any], problems: Problems, warnings: list[str]) -> ProductSpec | None:
    key = entry.get("key")
    near = f'"{key}"' if isinstance(key, str) else "[[products]]"
    ok = _check_keys(entry, _PRODUCT_KEYS, f"product '{key}'", problems, near)
    if not isinstance(key, str):
        problems.add("a product needs a key", near)
        return None
    ok &= _try(problems, near, lambda: check_slug(key, "product key"))
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(f"product '{key}' needs a name", near)
        ok = False
    else:
        ok &= _try(problems, "name =", lambda: check_name(name, f"product '{key}' name"))
    ints = {}
    for field_name, default, high in (
        ("notice_days", 30, 365),
        ("reschedule_cutoff_hours", 72, 24 * 365),
        ("reschedule_max_shift_days", 14, 365),
    ):
        value = entry.get(field_name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
            problems.add(f"product '{key}': {field_name} must be a whole number from 0 to {high}", f"{field_name} =")
            ok = False
        ints[field_name] = value
    public = entry.get("public", False)
    if not isinstance(public, bool):
        problems.add(f"product '{key}': public must be true or false", "public =")
        ok = False
    channels = entry.get("notice_channels")
    if channels is not None and (
        not isinstance(channels, list) or not channels or not all(c in NOTICE_CHANNELS for c in channels)
    ):
        problems.add(
            f"product '{key}': notice_channels must be a list of {', '.join(NOTICE_CHANNELS)}", "notice_channels ="
        )
        ok = False
    windows: list[WindowSpec] = []
    names: set[str | None] = set()
    raw_windows = entry.get("windows", [])
    if not isinstance(raw_windows, list):
        problems.add(f"product '{key}': windows must be an array of tables ([[products.windows]])", near)
        raw_windows = []
    product_span = problems.scope
    window_spans = problems.spans("products.windows", len(raw_windows), product_span)
    for index, (raw, window_span) in enumerate(zip(raw_windows, window_spans, strict=True), 1):
        problems.scope = window_span or product_span
        spec = _window(key, index, raw, problems, warnings)
        window_name = str(raw.get("name", f"w{index}")) if isinstance(raw, dict) else None
        if window_name is not None and window_name in names:
            problems.add(f"product '{key}' has two windows named '{window_name}'", f'"{window_name}"')
            ok = False
        problems.scope = product_span
        names.add(window_name)
        if spec is None:
            ok = False
        else:
            windows.append(spec)
    warnings.extend(rules_overlap_warning([w.rule for w in windows]))
    policy = collect(problems, policy_values, entry, key)
    if not ok or policy is None:
        return None
    assert isinstance(name, str)
    spec_channels = tuple(dict.fromkeys(channels)) if isinstance(channels, list) else None
    return ProductSpec(
        key, name.strip(), public=public, windows=windows, policy=policy, notice_channels=spec_channels, **ints
    )


def _window(product: str, index: int, raw: Any, problems: Problems, warnings: list[str]) -> WindowSpec | None:
    if not isinstance(raw, dict):
        problems.add(f"product '{product}': window {index} must be a table")
        return None
    name = raw.get("name", f"w{index}")
    near = f'"{name}"' if "name" in raw else f'"{product}"'
    what = f"window '{product}.{name}'"
    known_keys = _check_keys(raw, _WINDOW_KEYS, what, problems, near)
    strings = {}
    for field_name in ("days", "start", "end", "cron", "duration", "once_start", "once_end", "tz", "label"):
        value = raw.get(field_name)
        if value is not None and not isinstance(value, str):
            problems.add(f"{what}: {field_name} must be a string", f"{field_name} =")
            return None
        strings[field_name] = value
    for field_name, longest in (("label", 200), ("waive_notice", 2000)):
        value = raw.get(field_name)
        if isinstance(value, str):
            try:
                clean_text(f"{what}: {field_name}", value, max_length=longest, required=False)
            except MaintcalError as error:
                problems.add(error.message, f"{field_name} =")
                return None
    dates = []
    for date_key in ("from", "until"):
        try:
            dates.append(_date(raw.get(date_key), f"{what}: {date_key}"))
        except MaintcalError as error:
            problems.add(error.message, f"{date_key} =")
            return None
    valid_from, valid_until = dates
    try:
        rule, rule_warnings = build_rule(
            RuleOptions(product=product, name=str(name), valid_from=valid_from, valid_until=valid_until, **strings)
        )
    except MaintcalError as error:
        problems.add(f"{what}: {error.message}", near)
        return None
    if not known_keys:
        return None
    warnings.extend(f"{what}: {w}" for w in rule_warnings)
    waive = raw.get("waive_notice")
    return WindowSpec(rule, str(waive) if waive else None)


def _date(value: Any, what: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return check_date(value, what)
    if isinstance(value, str):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return check_date(parsed, what)
    raise InvalidInput(f"{what} must be a date YYYY-MM-DD")


def _customer(entry: dict[str, Any], problems: Problems, warnings: list[str]) -> CustomerSpec | None:
    key = entry.get("key")
    near = f'"{key}"' if isinstance(key, str) else "[[customers]]"
    ok = _check_keys(entry, _CUSTOMER_KEYS, f"customer '{key}'", problems, near)
    if not isinstance(key, str):
        problems.add("a customer needs a key", near)
        return None
    ok &= _try(problems, near, lambda: check_slug(key, "customer key"))
    name, tz = entry.get("name"), entry.get("tz")
    name_near = "name =" if isinstance(name, str) else near
    ok &= _try(problems, name_near, lambda: check_name(name if isinstance(name, str) else "", f"customer '{key}' name"))
    zone = None
    if not isinstance(tz, str):
        problems.add(f"customer '{key}' needs tz (an IANA zone like Europe/London)", near)
    else:
        try:
            zone = resolve_zone(tz)
            if zone.warning:
                warnings.append(f"customer '{key}': {zone.warning}")
        except MaintcalError as error:
            problems.add(f"customer '{key}': {error.message}", "tz =")
    contacts, subscriptions = entry.get("contacts", []), entry.get("subscriptions", [])
    for label, value in (("contacts", contacts), ("subscriptions", subscriptions)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.add(f"customer '{key}': {label} must be a list of strings", f"{label} =")
            return None
    emails: dict[str, str] = {}
    for email in contacts:
        try:
            normalized = normalize_address(email)
            emails.setdefault(address_key(normalized), normalized)
        except MaintcalError as error:
            # The line that holds the address, or (written with escapes) the line of 'contacts ='.
            problems.add(f"customer '{key}': {error.message}", email if problems.line_of(email) else "contacts =")
            ok = False
    blackouts = None
    if "blackouts" in entry:
        raw_blackouts = entry["blackouts"] if isinstance(entry["blackouts"], list) else [entry["blackouts"]]
        blackouts = [collect(problems, parse_blackout, raw, key) for raw in raw_blackouts]
        ok &= all(b is not None for b in blackouts)
    reminders, lifecycle = entry.get("reminders"), entry.get("lifecycle_notices", False)
    leads: tuple[str, ...] | None = None
    if reminders is not None:
        if not isinstance(reminders, list) or not all(isinstance(v, str) for v in reminders):
            problems.add(
                f'customer \'{key}\': reminders must be a list of lead times like ["7d", "24h"]', "reminders ="
            )
            return None
        try:
            leads = parse_leads(reminders) if reminders else ()
        except MaintcalError as error:
            problems.add(f"customer '{key}': {error.message}", "reminders =")
            ok = False
    if not isinstance(lifecycle, bool):
        problems.add(f"customer '{key}': lifecycle_notices must be true or false", "lifecycle_notices =")
        ok = False
    if not ok or zone is None:
        return None
    assert isinstance(name, str)
    return CustomerSpec(
        key,
        name.strip(),
        zone.name,
        list(emails.values()),
        list(dict.fromkeys(subscriptions)),
        [b for b in blackouts if b is not None] if blackouts is not None else None,
        reminders=leads,
        lifecycle_notices=bool(lifecycle),
    )


def _check_keys(entry: dict[str, Any], allowed: set[str], what: str, problems: Problems, near: str) -> bool:
    unknown = sorted(set(entry) - allowed)
    for key in unknown:
        problems.add(f"{what}: unknown key '{key}' (allowed: {', '.join(sorted(allowed))})", f"{key} =")
    return not unknown


def _try(problems: Problems, near: str, check: Any) -> bool:
    try:
        check()
        return True
    except MaintcalError as error:
        problems.add(error.message, near)
        return False
