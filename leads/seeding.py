"""The demo's data, made by running the product: an assistant, two campaigns and their
leads are created through the services, then the dialer's own passes call them with
the simulated backend over the last three days, compressed into seconds, with a few
manual actions an operator would take on the way. Every status is one the rules
reached, every Completed lead has the call that completed it (with its transcript,
summary and results), and the audit trail tells each lead's story.

The span ends now: the renewals campaign (weekdays, 9 to 20 local time) has been
calling since three days ago, the check-ups campaign (all day) was started a little
before now and is still calling, so the dialer ``make run`` starts goes on with it
(its calls in flight included).
"""

from __future__ import annotations

import contextlib
import datetime
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import Assistant, Campaign, Variable
from campaigns.services import campaign_start
from leads import services, transitions
from leads.demo import FIRST, LAST
from leads.dialer import hours, passes
from leads.dialer.backends import dialer_settings
from leads.dialer.backends.simulated import SimulatedBackend, recording_url
from leads.models import DIALABLE_LEAD_STATUSES, Call, Lead, LeadStatus, StatusChange
from leads.transitions import Actor

ASSISTANT = "Demo receptionist"
CHECK_UPS = "Demo: spring check-ups"
RENEWALS = "Demo: renewals"
COMPANIES = ["Acme Dental", "Bayview Clinic", "Cedar Physio", "Downtown Vets", "Elm Street Optics", "", ""]
ZONES = ["", "", "", "America/New_York", "America/Chicago", "America/Los_Angeles"]
AREAS = ["201", "202", "212", "305", "312", "415", "510", "617", "646", "702", "713", "786", "818", "917"]
MAX_LEADS = len(AREAS) * 100 // 3  # each lead has up to three numbers, all different

SPAN = datetime.timedelta(days=3)
# The check-ups campaign is started this long before now: long enough for a few
# hundred calls, retries and callbacks, short enough that most of its leads are
# still waiting when the server starts.
CHECK_UPS_RUNNING = datetime.timedelta(minutes=60)
SECOND_LIST = datetime.timedelta(minutes=15)
# While calls are in flight the simulated dialer passes every minute (the real one
# every 2 seconds: the lines stay a little longer idle between calls); when nothing
# is in flight it skips to the next moment a lead can be dialled, or this far when
# none can.
BUSY_STEP = datetime.timedelta(minutes=1)
IDLE_STEP = datetime.timedelta(minutes=15)
# Livelier than the settings' defaults, so a few hundred calls show every ending.
DEMO_ODDS = {"opt_out_odds": 0.12, "callback_odds": 0.3, "goal_odds": 0.45}
OPERATOR = Actor(source=StatusChange.Source.ADMIN)


def demo_number(index: int) -> str:
    # NXX-555-01xx: the fictional North American range, valid for libphonenumber.
    return f"+1{AREAS[index // 100]}55501{index % 100:02d}"


def demo_exists() -> bool:
    return Assistant.objects.filter(name=ASSISTANT).exists()


@dataclass
class Clock:
    """The time the product sees while the demo's past is played."""

    now: datetime.datetime

    def __call__(self) -> datetime.datetime:
        return self.now


@contextlib.contextmanager
def _running_at(clock: Clock) -> Iterator[None]:
    """Run the product at the clock's time. The dialer's passes take ``now``
    explicitly; the rest (bulk transitions' audit rows, created_at and updated_at,
    the do-not-call list's dates) read ``timezone.now()``, so for the history to read
    in order it answers with the clock too, until the demo reaches the present."""
    real = timezone.now
    timezone.now = clock
    try:
        yield
    finally:
        timezone.now = real


@dataclass
class SeedResult:
    leads: int
    calls: int
    passes: int
    by_status: dict[str, int] = field(default_factory=dict)


