"""Notices: deciding what to tell whom, queueing it in the outbox, and sending it.

``planning`` writes the planning run's digests and the immediate notices of changes; ``notify`` is
the one place ops' changes queue notices; ``outbox`` is the deliveries table used as a queue
(claims with a lease, outcomes, attempts); ``worker`` drains it over SMTP or to a pickup directory.
"""
