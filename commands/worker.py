"""``maintcal worker [--interval 60]``: plan and send notices until stopped (SIGTERM or Ctrl-C)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from sqlalchemy.exc import SQLAlchemyError

from commands.common import AppContext, pass_app
from scheduler import redaction
from scheduler.notices.worker import run_worker
from scheduler.store.db import DatabaseReplaced
from scheduler.store.migrate import SchemaGate
from windows.errors import InvalidInput


@click.command("worker")
@click.option("--interval", type=float, help="Seconds between planning runs (default 60, MAINTCAL_WORKER_INTERVAL).")
@pass_app
def worker(app: AppContext, interval: float | None) -> None:
    """Plan notices and send the outbox forever; several workers may run at once.

    Refuses to start on a database that is not at the latest revision (run 'maintcal db upgrade'),
    and stops with an error if its SQLite file is deleted or replaced while it runs.
    """
    every = app.settings.worker_interval if interval is None else interval
    if every <= 0:
        raise InvalidInput(f"--interval {every:g}: use a number of seconds above zero")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redaction.install()  # passwords in URLs never reach the log
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines on each revision check
    log = logging.getLogger("maintcal.worker")
    schema = SchemaGate(app.db())
    try:
        schema.check()  # a database not at the latest revision: refuse to start
    except DatabaseReplaced as error:  # deleted or replaced while starting: the same line as later
        log.error("stopping: %s", error.message)
        raise
    except SQLAlchemyError as error:  # unreachable: checked before each run until it answers
        log.warning("database not reachable, revision not checked yet: %s", error)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("maintcal.worker").info("signal %d: stopping after the current batch", signum)
        stopping.set()
        signal.signal(signum, signal.SIG_DFL)  # a second signal stops at once

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)

    def sleep(seconds: float) -> None:
        stopping.wait(seconds)

    run_worker(
        app.db(), app.settings, app.clock, interval=every, sleep=sleep, should_stop=stopping.is_set, schema=schema
    )
    click.echo("worker stopped")


COMMANDS = [worker]
