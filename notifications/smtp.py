"""Sending over SMTP with aiosmtplib: one connection reused across messages, outcomes per recipient.

``MAINTCAL_SMTP_URL`` forms::

    smtp://host:25                         plain (STARTTLS used if the server offers it)
    smtp://user:pass@host:587?starttls=true   STARTTLS required: never sends in clear
    smtp://user:pass@host:25               with credentials STARTTLS is always required
    smtp://host:25?starttls=false          never STARTTLS
    smtps://user:pass@host:465             implicit TLS
    smtp://user:pass@127.0.0.1:25?plaintext_auth=true   AUTH without TLS: loopback relays only
    ...?timeout=30&verify=false            reply timeout in seconds; skip certificate checks

A password is never sent in clear over the network: with credentials the URL must use smtps:// or
STARTTLS (required, not "if offered"), unless ``plaintext_auth=true`` names a relay on this host
(127.0.0.0/8, ::1 or localhost), where nothing crosses a wire.

The MAIL / RCPT / DATA steps are driven one by one (not ``sendmail``), because aiosmtplib reports
refused recipients in a dict without raising (DESIGN §8) and because only the step tells whether a
failure may have delivered the message: a connection lost or timed out during DATA is *uncertain*.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from notifications.delivery import FAILED, RETRY, Envelope, Outcome, classify
from windows.errors import InvalidInput

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    use_tls: bool = False
    start_tls: bool | None = None  # None: if offered; True: required; False: never
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a repr, log or error
    timeout: float = 30.0
    validate_certs: bool = True

    def describe(self) -> str:
        """The URL with the password hidden, for logs and errors."""
        scheme = "smtps" if self.use_tls else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidInput(f"MAINTCAL_SMTP_URL: {name}={value!r} must be true or false")


def parse_smtp_url(url: str, *, timeout: float = 30.0) -> SmtpConfig:
    """Read an ``smtp://`` or ``smtps://`` URL; errors never repeat the password.

    >>> config = parse_smtp_url("smtp://u%40x:p%3Ass@mail.example.com?starttls=true")
    >>> config.host, config.port, config.start_tls, config.username, config.password
    ('mail.example.com', 587, True, 'u@x', 'p:ss')
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise InvalidInput("MAINTCAL_SMTP_URL must start with smtp:// or smtps:// (e.g. smtp://host:587?starttls=true)")
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput("MAINTCAL_SMTP_URL has an invalid port") from None
    if not parts.hostname:
        raise InvalidInput("MAINTCAL_SMTP_URL names no host")
    use_tls = parts.scheme == "smtps"
    start_tls: bool | None = None
    validate = True
    plaintext_auth = False
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "starttls":
            start_tls = _flag(name, value)
        elif name == "plaintext_auth":
            plaintext_auth = _flag(name, value)
        elif name == "verify":
            validate = _flag(name, value)
        elif name == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                raise InvalidInput(f"MAINTCAL_SMTP_URL: timeout={value!r} is not a number of seconds") from None
            if timeout <= 0:
                raise InvalidInput("MAINTCAL_SMTP_URL: timeout must be positive")
        else:
            raise InvalidInput(
                f"MAINTCAL_SMTP_URL: unknown option '{name}' (use starttls, timeout, verify, plaintext_auth)"
            )
    if use_tls and start_tls:
        raise InvalidInput("MAINTCAL_SMTP_URL: smtps:// is already TLS; drop starttls=true")
    if use_tls:
        start_tls = False
    default_port = 465 if use_tls else 587 if start_tls else 25
    if parts.username and not use_tls:
        start_tls = _tls_for_credentials(parts.hostname, start_tls, plaintext_auth)
    return SmtpConfig(
        host=parts.hostname,
        port=port or default_port,
        use_tls=use_tls,
        start_tls=start_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=timeout,
        validate_certs=validate,
    )


def _tls_for_credentials(host: str, start_tls: bool | None, plaintext_auth: bool) -> bool | None:
    """STARTTLS for a URL with credentials: required, unless plaintext AUTH is allowed for a loopback host."""
    if not plaintext_auth:
        if start_tls is False:
            raise InvalidInput(
                "MAINTCAL_SMTP_URL: starttls=false with a user and password would send the password in clear: "
                "use starttls=true or smtps:// (or plaintext_auth=true for a relay on this host)"
            )
        return True
    if not _is_loopback(host):
        raise InvalidInput(
            f"MAINTCAL_SMTP_URL: plaintext_auth=true is allowed only for a relay on this host "
            f"(127.0.0.1, ::1, localhost), not '{host}': use starttls=true or smtps://"
        )
    return start_tls


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Stale(Exception):
    """A reused connection turned out dead before DATA: reconnect and try again."""


_CONNECTION_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError, OSError)


