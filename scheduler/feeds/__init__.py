"""Calendar feeds: what a customer's and a product's feed hold, their tokens, cache and rendering.

``content`` builds a feed (what it holds over the horizon, rendered, with its ETag); ``tokens``
issues and revokes the secret feed tokens and builds feed URLs; ``cache`` keeps rendered feeds in
memory; ``service`` is what the HTTP app asks: "the feed for this token / product", cached by data
version; ``ical`` renders occurrences as RFC 5545 calendars, for feeds and for notice attachments, and
``ical_reference`` builds the same calendar through icalendar's object model for the tests.
"""
