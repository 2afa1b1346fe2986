"""The plain-ASCII fast path of ``normalize_address`` gives email-validator's answer, or defers to it."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.addresses import _plain, address_problem, normalize_address
from windows.errors import InvalidInput


def _validator(candidate: str) -> str | None:
    """email-validator's stored form, or None when it refuses the address."""
    try:
        result = validate_email(candidate, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError:
        return None
    return str(result.ascii_email or result.normalized)


# Addresses built near every rule the fast path must respect: empty atoms and labels (two dots in a
# row), hyphens at label edges, role names, special-use names, Punycode, non-ASCII, long labels.
_ATOMS = st.one_of(
    st.text(alphabet="aZ9_+'~-!#{", min_size=1, max_size=5),
    st.sampled_from(["NOC", "Postmaster", "info", "é", " ", "(", '"q"', "a" * 70, ""]),
)
_LABELS = st.one_of(
    st.text(alphabet="aZ9-x", min_size=1, max_size=6),
    st.sampled_from(
        [
            "test",
            "local",
            "localhost",
            "onion",
            "arpa",
            "xn--mnchen-3ya",
            "ab--c",
            "Example",
            "com",
            "münchen",
            "a" * 63,
            "b" * 64,
            "_x",
            "1",
            "",
        ]
    ),
)
_LOCAL = st.lists(_ATOMS, min_size=1, max_size=3).map(".".join)
_DOMAIN = st.lists(_LABELS, min_size=1, max_size=4).map(".".join)


@settings(max_examples=1500)
@given(local=_LOCAL, domain=_DOMAIN)
def test_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    candidate = f"{local}@{domain}"
    fast = _plain(candidate)
    if fast is not None:
        assert fast == _validator(candidate)


@settings(max_examples=400)
@given(st.text(max_size=80))
def test_fast_path_on_any_text(candidate: str) -> None:
    fast = _plain(candidate)
    if fast is not None:
        assert fast == _validator(candidate)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Jane.Doe@Example.COM", "Jane.Doe@example.com"),
        ("NOC@Thames.Example.com", "noc@thames.example.com"),
        ("o'brien+maint@ops.example.co.uk", "o'brien+maint@ops.example.co.uk"),
        ("a@b.c-d.e9", "a@b.c-d.e9"),
    ],
)
def test_plain_addresses_take_the_fast_path(typed: str, stored: str) -> None:
    assert _plain(typed) == stored
    assert normalize_address(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "ops@münchen.example",
        "ops@xn--mnchen-3ya.example",
        "a@host.test",
        "a@printer.local",
        "a@localhost",
        "a@x..com",
        "a@-x.com",
        "a@1.2.3.4",
        '"quoted"@example.com',
        "a@" + "b" * 64 + ".com",
        "a" * 70 + "@" + ("b" * 60 + ".") * 3 + "com",
    ],
)
def test_other_addresses_go_to_email_validator(typed: str) -> None:
    assert _plain(typed) is None


def test_refusals_keep_their_wording() -> None:
    assert address_problem("a@host.test") == (
        "invalid email address 'a@host.test': the part after the @-sign is a special-use or reserved name that"
        " cannot be used with email"
    )
    with pytest.raises(InvalidInput) as refused:
        normalize_address("a@x..com")
    assert refused.value.message == (
        "invalid email address 'a@x..com': an email address cannot have two periods in a row"
    )
    assert normalize_address("ops@münchen.example") == "ops@xn--mnchen-3ya.example"
