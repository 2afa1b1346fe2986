"""The validator of a feed, known without rendering it (issue 10 §2, issue 11).

A feed's bytes are a function of the rows of ``FEED_SHAPING_TABLES`` (every change to them raises
the data version, ``repository.bump_version``), the horizon day, the settings that appear in the
calendar and this module's ``FORMAT``. Each change also records what it can alter (``FeedVersion``:
every feed, one product's feed and its subscribers', or one customer's), so a feed's ``FeedStamp``
(the versions of what it depends on) changes exactly when its data may. The ETag hashes the stamp,
the day, the settings and ``FORMAT``, so a poll is answered 304 without rendering (and, once the
feed is known, from memory: ``index.FeedIndex``), the same fingerprint always stands for the same
bytes (a strong ETag), and a change to one customer leaves every other customer's ETag as it was.
Last-Modified is the latest ``changed_at`` of the stamp, or 00:00Z of the horizon day when later
(the horizon moves then, even without data changes).

A new table must be listed in one of the two sets below (a test checks): in the first when its rows
change what a feed holds, and then every change to it must bump the data version, naming the
product or customer it touched (or nothing: every feed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from scheduler.settings import Settings

# Raise when the rendered bytes change for the same data (a new property, a new layout).
# 2: each event of a customer's feed links to its page in the customer portal (URL).
FORMAT = "3"

FEED_SHAPING_TABLES = frozenset(
    {
        "data_version",
        "feed_versions",  # what each change touched: the feeds' stamps (issue 11)
        "products",
        "window_rules",
        "customers",
        "subscriptions",
        "overrides",
        "unplanned",
        "unplanned_customers",
        "blackouts",  # an active one skips or moves a customer's 'local' occurrences (issue 14)
        "freezes",  # cancels every occurrence in it
    }
)
NOT_FEED_SHAPING_TABLES = frozenset(
    {
        "feed_tokens",  # which feed a token opens: cached per process until the tokens version (row 2) moves
        "api_keys",
        "contacts",
        "reschedule_requests",  # an approval writes an override, which shapes feeds
        "outages",
        "notices",
        "deliveries",
        "delivery_occurrences",
        "delivery_attempts",
        "ops_reported_conflicts",  # which conflicts an ops digest listed (issue 14)
        "conflict_resolutions",  # ops proceed with an occurrence: the schedule stays as it was
        "portal_links",  # the customer portal (scheduler/portal/): sign-in, sessions, who asked
        "portal_sessions",
        "portal_settings",
        "reschedule_requesters",
        "endpoints",  # webhook, Slack and Teams targets of a customer's notices (issue 15)
        "plan_marks",  # the planning run's watermark (scheduler/notices/plan_scope.py)
        "plan_changes",  # what each data version touched, for the planning run
    }
)


@dataclass(frozen=True)
class FeedStamp:
    """The versions a feed's content depends on, as the data versions that last changed them.

    ``versions``: every feed's ('all'), the feed's own (its product's or customer's), then for a
    customer feed each subscribed product id with its version; ``latest`` the highest of those
    versions; ``changed_at`` the latest instant among them.
    """

    versions: tuple[int, ...]
    latest: int
    changed_at: datetime


@dataclass(frozen=True)
class Validator:
    """What HTTP says about a feed before (and without) rendering it."""

    etag: str
    last_modified: datetime  # aware UTC, whole seconds


def feed_validator(settings: Settings, feed: tuple[str, int], stamp: FeedStamp, day: date) -> Validator:
    """The ETag and Last-Modified of ``feed`` (kind, row id) at ``stamp`` on horizon ``day``.

    >>> changed = datetime(2027, 1, 4, 13, 5, 1, 5, tzinfo=UTC)
    >>> v = feed_validator(Settings(), ("product", 3), FeedStamp((7, 5), 7, changed), date(2027, 1, 4))
    >>> v.etag.startswith('"fp-'), len(v.etag), v.last_modified.isoformat()
    (True, 45, '2027-01-04T13:05:01+00:00')
    >>> feed_validator(Settings(), ("product", 3), FeedStamp((7, 5), 7, changed), date(2027, 1, 6)).last_modified
    datetime.datetime(2027, 1, 6, 0, 0, tzinfo=datetime.timezone.utc)
    """
    kind, row_id = feed
    shaping = "\n".join(
        [
            FORMAT,
            kind,
            str(row_id),
            ".".join(map(str, stamp.versions)),
            day.isoformat(),
            settings.base_url,
            settings.uid_domain,
            settings.support_address,
            str(settings.feed_max_events),
        ]
    )
    digest = hashlib.sha256(shaping.encode()).hexdigest()[:40]
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Validator(f'"fp-{digest}"', max(stamp.changed_at.astimezone(UTC).replace(microsecond=0), midnight))
