"""Storage: the engine and sessions, the SQLAlchemy models, migrations and shared lookups.

``db`` makes engines and sessions for SQLite or PostgreSQL; ``base`` is the declarative base,
``models`` (catalogue, occurrences) and ``models_outbox`` (notices) the tables, ``tables`` all of
them in one metadata for Alembic; ``migrate`` runs Alembic and refuses a stale schema; ``repository`` holds the lookups
every use case shares (find by key with a clear ``NotFound``, rule rows <-> domain rules). Nothing
here decides anything about maintenance: it stores what the use cases decide.
"""
