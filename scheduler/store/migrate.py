"""Running the Alembic migrations programmatically (``maintcal db upgrade``), and checking that a
database is at the latest revision before a long-running process (server, worker) uses it.

"Latest" is read from the migrations' script directory, never written down here, so adding a
migration needs no change in this module.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import migrations
from scheduler.store.db import Database, normalise_url, sqlite_file
from windows.errors import MaintcalError


class SchemaNotCurrent(MaintcalError):
    """The database is not at the revision this maintcal needs (or has no schema at all)."""

    exit_code = 2
    http_status = 503


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def revision(url: str, message: str) -> None:
    """Developer helper: autogenerate a new revision against a database at head."""
    command.revision(alembic_config(url), message=message, autogenerate=True)


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revisions(script: ScriptDirectory | None = None) -> frozenset[str]:
    """The revision(s) a database must be at for this maintcal: the heads of the script directory."""
    return frozenset((script or scripts()).get_heads())


def current_revisions(db: Database) -> frozenset[str]:
    """The revision(s) stamped in the database; empty when it has no maintcal schema."""
    with db.engine.connect() as connection:
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def schema_problem(db: Database, script: ScriptDirectory | None = None) -> str | None:
    """What is wrong with the database's revision, as one sentence; None when it is current."""
    script = script or scripts()
    heads = head_revisions(script)
    current = current_revisions(db)
    if current == heads:
        return None
    upgrade_hint = "run maintcal db upgrade"
    if not current:
        return f"the database has no maintcal schema: {upgrade_hint}"
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = sorted(current - known)
    if unknown:
        return (
            f"database is at revision {', '.join(unknown)}, which this maintcal does not know "
            f"(it needs {', '.join(sorted(heads))}): the database was upgraded by a newer maintcal; run that one"
        )
    have, need = ", ".join(sorted(current)), ", ".join(sorted(heads))
    return f"database is at revision {have}, this maintcal needs {need}: {upgrade_hint}"


def check_schema(db: Database, script: ScriptDirectory | None = None) -> None:
    """Refuse (``SchemaNotCurrent``) a database that is missing or not at the latest revision."""
    path = sqlite_file(db.engine)
    if path is not None and not Path(path).exists():  # do not create an empty file by connecting
        raise SchemaNotCurrent(f"the database file {path} does not exist: run maintcal db upgrade")
    problem = schema_problem(db, script)
    if problem is not None:
        raise SchemaNotCurrent(problem)


class SchemaGate:
    """The latest-revision check of a long-running process (the HTTP app).

    ``check`` at start refuses a database at another revision; a database that cannot be reached
    then is checked again by ``require`` before each request until one check has passed.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.script = scripts()
        self.passed = False

    def check(self) -> None:
        check_schema(self.db, self.script)
        self.passed = True

    def require(self) -> None:
        if not self.passed:
            self.check()

    def problem(self) -> str | None:
        return schema_problem(self.db, self.script)
