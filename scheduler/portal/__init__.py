"""The customer portal: magic-link sign-in, sessions, and the pages a customer's contacts use.

``auth`` (links, sessions, cookies, CSRF), ``signin_mail`` (the link through the outbox), ``views``
(what each page shows, built on the services of ``occurrences``, ``reports`` and ``feeds``),
``routes`` (the FastAPI routes rendering ``templates/``), ``strings`` (every word shown).
"""
