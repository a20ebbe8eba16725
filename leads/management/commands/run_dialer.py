"""Run campaigns: ``manage.py run_dialer [--once] [--interval S]``.

Each pass closes finished and timed-out calls, then, for every running campaign,
promotes due retries, claims due leads up to its free lines inside their calling
hours, places their calls and completes the campaign when nothing is left. Several
may run against one PostgreSQL database; on SQLite, run one.
"""

import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from leads.dialer import passes
from leads.dialer.backends import get_backend
from leads.management.stopping import StopFlag

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Dial running campaigns: one pass with --once, else a pass every --interval seconds until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between passes (default 2).")

    def handle(self, *args, once: bool, interval: float, **options):
        if not 0.01 <= interval <= 3600:
            raise CommandError("--interval must be between 0.01 and 3600 seconds.")
        backend = get_backend()
        stopping = StopFlag()
        if not once:
            self.stderr.write(
                f"Dialer running with the {backend.name} backend, a pass every {interval:g} s. Ctrl-C stops it."
            )
        while True:
            started = time.monotonic()
            try:
                report = passes.run_pass(backend=backend)
            except DatabaseError as error:
                # The database restarted or went away for a moment: a long-running
                # dialer waits for the next pass with a fresh connection.
                if once:
                    raise CommandError(f"The dialer pass failed: {error}") from None
                logger.exception("dialer pass failed")
                connection.close()
                report = None
            if report and (
                once
                or report.placed
                or report.resolved
                or report.lost
                or report.dial_errors
                or report.completed_campaigns
            ):
                self.stdout.write(
                    f"placed {report.placed}, outcomes {report.resolved}, lost {report.lost}, "
                    f"dial errors {report.dial_errors}, promoted {report.promoted}, "
                    f"campaigns completed {report.completed_campaigns}"
                )
            if once or stopping:
                return
            # Sleep in short steps so Ctrl-C is answered at once, not after a pass.
            while not stopping and time.monotonic() - started < interval:
                time.sleep(0.05)
            if stopping:
                return
