"""Demo data: an assistant with variables, two campaigns and a few hundred leads in
every status an operator can reach by hand. Leads are made and moved through the
same services and transitions the product uses. The first campaign is started, with
calling hours all day every day, so the dialer (``make run`` starts the simulated
one) calls it at once, whatever the time where the demo runs."""

import datetime
import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from campaigns.models import Assistant, Campaign, Variable
from campaigns.services import campaign_start
from leads import services, transitions
from leads.demo import FIRST, LAST
from leads.models import Lead
from leads.transitions import Actor

ASSISTANT = "Demo receptionist"
COMPANIES = ["Acme Dental", "Bayview Clinic", "Cedar Physio", "Downtown Vets", "Elm Street Optics", "", ""]
ZONES = ["", "", "", "America/New_York", "America/Chicago", "America/Los_Angeles"]
AREAS = ["201", "202", "212", "305", "312", "415", "510", "617", "646", "702", "713", "786", "818", "917"]


def demo_number(index: int) -> str:
    # NXX-555-01xx: the fictional North American range, valid for libphonenumber.
    return f"+1{AREAS[index // 100]}55501{index % 100:02d}"


class Command(BaseCommand):
    help = "Create demo data: an assistant, two campaigns and a few hundred leads across the statuses."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Do nothing if the demo data exists already.")
        parser.add_argument("--leads", type=int, default=300, help="How many leads (at most 450).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed, for the same data every time.")

    @transaction.atomic
    def handle(self, *args, once: bool, leads: int, seed: int, **options):
        if Assistant.objects.filter(name=ASSISTANT).exists():
            if once:
                self.stdout.write("Demo data is there already.")
                return
            self.stderr.write("Demo data exists already; use a fresh database to seed again.")
            return
        rng = random.Random(seed)
        assistant = Assistant.objects.create(name=ASSISTANT, timezone="America/New_York")
        for position, (name, default, required, description) in enumerate(
            [
                ("customer_name", "", True, "How the assistant addresses the person."),
                ("company", "", False, "The business the appointment is with."),
                ("appointment_type", "check-up", False, "What the appointment is for."),
                ("language", "English", False, "The language to speak."),
            ]
        ):
            Variable.objects.create(
                assistant=assistant,
                position=position,
                name=name,
                default_value=default,
                required=required,
                description=description,
            )
        campaign = Campaign.objects.create(
            name="Demo: spring check-ups",
            assistant=assistant,
            default_country="US",
            max_retries=2,
            retry_interval=10,
            max_calls_in_parallel=5,
            goal_completion_variable="appointment_booked",
        )
        Campaign.objects.create(
            name="Demo: renewals",
            assistant=assistant,
            default_country="US",
            secondary_strategy=Campaign.SecondaryStrategy.CASCADE,
            allowed_hours_start=datetime.time(9),
            allowed_hours_end=datetime.time(20),
            allowed_days=["monday", "tuesday", "wednesday", "thursday", "friday"],
        )

        actor = Actor.system()
        count = min(leads, 450)
        used = iter(rng.sample(range(len(AREAS) * 100), len(AREAS) * 100))
        made: list[Lead] = []
        for _ in range(count):
            variables = {"customer_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}"}
            company = rng.choice(COMPANIES)
            if company:
                variables["company"] = company
            if rng.random() < 0.2:
                variables["appointment_type"] = rng.choice(["cleaning", "follow-up", "vaccination"])
            secondaries = []
            for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
                own = {"contact_name": rng.choice(FIRST)} if rng.random() < 0.5 else {}
                secondaries.append(services.Number(demo_number(next(used)), own))
            made.append(
                services.lead_create(
                    lead=Lead(campaign=campaign, timezone=rng.choice(ZONES)),
                    primary_phone=demo_number(next(used)),
                    variables=variables,
                    secondaries=secondaries,
                    actor=actor,
                )
            )

        rng.shuffle(made)
        slices = iter([made[i : i + count // 10] for i in range(0, count, count // 10)])
        ids = lambda part: Lead.objects.filter(pk__in=[lead.pk for lead in part])  # noqa: E731
        now = timezone.now()
        transitions.complete(ids(next(slices)), actor=actor)
        transitions.complete(ids(next(slices)), actor=actor)
        transitions.stop(ids(next(slices)), actor=actor)
        transitions.reschedule(ids(next(slices)), at=now + datetime.timedelta(hours=3), actor=actor)
        transitions.reschedule(ids(next(slices)), at=now - datetime.timedelta(minutes=5), actor=actor)
        transitions.promote_due(Lead.objects.filter(campaign=campaign), now=now, actor=actor)
        services.do_not_call_leads(leads=ids(next(slices)[: max(1, count // 30)]), actor=actor)
        campaign_start(campaign=campaign)
        self.stdout.write(self.style.SUCCESS(f"Demo data created: {count} leads in “{campaign.name}”."))