def seed(*, leads: int = 300, seed: int = 7, end: datetime.datetime | None = None) -> SeedResult:
    """Create the demo and play its last three days up to ``end`` (default now).
    Call inside a transaction: a failure leaves nothing half made."""
    end = (end or timezone.now()).replace(microsecond=0)
    clock = Clock(end - SPAN)
    rng = random.Random(seed)
    backend = SimulatedBackend(
        seed=seed, recording_url=recording_url(dialer_settings().get("CALLBACK_BASE_URL", "")), **DEMO_ODDS
    )
    with _running_at(clock):
        check_ups, renewals = _campaigns()
        count = max(3, min(leads, MAX_LEADS))
        numbers = iter(rng.sample(range(len(AREAS) * 100), len(AREAS) * 100))
        # A fifth of the leads renew, the rest come for check-ups in two lists: the
        # second arrives while the first is being called (so new leads wait behind
        # the retries already due, as they would).
        renewing, later = count // 5, count // 3
        _leads(rng, numbers, renewals, renewing)
        _leads(rng, numbers, check_ups, count - renewing - later)
        events: list[tuple[datetime.datetime, Callable[[], None]]] = [
            (clock.now + datetime.timedelta(minutes=10), lambda: campaign_start(campaign=renewals)),
            (end - CHECK_UPS_RUNNING, lambda: campaign_start(campaign=check_ups)),
            (end - SECOND_LIST, lambda: _leads(rng, numbers, check_ups, later)),
            (end - datetime.timedelta(minutes=10), lambda: _operator(rng, check_ups, end=end)),
        ]
        played = _play(clock, backend, events, end=end)
    by_status = dict(Lead.objects.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return SeedResult(leads=count, calls=Call.objects.count(), passes=played, by_status=by_status)


def _campaigns() -> tuple[Campaign, Campaign]:
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
    # Calling hours all day every day, so the dialer calls it at once, whatever the
    # time where the demo runs; a voicemail is tried again (only a conversation
    # completes a lead).
    check_ups = Campaign.objects.create(
        name=CHECK_UPS,
        assistant=assistant,
        default_country="US",
        max_retries=2,
        retry_interval=10,
        max_calls_in_parallel=5,
        retry_on_voicemail=True,
        goal_completion_variable="appointment_booked",
    )
    renewals = Campaign.objects.create(
        name=RENEWALS,
        assistant=assistant,
        max_calls_in_parallel=5,
        default_country="US",
        secondary_strategy=Campaign.SecondaryStrategy.CASCADE,
        allowed_hours_start=datetime.time(9),
        allowed_hours_end=datetime.time(20),
        allowed_days=["monday", "tuesday", "wednesday", "thursday", "friday"],
        retry_on_voicemail=True,
        goal_completion_variable="appointment_booked",
    )
    return check_ups, renewals


def _leads(rng: random.Random, numbers: Iterator[int], campaign: Campaign, count: int) -> None:
    actor = Actor.system()
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
            secondaries.append(services.Number(demo_number(next(numbers)), own))
        services.lead_create(
            lead=Lead(campaign=campaign, timezone=rng.choice(ZONES)),
            primary_phone=demo_number(next(numbers)),
            variables=variables,
            secondaries=secondaries,
            actor=actor,
        )


def _operator(rng: random.Random, campaign: Campaign, *, end: datetime.datetime) -> None:
    """What an operator watching the campaign does by hand: gives up on two leads, puts
    two on the do-not-call list, tries two that ran out again, moves one later."""
    of = Lead.objects.filter(campaign=campaign).order_by("id")

    def pick(n: int, **condition) -> QuerySet[Lead] | None:
        ids = list(of.filter(**condition).values_list("pk", flat=True))
        return Lead.objects.filter(pk__in=rng.sample(ids, min(n, len(ids)))) if ids else None

    # Retries, not callbacks: an appointment the callee asked for is kept.
    if chosen := pick(2, status=LeadStatus.RESCHEDULED, callback_at=None):
        transitions.stop(chosen, actor=OPERATOR, reason="stopped by hand: moved away")
    if chosen := pick(2, status=LeadStatus.CREATED):
        services.do_not_call_leads(leads=chosen, actor=OPERATOR)
    if chosen := pick(2, status=LeadStatus.REACHED_MAX_RETRIES):
        transitions.reset(chosen, actor=OPERATOR, reason="reset: new numbers confirmed")
    if chosen := pick(1, status=LeadStatus.CREATED):
        transitions.reschedule(
            chosen,
            at=end + datetime.timedelta(hours=2),
            actor=OPERATOR,
            reason="rescheduled by hand: asked by e-mail to be called this afternoon",
        )


def _play(
    clock: Clock,
    backend: SimulatedBackend,
    events: list[tuple[datetime.datetime, Callable[[], None]]],
    *,
    end: datetime.datetime,
) -> int:
    """The dialer's passes from the clock's time to ``end``, with ``events`` (an
    operator's actions) at their times; returns how many passes ran."""
    events = sorted(events, key=lambda event: event[0])
    played = 0
    while clock.now < end:
        while events and events[0][0] <= clock.now:
            events.pop(0)[1]()
        passes.run_pass(now=clock.now, backend=backend)
        played += 1
        clock.now = min(_next_pass(clock.now), events[0][0] if events else end, end)
    return played


def _next_pass(now: datetime.datetime) -> datetime.datetime:
    """A minute on while calls are in flight; else the next moment a lead can be
    dialled: when the next one falls due (a retry, a callback) or, for leads due but
    outside their calling window, when it opens (the night is one step)."""
    soonest = now + BUSY_STEP
    if Call.objects.filter(ended_at__isnull=True).exists():
        return soonest
    waiting = (
        Lead.objects.filter(campaign__status=Campaign.Status.IN_PROGRESS, status__in=DIALABLE_LEAD_STATUSES)
        .annotate(due=Coalesce("next_attempt_at", "created_at"))
        .order_by()
    )
    moments = list(waiting.filter(due__gt=now).order_by("due").values_list("due", flat=True)[:1])
    due_now = waiting.filter(due__lte=now).values_list("campaign_id", "timezone").distinct()
    campaigns = {c.pk: c for c in Campaign.objects.filter(pk__in={pk for pk, _ in due_now}).select_related("assistant")}
    for campaign_id, zone in due_now:
        campaign = campaigns[campaign_id]
        opening = hours.next_opening(campaign, zone or campaign.effective_timezone(), soonest)
        if opening is not None:
            moments.append(opening)
    return max(soonest, min(moments, default=now + IDLE_STEP))