class SmtpSender:
    """One SMTP connection, opened on first use and reused for every message until it fails."""

    def __init__(self, config: SmtpConfig, *, local_hostname: str = "localhost") -> None:
        self.config = config
        self.local_hostname = local_hostname
        self._smtp: aiosmtplib.SMTP | None = None
        self.connections = 0  # how many times a connection was opened (for tests and figures)

    async def _connect(self) -> aiosmtplib.SMTP:
        c = self.config
        smtp = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            use_tls=c.use_tls,
            start_tls=c.start_tls,
            username=c.username,
            password=c.password,
            timeout=c.timeout,
            validate_certs=c.validate_certs,
            local_hostname=self.local_hostname,
        )
        await smtp.connect()
        self.connections += 1
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None

    async def send(self, envelope: Envelope) -> dict[str, Outcome]:
        """Send one message; a dead reused connection is replaced once before anything is lost."""
        reused = self._smtp is not None and self._smtp.is_connected
        try:
            return await self._send(envelope, reused)
        except _Stale:
            self._drop()
            return await self._send(envelope, False)

    async def _send(self, envelope: Envelope, reused: bool) -> dict[str, Outcome]:
        everyone = envelope.recipients
        try:
            smtp = self._smtp if reused and self._smtp is not None else await self._connect()
        except aiosmtplib.SMTPResponseException as error:
            # A server refusing to talk (421 greeting, 535 authentication...) says nothing about the
            # recipients: retry later, once it (or the configuration) is fixed.
            self._drop()
            detail = f"{self.config.describe()} refused the session: {' '.join(error.message.split())}"
            return dict.fromkeys(everyone, Outcome(RETRY, error.code, detail))
        except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS) as error:
            self._drop()
            detail = f"cannot connect to {self.config.describe()}: {error}"
            if self.config.start_tls and "STARTTLS extension not supported" in str(error):
                secret = "the password" if self.config.username else "mail"
                detail = (
                    f"{self.config.describe()} offers no STARTTLS: refusing to send {secret} in clear "
                    "(use smtps://, or plaintext_auth=true for a relay on this host)"
                )
            return dict.fromkeys(everyone, Outcome(RETRY, None, detail))
        size_limit = _size_limit(smtp)
        if size_limit and len(envelope.message) > size_limit:
            detail = f"message of {len(envelope.message)} bytes exceeds the server's limit of {size_limit} (SIZE)"
            return dict.fromkeys(everyone, Outcome(FAILED, 552, detail))
        try:
            return await self._transaction(smtp, envelope, size_limit is not None)
        except _Stale:
            if reused:
                raise
            self._drop()
            return dict.fromkeys(everyone, Outcome(RETRY, None, "connection lost before DATA"))

    async def _transaction(self, smtp: aiosmtplib.SMTP, envelope: Envelope, size: bool) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        options = [f"SIZE={len(envelope.message)}"] if size else []
        encoding = "ascii"
        if not all(address.isascii() for address in (envelope.sender, *envelope.recipients)):
            if not smtp.supports_extension("smtputf8"):
                detail = "a non-ASCII address needs SMTPUTF8, which the server does not offer"
                return dict.fromkeys(envelope.recipients, Outcome(FAILED, None, detail))
            options.append("SMTPUTF8")
            encoding = "utf-8"
        try:
            await smtp.mail(envelope.sender, options=options, encoding=encoding)
        except aiosmtplib.SMTPResponseException as error:
            if error.code == 421:
                raise _Stale from error
            await _reset(smtp)
            return dict.fromkeys(envelope.recipients, classify(error.code, error.message))
        except _CONNECTION_ERRORS as error:
            raise _Stale from error
        accepted = []
        for recipient in envelope.recipients:
            try:
                await smtp.rcpt(recipient, encoding=encoding)
                accepted.append(recipient)
            except aiosmtplib.SMTPResponseException as error:
                if error.code == 421:
                    raise _Stale from error
                outcomes[recipient] = classify(error.code, error.message)
            except _CONNECTION_ERRORS as error:
                raise _Stale from error
        if not accepted:
            await _reset(smtp)
            return outcomes
        try:
            reply = await smtp.data(envelope.message)
        except aiosmtplib.SMTPResponseException as error:
            if error.code == 421:
                self._drop()
            else:
                await _reset(smtp)
            outcomes.update(dict.fromkeys(accepted, classify(error.code, error.message)))
            return outcomes
        except _CONNECTION_ERRORS as error:  # TimeoutError is an OSError
            # The server may have the message: resend later with the same Message-ID, flagged.
            self._drop()
            detail = f"no reply after DATA ({type(error).__name__}: {error}); may have been delivered"
            outcomes.update(dict.fromkeys(accepted, Outcome(RETRY, None, detail, uncertain=True)))
            return outcomes
        outcomes.update(dict.fromkeys(accepted, classify(reply.code, reply.message)))
        return outcomes

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS):
                smtp.close()


def _size_limit(smtp: aiosmtplib.SMTP) -> int | None:
    if not smtp.supports_extension("size"):
        return None
    raw = smtp.esmtp_extensions.get("size", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else 0


async def _reset(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.rset()
    except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS):
        smtp.close()
