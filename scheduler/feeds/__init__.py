"""Calendar feeds: what a customer's and a product's feed hold, their tokens, cache and rendering.

``service`` answers "the feed for this token / product" with an ETag; ``ical`` renders
occurrences as RFC 5545 calendars, for feeds and for notice attachments.
"""
