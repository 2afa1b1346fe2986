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

import re
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from windows.errors import InvalidInput
from windows.text import printable

MAX_LENGTH = 254  # RFC 5321 path limit, less the angle brackets

# The plain ASCII form almost every contact has: a dot-atom local part, and a domain of two or more
# letter-digit-hyphen labels (at most 63 each) ending in a label that starts with a letter.
# email-validator accepts every such address, except those the checks in ``_plain`` leave to it.
_ATOM = r"[A-Za-z0-9_!#$%&'*+/=?^`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?)")
_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)
_ROLES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


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
    normalized, problem = _checked(value)
    if problem is not None:
        raise InvalidInput(problem)
    return normalized


@lru_cache(maxsize=4_096)
def _checked(value: str) -> tuple[str, str | None]:
    """``normalize_address``'s answer as (address, None) or ("", message). The planning run composes a
    customer's notices together, so its contacts' addresses come back while still cached; the cache
    stays small (~1 MB) as a sender goes through 100,000 addresses."""
    candidate = value.strip()
    if len(candidate) > MAX_LENGTH:
        return "", f"invalid email address {_shown(candidate)}: at most {MAX_LENGTH} characters"
    plain = _plain(candidate)
    if plain is not None:
        return plain, None
    try:
        result = validate_email(candidate, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        reason = reason.replace("The email address", "it", 1) if reason.startswith("The email address") else reason
        return "", f"invalid email address {_shown(value)}: {reason[:1].lower()}{reason[1:]}"
    return str(result.ascii_email or result.normalized), None


def _plain(candidate: str) -> str | None:
    """What email-validator would return for a plain ASCII address, without its Unicode and IDNA
    work (~0.1 ms an address; a 50,000-customer catalogue has 100,000), or None to ask it.

    Left to it: anything the pattern does not match, any domain with ``--`` (Punycode), over 253
    characters or ending in a special-use name (``test``, ``local``...). ``test_address_fast_path``
    checks this against email-validator on generated addresses.
    """
    match = _PLAIN.fullmatch(candidate) if len(candidate) <= MAX_LENGTH else None
    if match is None:
        return None
    local, domain = match.group(1), match.group(2).lower()
    if len(domain) > 253 or "--" in domain or domain.endswith(_SPECIAL_USE):  # (also "contest": fine)
        return None
    if local.lower() in _ROLES:
        local = local.lower()
    return f"{local}@{domain}"


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
