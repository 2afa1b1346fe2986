"""Contact email addresses: checked with a real parser (``email-validator``, no DNS look-ups).

Every entry that takes an address (``customer add --contact``, ``customer contact add|remove``,
the catalogue file) stores the form ``normalize_address`` returns, and the notice composer and the
senders check again before a message is built or sent (``address_problem``), so an address stored
by an older version can only fail for its own contact.

The normalized form keeps the part before the ``@`` as typed, except the role mailboxes that are
case-insensitive by definition (``NOC``, ``postmaster``, ``abuse``... become lowercase), and
lowercases the domain; an internationalized domain is stored in its ASCII (IDNA) form so that
any mail server can take it. Two addresses that differ only in case are the same contact
(``address_key``), as every mail system in practice treats them.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from windows.errors import InvalidInput
from windows.text import printable

MAX_LENGTH = 254  # RFC 5321 path limit, less the angle brackets


def _shown(value: str) -> str:
    shown = printable(value)
    return f"'{shown[:40]}...'" if len(shown) > 60 else f"'{shown}'"


def normalize_address(value: str) -> str:
    """The address to store, or InvalidInput naming it and what is wrong.

    >>> normalize_address(" Jane.Doe@Example.COM ")
    'Jane.Doe@example.com'
    >>> normalize_address("NOC@Thames.Example.com")
    'noc@thames.example.com'
    >>> normalize_address("ops@münchen.example")
    'ops@xn--mnchen-3ya.example'
    >>> normalize_address("noc)@nile.example.com")
    Traceback (most recent call last):
    ...
    windows.errors.InvalidInput: invalid email address 'noc)@nile.example.com': \
it contains invalid characters before the @-sign: ')'
    """
    candidate = value.strip()
    if len(candidate) > MAX_LENGTH:
        raise InvalidInput(f"invalid email address {_shown(candidate)}: at most {MAX_LENGTH} characters")
    try:
        result = validate_email(candidate, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        reason = reason.replace("The email address", "it", 1) if reason.startswith("The email address") else reason
        raise InvalidInput(f"invalid email address {_shown(value)}: {reason[:1].lower()}{reason[1:]}") from None
    return str(result.ascii_email or result.normalized)


def address_problem(value: str) -> str | None:
    """Why ``value`` cannot be used as a recipient (an InvalidInput message), or None when it can.

    >>> address_problem("ops@acme.example"), address_problem("a@x..com")
    (None, "invalid email address 'a@x..com': an email address cannot have two periods in a row")
    """
    try:
        normalize_address(value)
    except InvalidInput as error:
        return error.message
    return None


def address_key(value: str) -> str:
    """What makes two addresses the same contact: case does not count.

    >>> address_key("Jane.Doe@example.com") == address_key("jane.doe@EXAMPLE.com")
    True
    """
    return value.lower()
