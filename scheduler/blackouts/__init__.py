"""Customers' blackouts, the vendor's change freezes, and the conflicts between them and the schedule.

``effects`` is what the read side (``scheduler.occurrences.schedule``) applies: freezes suppress
occurrences, a ``local`` occurrence in a customer's blackout is skipped or moved to the next slot.
``guard`` refuses moves and new windows into a freeze. The use cases: ``declare`` (blackouts,
with the lead-days rule and ops' approval of late ones), ``freezes``, ``conflicts`` (listing and
ops' resolutions).
"""
