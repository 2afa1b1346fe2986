"""Storage: the engine and sessions, the SQLAlchemy models, migrations and shared lookups.

``db`` makes engines and sessions for SQLite or PostgreSQL; ``models`` and ``models_outbox`` are
the tables; ``migrate`` runs Alembic and refuses a stale schema; ``repository`` holds the lookups
every use case shares (find by key with a clear ``NotFound``, rule rows <-> domain rules). Nothing
here decides anything about maintenance: it stores what the use cases decide.
"""
