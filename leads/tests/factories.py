"""Test data for leads. Leads are made through leads.services, as the product makes
them; bulk_leads writes many rows at once for the tests about scale."""

import datetime
import itertools
from collections.abc import Sequence

from campaigns.models import CallingRule, Campaign
from campaigns.tests.factories import make_campaign
from leads import services
from leads.models import Call, Contact, Lead
from leads.transitions import Actor, Report

_numbers = itertools.count(0)
_AREAS = ["201", "202", "212", "305", "312", "415", "510", "617", "646", "702", "713", "786", "818", "917"]


def phone(index: int | None = None) -> str:
    """A distinct valid E.164 number per call (140,000 before they repeat).

    Exchange 556, so they never meet the 555-01xx numbers tests write out literally.
    """
    n = next(_numbers) if index is None else index
    return f"+1{_AREAS[(n // 10_000) % len(_AREAS)]}556{n % 10_000:04d}"


def make_lead(
    *,
    campaign: Campaign | None = None,
    primary: str | None = None,
    secondaries: Sequence[str] = (),
    variables: dict | None = None,
    **fields,
) -> Lead:
    lead = Lead(campaign=campaign or make_campaign(), **fields)
    return services.lead_create(
        lead=lead,
        primary_phone=primary or phone(),
        variables=variables or {},
        secondaries=[services.Number(p) for p in secondaries],
        actor=Actor.system(),
    )


def bulk_leads(campaign: Campaign, count: int, *, secondaries: int = 0, start: int = 0) -> list[Lead]:
    """``count`` Created leads with raw numbers (not libphonenumber-checked), fast."""
    leads = Lead.objects.bulk_create([Lead(campaign=campaign) for _ in range(count)], batch_size=2000)
    contacts = []
    for offset, lead in enumerate(leads):
        base = 10_000_000 + (start + offset) * 11
        for position in range(secondaries + 1):
            contacts.append(
                Contact(lead=lead, campaign=campaign, position=position, phone=f"+1415{base + position:07d}")
            )
    Contact.objects.bulk_create(contacts, batch_size=5000)
    return leads


def set_results(lead: Lead, **fields) -> Lead:
    """The lead as its calls would have left it (``results``, ``goal_achieved``,
    ``disposition``, ``summary``, ``duration_seconds``, ``recording_url``,
    ``callback_at``, ``opted_out_at``), for tests that read them: only an outcome
    report writes them in the product."""
    Lead.objects.filter(pk=lead.pk).update(**fields)
    lead.refresh_from_db()
    return lead


def make_call(lead: Lead, *, placed_at: datetime.datetime, outcome: str = "", **fields) -> Call:
    """A call of the lead's history as the dialer leaves it: ended two minutes after it
    was placed when it has an outcome, in flight when it has none; to the lead's
    primary number unless told."""
    ended = placed_at + datetime.timedelta(minutes=2) if outcome else None
    if "phone" not in fields:
        primary = lead.contacts.filter(position=0).first()
        fields["phone"] = primary.phone if primary else "+14155550100"
    return Call.objects.create(
        lead=lead,
        campaign=lead.campaign,
        position=0,
        attempt=1,
        backend="simulated",
        placed_at=placed_at,
        ended_at=ended,
        outcome=outcome,
        **fields,
    )


def call_with_report(lead: Lead, report: Report) -> Call:
    """A real call to ``lead`` (its campaign started, a dialer pass, the simulated
    backend) closed two minutes later by ``report``, as the outcome webhook applies it."""
    from campaigns import services as campaign_services
    from leads.dialer import outcomes
    from leads.dialer.backends.simulated import SimulatedBackend

    if lead.campaign.status != Campaign.Status.IN_PROGRESS:
        campaign_services.campaign_start(campaign=lead.campaign)
    # Outcomes drawn but due only after 1,000 times their length: this reports it.
    pass_at_any_hour(SimulatedBackend(seed=1, duration_scale=1000))
    call = Call.objects.get(lead=lead, ended_at__isnull=True)
    applied = outcomes.outcome_receive(
        call.pk,
        report,
        payload={"outcome": report.outcome},
        webhook_id=None,
        now=call.placed_at + datetime.timedelta(minutes=2),
        actor=Actor.system(),
    )
    assert applied == "applied", applied
    return call


def pass_at_any_hour(backend) -> object:
    """A dialer pass at the real clock's time, placing calls whatever the hour the
    suite runs at: the calling rules (the shipped 8 am to 9 pm in the callee's local
    time) are off for this one pass. For tests about something else than the rules,
    which dial at explicit times (leads/dialer/tests/test_windows.py)."""
    from leads.dialer import passes

    enabled = list(CallingRule.objects.filter(enabled=True).values_list("pk", flat=True))
    CallingRule.objects.filter(pk__in=enabled).update(enabled=False)
    try:
        return passes.run_pass(backend=backend)
    finally:
        CallingRule.objects.filter(pk__in=enabled).update(enabled=True)
