"""The demo tells the truth: what ``leads.seeding`` makes is what the rules reached
when the dialer called, and every lead's status is explained by its audit trail."""

import datetime
from collections import defaultdict

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from leads import seeding
from leads.models import Call, CallOutcome, DoNotCallNumber, Lead, LeadStatus, StatusChange

# A Wednesday, 13:00 in New York: the three days before hold the renewals' weekday hours.
END = datetime.datetime(2026, 12, 2, 18, 0, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One seeded demo for the module's tests (it takes seconds), rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        result = seeding.seed(end=END)
        yield result
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def test_the_product_sees_the_real_clock_again_after_seeding(demo):
    assert abs(timezone.now() - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(seconds=5)


def test_every_completed_lead_has_the_conversation_that_completed_it(demo):
    completed = Lead.objects.filter(status=LeadStatus.COMPLETED).select_related("conversation_call")
    assert completed.count() >= 20
    for lead in completed:
        completing = lead.status_changes.filter(to_status=LeadStatus.COMPLETED).latest("id")
        assert completing.reason.startswith("call outcome: completed"), completing.reason
        call = lead.conversation_call
        assert call.outcome == CallOutcome.COMPLETED and call.ended_at == completing.changed_at
        assert call.transcript and call.summary and call.disposition and call.extracted_variables
        assert [turn["role"] for turn in call.transcript[:2]] == ["agent", "callee"]
        assert lead.results and lead.summary == call.summary and lead.disposition == call.disposition
        assert lead.results["appointment_booked"] is bool(lead.goal_achieved)


def test_some_leads_opted_out_on_a_call(demo):
    opted_out = Lead.objects.filter(opted_out_at__isnull=False)
    assert opted_out.count() >= 2
    for lead in opted_out:
        assert lead.status == LeadStatus.BLACKLISTED and lead.disposition == "do-not-call"
        listed = DoNotCallNumber.objects.filter(phone__in=lead.contacts.values("phone"))
        assert listed.count() == lead.contacts.count()
        assert set(listed.values_list("source", flat=True)) <= {"call", "admin"}
        assert lead.status_changes.latest("id").reason.startswith("opted out on call")


def test_some_callbacks_are_pending_and_some_were_honoured(demo):
    pending = Lead.objects.filter(callback_at__isnull=False)
    assert pending.count() >= 2
    for lead in pending:
        assert lead.status in (LeadStatus.RESCHEDULED, LeadStatus.SCHEDULED, LeadStatus.PROCESSING)
        asked = lead.calls.exclude(callback_at=None).latest("placed_at")
        assert asked.disposition == "call-back-later" and asked.callback_note.startswith("honoured")
    assert pending.filter(callback_at__gt=END).exists()
    assert Lead.objects.filter(callbacks__gt=0).exists()
    # A callback is a call placed as such.
    assert StatusChange.objects.filter(reason="callback call placed").exists()


def test_the_audit_trail_explains_every_leads_status(demo):
    trails = defaultdict(list)
    for change in StatusChange.objects.order_by("id"):
        trails[change.lead_id].append(change)
    for lead in Lead.objects.all():
        trail = trails[lead.pk]
        if not trail:
            assert lead.status == LeadStatus.CREATED
            continue
        assert trail[0].from_status == LeadStatus.CREATED, (lead.pk, trail[0])
        for before, after in zip(trail, trail[1:]):
            assert after.from_status == before.to_status, (lead.pk, before, after)
            # The history reads in order: everything ran at the demo clock's time.
            assert before.changed_at <= after.changed_at <= END
        assert trail[-1].to_status == lead.status, (lead.pk, trail[-1], lead.status)


def test_only_the_dialer_and_a_few_operator_actions_moved_leads(demo):
    sources = StatusChange.objects.values_list("source", flat=True)
    assert set(sources) == {StatusChange.Source.DIALER, StatusChange.Source.ADMIN}
    by_hand = StatusChange.objects.filter(source=StatusChange.Source.ADMIN)
    assert 1 <= by_hand.count() <= 10
    # Nothing was completed by hand: a Completed lead is a conversation's.
    assert not by_hand.filter(to_status=LeadStatus.COMPLETED).exists()


def test_every_call_is_in_the_past_and_placed_by_the_dialer(demo):
    assert Call.objects.count() == demo.calls > 100
    assert not Call.objects.filter(placed_at__gt=END).exists()
    assert not Call.objects.filter(ended_at__gt=END).exists()
    assert not Lead.objects.filter(created_at__gt=END).exists()


def test_the_check_ups_campaign_is_still_calling(demo):
    campaign = Campaign.objects.get(name=seeding.CHECK_UPS)
    assert campaign.status == Campaign.Status.IN_PROGRESS
    assert Call.objects.filter(campaign=campaign, ended_at=None).exists()
    assert Lead.objects.filter(campaign=campaign, status=LeadStatus.CREATED).count() >= 20
    renewals = Campaign.objects.get(name=seeding.RENEWALS)
    assert Call.objects.filter(campaign=renewals).exists()
    statuses = set(Lead.objects.values_list("status", flat=True))
    assert statuses >= {
        LeadStatus.CREATED,
        LeadStatus.SCHEDULED,
        LeadStatus.RESCHEDULED,
        LeadStatus.PROCESSING,
        LeadStatus.REACHED_MAX_RETRIES,
        LeadStatus.COMPLETED,
        LeadStatus.BLACKLISTED,
    }


def test_every_conversation_links_a_recording_the_site_serves(demo):
    urls = set(Call.objects.filter(outcome=CallOutcome.COMPLETED).values_list("recording_url", flat=True))
    assert urls == {"http://127.0.0.1:8000/static/leadsite/demo-call.mp3"}
