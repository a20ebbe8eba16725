"""``manage.py seed_demo``: the demo data (``leads.seeding``), made by running the
product's own services and dialer over the last three days."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from leads import seeding


class Command(BaseCommand):
    help = (
        "Create demo data: an assistant, two campaigns and their leads, called by the simulated dialer over "
        "the last three days (one campaign finished, one still calling)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Do nothing if the demo data exists already.")
        parser.add_argument(
            "--leads", type=int, default=300, help=f"How many leads (2 to {seeding.MAX_LEADS}, default 300)."
        )
        parser.add_argument("--seed", type=int, default=7, help="Random seed, for the same data every time.")

    def handle(self, *args, once: bool, leads: int, seed: int, **options):
        if not 2 <= leads <= seeding.MAX_LEADS:
            raise CommandError(f"--leads must be between 2 and {seeding.MAX_LEADS}.")
        if seeding.demo_exists():
            if once:
                self.stdout.write("Demo data is there already.")
                return
            self.stderr.write("Demo data exists already; use a fresh database to seed again.")
            return
        with transaction.atomic():
            result = seeding.seed(leads=leads, seed=seed)
        statuses = ", ".join(f"{status} {n}" for status, n in sorted(result.by_status.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data created: {result.leads} leads, {result.calls} calls over {result.passes} dialer passes "
                f"({statuses})."
            )
        )
