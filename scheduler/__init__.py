"""The maintcal application, in rooms named for what lives there.

- ``store``: engine, sessions, models, migrations, shared lookups.
- ``catalogue``: products, window rules, customers, contacts, the catalogue file and ``apply``.
- ``occurrences``: the schedule (read side) and ops' and customers' changes to occurrences.
- ``notices``: planning notices, the outbox and the worker that sends it.
- ``feeds``: calendar feeds, their tokens and cache, iCalendar rendering.
- ``reports``: notice compliance, SLA availability, recorded outages.
- ``http``: the ASGI app, the customer API and the HTTP-only middleware.

Beside them: ``settings`` (read once from the environment), ``serialize`` (the JSON shapes of
DESIGN §5 shared by the CLI and the API) and ``redaction`` (secrets kept out of logs).
``ARCHITECTURE.md`` at the top of the repository walks a feed fetch and a notice through them.
"""
