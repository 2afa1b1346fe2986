"""Notices by email: composing them (text + HTML + .ics), sending them (SMTP or a pickup directory)
and draining an outbox with a few concurrent connections.

Imports ``windows``, never ``scheduler``: the outbox itself (a database table) is reached through
the small ``Outbox`` protocol in ``notifications.drain``.
"""
