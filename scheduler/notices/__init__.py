"""Notices: deciding what to tell whom, queueing it in the outbox, and sending it.

``planning`` is the planning run (digests of what entered the horizon); ``change_notices`` queues
the immediate notices of changes (ops' changes call it in their own transaction);
``enqueue`` writes notices and deliveries (with their MIME bytes) for both; ``supersede`` stops
unsent notices whose times have changed; ``outbox`` is the deliveries table used as a queue (claims
with a lease, outcomes, attempts) and ``outbox_status`` what it holds; ``worker`` drains it over
SMTP or to a pickup directory, and webhooks, Slack and Teams over HTTP. ``lifecycle`` queues
reminders and started/finished notices ahead, due at their instants; ``channels`` writes a notice's
deliveries to endpoints; ``deliveries_report`` says who was told what about one occurrence.
"""
