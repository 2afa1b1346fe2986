"""Every table in one metadata: the target of Alembic (``migrations/env.py``) and of the test that
migrations and models agree. Importing it loads every model module.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from scheduler.store import (
    models,
    models_blackouts,
    models_endpoints,
    models_outbox,
    models_planning,
    models_portal,
)
from scheduler.store.base import Base

MODEL_MODULES = (models, models_outbox, models_portal, models_blackouts, models_endpoints, models_planning)
metadata: MetaData = Base.metadata
