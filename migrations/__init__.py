"""Alembic environment and versions; ``scheduler.store.migrate`` runs them."""
