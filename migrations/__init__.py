"""Alembic environment and versions; ``scheduler.migrate`` runs them."""
