"""Entry points over HTTP: the ASGI app and everything that only exists because of HTTP.

``app`` builds the FastAPI application (feeds, health, routers); ``api`` is the customer JSON API
under ``/api/v1``; ``body_limit`` and ``ratelimit`` are the middleware and guard that keep one
client from costing everyone else. Routes here parse and answer; the work is done by the use-case
rooms (``catalogue``, ``occurrences``, ``feeds``, ``notices``, ``reports``).
"""
