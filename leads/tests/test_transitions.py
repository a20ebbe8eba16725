import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.tests.factories import make_campaign
from leads import services, transitions
from leads.models import Call, Contact, ContactStatus, DoNotCallNumber, Lead, LeadStatus, StatusChange
from leads.tests.factories import bulk_leads, make_lead, phone
from leads.transitions import Actor

pytestmark = pytest.mark.django_db

ACTOR = Actor.system()


def set_state(lead: Lead, lead_status: str, /, **contact_fields) -> None:
    """Put a lead in a state the dialer would have put it in (tests only)."""
    Lead.objects.filter(pk=lead.pk).update(status=lead_status)
    if contact_fields:
        Contact.objects.filter(lead=lead).update(**contact_fields)
    lead.refresh_from_db()


def one(lead: Lead):
    return Lead.objects.filter(pk=lead.pk)


MANUAL_ACTIONS = pytest.mark.parametrize(
    "action",
    [
        lambda qs: transitions.reset(qs, actor=ACTOR),
        lambda qs: transitions.complete(qs, actor=ACTOR),
        lambda qs: transitions.stop(qs, actor=ACTOR),
        lambda qs: transitions.reschedule(qs, at=timezone.now(), actor=ACTOR),
        lambda qs: transitions.move_to_campaign(qs, campaign=make_campaign(), actor=ACTOR),
    ],
    ids=["reset", "complete", "stop", "reschedule", "move"],
)


def test_reset_moves_lead_to_created_and_gives_numbers_a_fresh_budget():
    lead = make_lead(secondaries=[phone()])
    set_state(lead, LeadStatus.REACHED_MAX_RETRIES, status=ContactStatus.REACHED_MAX_RETRIES, attempts=4)
    Lead.objects.filter(pk=lead.pk).update(attempts=8)

    result = transitions.reset(one(lead), actor=ACTOR)

    lead.refresh_from_db()
    assert (result.moved, result.skipped) == (1, {})
    assert lead.status == LeadStatus.CREATED
    assert lead.attempts == 0
    assert set(lead.contacts.values_list("status", "attempts")) == {(ContactStatus.CREATED, 0)}


def test_reset_keeps_do_not_call_numbers_and_their_attempts():
    lead = make_lead(secondaries=[phone()])
    set_state(lead, LeadStatus.REACHED_MAX_RETRIES, status=ContactStatus.REACHED_MAX_RETRIES, attempts=2)
    Contact.objects.filter(lead=lead, position=1).update(status=ContactStatus.BLACKLISTED)
    Lead.objects.filter(pk=lead.pk).update(attempts=4)

    transitions.reset(one(lead), actor=ACTOR)

    assert list(lead.contacts.order_by("position").values_list("status", "attempts")) == [
        (ContactStatus.CREATED, 0),
        (ContactStatus.BLACKLISTED, 2),
    ]
    lead.refresh_from_db()
    assert lead.attempts == 2  # the sum of its numbers' counts


@MANUAL_ACTIONS
def test_manual_actions_never_touch_a_lead_in_processing(action):
    lead = make_lead()
    set_state(lead, LeadStatus.PROCESSING, status=ContactStatus.PROCESSING, attempts=1)
    campaign_id = lead.campaign_id

    result = action(one(lead))

    lead.refresh_from_db()
    assert result.moved == 0
    assert result.skipped == {"a call is in progress": 1}
    assert lead.status == LeadStatus.PROCESSING
    assert lead.campaign_id == campaign_id
    assert list(lead.contacts.values_list("status", "attempts")) == [(ContactStatus.PROCESSING, 1)]
    assert not StatusChange.objects.filter(lead=lead).exists()


@MANUAL_ACTIONS
def test_manual_actions_skip_do_not_call_leads(action):
    lead = make_lead()
    services.do_not_call_add(phones=[lead.contacts.get().phone], actor=ACTOR)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.BLACKLISTED

    result = action(one(lead))

    lead.refresh_from_db()
    assert (result.moved, result.skipped) == (0, {"on the do-not-call list": 1})
    assert lead.status == LeadStatus.BLACKLISTED


def test_each_move_writes_one_audit_row_with_actor_and_reason(django_user_model):
    user = django_user_model.objects.create_user("operator")
    lead = make_lead()

    transitions.complete(one(lead), actor=Actor.admin(user), reason="customer called us back")

    change = StatusChange.objects.get(lead=lead)
    assert (change.from_status, change.to_status) == (LeadStatus.CREATED, LeadStatus.COMPLETED)
    assert change.source == StatusChange.Source.ADMIN
    assert change.actor == user
    assert change.reason == "customer called us back"
    assert abs(change.changed_at - timezone.now()) < datetime.timedelta(minutes=1)


def test_complete_skips_completed_and_reports_counts_by_reason():
    campaign = make_campaign()
    done = make_lead(campaign=campaign)
    busy = make_lead(campaign=campaign)
    fresh = [make_lead(campaign=campaign) for _ in range(3)]
    set_state(done, LeadStatus.COMPLETED)
    set_state(busy, LeadStatus.PROCESSING)

    result = transitions.complete(Lead.objects.filter(campaign=campaign), actor=ACTOR)

    assert result.moved == 3
    assert result.skipped == {"already completed": 1, "a call is in progress": 1}
    assert set(Lead.objects.filter(pk__in=[lead.pk for lead in fresh]).values_list("status", flat=True)) == {
        LeadStatus.COMPLETED
    }
    assert StatusChange.objects.filter(operation=result.operation).count() == 3


def test_complete_keeps_numbers_state():
    lead = make_lead(secondaries=[phone()])
    set_state(lead, LeadStatus.RESCHEDULED, status=ContactStatus.RESCHEDULED, attempts=1)

    transitions.complete(one(lead), actor=ACTOR)

    assert set(lead.contacts.values_list("status", "attempts")) == {(ContactStatus.RESCHEDULED, 1)}


def test_reset_skips_leads_already_created():
    lead = make_lead()
    result = transitions.reset(one(lead), actor=ACTOR)
    assert (result.moved, result.skipped) == (0, {"already created": 1})
    assert not StatusChange.objects.filter(lead=lead).exists()


def test_stop_gives_up_and_skips_completed_and_stopped():
    campaign = make_campaign()
    waiting = make_lead(campaign=campaign)
    set_state(waiting, LeadStatus.RESCHEDULED)
    Lead.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now())
    completed = make_lead(campaign=campaign)
    set_state(completed, LeadStatus.COMPLETED)
    stopped = make_lead(campaign=campaign)
    set_state(stopped, LeadStatus.REACHED_MAX_RETRIES)

    result = transitions.stop(Lead.objects.filter(campaign=campaign), actor=ACTOR)

    waiting.refresh_from_db()
    assert result.moved == 1
    assert result.skipped == {"already completed": 1, "already stopped (max retries)": 1}
    assert waiting.status == LeadStatus.REACHED_MAX_RETRIES
    assert waiting.next_attempt_at is None


def test_reschedule_gives_exhausted_and_completed_numbers_a_fresh_budget_but_not_invalid_ones():
    lead = make_lead(secondaries=[phone(), phone(), phone()])
    set_state(lead, LeadStatus.REACHED_MAX_RETRIES)
    contacts = {c.position: c for c in lead.contacts.all()}
    Contact.objects.filter(pk=contacts[0].pk).update(status=ContactStatus.REACHED_MAX_RETRIES, attempts=4)
    Contact.objects.filter(pk=contacts[1].pk).update(status=ContactStatus.COMPLETED, attempts=1)
    Contact.objects.filter(pk=contacts[2].pk).update(
        status=ContactStatus.REACHED_MAX_RETRIES, attempts=1, last_outcome="invalid-number"
    )
    Contact.objects.filter(pk=contacts[3].pk).update(status=ContactStatus.BLACKLISTED, attempts=1)
    at = timezone.now() + datetime.timedelta(hours=2)

    result = transitions.reschedule(one(lead), at=at, actor=ACTOR)

    lead.refresh_from_db()
    assert result.moved == 1
    assert lead.status == LeadStatus.RESCHEDULED
    assert lead.next_attempt_at == at
    assert list(lead.contacts.order_by("position").values_list("status", "attempts")) == [
        (ContactStatus.CREATED, 0),
        (ContactStatus.CREATED, 0),
        (ContactStatus.REACHED_MAX_RETRIES, 1),
        (ContactStatus.BLACKLISTED, 1),
    ]
    assert lead.attempts == 2


def test_reschedule_skips_a_lead_with_no_number_that_could_be_dialled():
    lead = make_lead(secondaries=[phone()])
    set_state(
        lead, LeadStatus.REACHED_MAX_RETRIES, status=ContactStatus.REACHED_MAX_RETRIES, last_outcome="invalid-number"
    )

    result = transitions.reschedule(one(lead), at=timezone.now(), actor=ACTOR)

    assert (result.moved, result.skipped) == (0, {"no number left that could be dialled": 1})
    lead.refresh_from_db()
    assert lead.status == LeadStatus.REACHED_MAX_RETRIES


def test_reschedule_without_a_time_waits_each_campaigns_retry_interval_with_one_audit_batch_per_campaign():
    soon, later = make_campaign(retry_interval=30), make_campaign(retry_interval=240)
    leads = [make_lead(campaign=soon), make_lead(campaign=soon), make_lead(campaign=later)]
    busy = [make_lead(campaign=soon), make_lead(campaign=later)]
    for lead in busy:
        set_state(lead, LeadStatus.PROCESSING, status=ContactStatus.PROCESSING, attempts=1)
    before = timezone.now()

    result = transitions.reschedule(Lead.objects.filter(pk__in=[lead.pk for lead in leads + busy]), actor=ACTOR)

    assert (result.moved, result.skipped) == (3, {"a call is in progress": 2})
    waits = {
        lead.campaign_id: lead.next_attempt_at - before
        for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])
    }
    assert waits[soon.pk] == pytest.approx(datetime.timedelta(minutes=30), abs=datetime.timedelta(seconds=30))
    assert waits[later.pk] == pytest.approx(datetime.timedelta(minutes=240), abs=datetime.timedelta(seconds=30))
    changes = list(StatusChange.objects.order_by("lead_id"))
    assert [change.lead_id for change in changes] == [lead.pk for lead in leads]
    for change in changes:
        lead = Lead.objects.get(pk=change.lead_id)
        assert (change.from_status, change.to_status) == (LeadStatus.CREATED, LeadStatus.RESCHEDULED)
        assert change.reason == f"rescheduled for {lead.next_attempt_at.isoformat(timespec='minutes')}"
    assert changes[0].operation == changes[1].operation != changes[2].operation


def test_reschedule_refuses_a_naive_time():
    with pytest.raises(ValueError):
        transitions.reschedule(Lead.objects.none(), at=datetime.datetime(2030, 1, 1), actor=ACTOR)


def test_move_to_campaign_resets_counters_keeps_history_and_moves_numbers():
    source, target = make_campaign(), make_campaign()
    lead = make_lead(campaign=source, secondaries=[phone()])
    transitions.complete(one(lead), actor=ACTOR)
    Contact.objects.filter(lead=lead).update(attempts=2, status=ContactStatus.COMPLETED)

    result = transitions.move_to_campaign(one(lead), campaign=target, actor=ACTOR)

    lead.refresh_from_db()
    assert result.moved == 1
    assert lead.campaign == target
    assert lead.status == LeadStatus.CREATED
    assert lead.attempts == 0
    assert set(lead.contacts.values_list("campaign_id", "status", "attempts")) == {
        (target.pk, ContactStatus.CREATED, 0)
    }
    assert list(StatusChange.objects.filter(lead=lead).order_by("id").values_list("to_status", flat=True)) == [
        LeadStatus.COMPLETED,
        LeadStatus.CREATED,
    ]


def test_move_skips_leads_whose_number_the_target_already_has_and_duplicates_in_the_selection():
    source_a, source_b, target = make_campaign(), make_campaign(), make_campaign()
    number, other = phone(), phone()
    make_lead(campaign=target, primary=number)
    clash = make_lead(campaign=source_a, primary=number)
    first = make_lead(campaign=source_a, primary=other)
    second = make_lead(campaign=source_b, primary=other)
    already = make_lead(campaign=target)

    result = transitions.move_to_campaign(
        Lead.objects.filter(pk__in=[clash.pk, first.pk, second.pk, already.pk]), campaign=target, actor=ACTOR
    )

    assert result.moved == 1
    assert result.skipped == {
        "its number is already in that campaign": 1,
        "another selected lead has the same number": 1,
        "already in that campaign": 1,
    }
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.campaign, second.campaign) == (target, source_b)


def reset_counting_queries(selection) -> tuple[transitions.TransitionResult, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        result = transitions.reset(selection, actor=ACTOR)
    return result, [q["sql"] for q in queries.captured_queries]


def exhaust(campaign) -> None:
    Lead.objects.filter(campaign=campaign).update(status=LeadStatus.REACHED_MAX_RETRIES, attempts=8)
    Contact.objects.filter(campaign=campaign).update(status=ContactStatus.REACHED_MAX_RETRIES, attempts=4)


def test_bulk_action_over_a_filtered_selection_of_10000_leads_runs_in_a_fixed_number_of_statements():
    small, big, other = make_campaign(), make_campaign(), make_campaign()
    bulk_leads(small, 10, secondaries=1)
    leads = bulk_leads(big, 10_000, secondaries=1, start=10)
    bulk_leads(other, 50, start=10_010)
    exhaust(small)
    exhaust(big)
    busy = leads[0]
    set_state(busy, LeadStatus.PROCESSING)

    _, few = reset_counting_queries(Lead.objects.filter(campaign=small))
    result, many = reset_counting_queries(Lead.objects.filter(campaign=big))

    assert len(many) == len(few)  # the same statements for 10 leads as for 10,000
    assert len([sql for sql in many if sql.lstrip().upper().startswith(("INSERT", "UPDATE"))]) <= 5
    assert result.moved == 9_999
    assert result.skipped == {"a call is in progress": 1}
    assert Lead.objects.filter(campaign=big, status=LeadStatus.CREATED, attempts=0).count() == 9_999
    assert Lead.objects.filter(campaign=other, status=LeadStatus.CREATED).count() == 50
    assert not Contact.objects.filter(campaign=big, attempts__gt=0).exclude(lead=busy).exists()
    assert StatusChange.objects.filter(operation=result.operation).count() == 9_999


def test_do_not_call_action_lists_every_number_and_marks_other_leads_sharing_them():
    campaign, other_campaign = make_campaign(), make_campaign()
    shared, own = phone(), phone()
    lead = make_lead(campaign=campaign, primary=own, secondaries=[shared])
    sharing_only = make_lead(campaign=other_campaign, primary=shared)
    sharing_partly = make_lead(campaign=other_campaign, primary=phone(), secondaries=[shared])

    result = services.do_not_call_leads(leads=one(lead), actor=ACTOR)

    assert result.numbers_added == 2
    assert set(DoNotCallNumber.objects.values_list("phone", flat=True)) == {shared, own}
    for each in (lead, sharing_only, sharing_partly):
        each.refresh_from_db()
    assert lead.status == LeadStatus.BLACKLISTED
    assert sharing_only.status == LeadStatus.BLACKLISTED
    assert sharing_partly.status == LeadStatus.CREATED
    assert sharing_partly.contacts.get(phone=shared).status == ContactStatus.BLACKLISTED


def test_a_lead_created_with_every_number_on_the_list_starts_do_not_call():
    number = phone()
    services.do_not_call_add(phones=[number], actor=ACTOR)
    lead = make_lead(primary=number)
    assert lead.status == LeadStatus.BLACKLISTED
    assert lead.contacts.get().status == ContactStatus.BLACKLISTED


def test_taking_a_number_off_the_list_releases_its_leads():
    number = phone()
    lead = make_lead(primary=number)
    services.do_not_call_add(phones=[number], actor=ACTOR)

    result = services.do_not_call_remove(phones=[number], actor=ACTOR)

    lead.refresh_from_db()
    assert result.moved == 1
    assert lead.status == LeadStatus.CREATED
    assert lead.contacts.get().status == ContactStatus.CREATED
    assert not DoNotCallNumber.objects.exists()


def test_promote_due_schedules_only_rescheduled_leads_whose_time_has_come():
    now = timezone.now()
    campaign = make_campaign()
    due, later = make_lead(campaign=campaign), make_lead(campaign=campaign)
    transitions.reschedule(one(due), at=now - datetime.timedelta(minutes=1), actor=ACTOR)
    transitions.reschedule(one(later), at=now + datetime.timedelta(minutes=5), actor=ACTOR)

    result = transitions.promote_due(Lead.objects.filter(campaign=campaign), now=now, actor=ACTOR)

    assert result.moved == 1
    assert Lead.objects.get(pk=due.pk).status == LeadStatus.SCHEDULED
    assert Lead.objects.get(pk=later.pk).status == LeadStatus.RESCHEDULED


def test_a_placed_call_restarts_only_its_leads_dial_error_backoff():
    placed, other = make_lead(), make_lead()
    Lead.objects.filter(pk__in=[placed.pk, other.pk]).update(dial_errors=3)

    transitions.calls_placed([Call(lead_id=placed.pk)])

    assert Lead.objects.get(pk=placed.pk).dial_errors == 0
    assert Lead.objects.get(pk=other.pk).dial_errors == 3


def test_recount_attempts_sets_each_lead_to_the_sum_of_its_numbers():
    lead, bare = make_lead(secondaries=[phone()]), make_lead()
    Contact.objects.filter(lead=lead).update(attempts=2)
    Lead.objects.filter(pk__in=[lead.pk, bare.pk]).update(attempts=9)

    transitions.recount_attempts(Lead.objects.filter(pk__in=[lead.pk, bare.pk]))

    assert Lead.objects.get(pk=lead.pk).attempts == 4
    assert Lead.objects.get(pk=bare.pk).attempts == 0


def test_the_do_not_call_action_over_an_empty_selection_changes_nothing():
    make_lead()
    result = services.do_not_call_leads(leads=Lead.objects.none(), actor=Actor.system())
    assert (result.numbers_added, result.leads.moved) == (0, 0)
    assert not DoNotCallNumber.objects.exists()


def test_promoted_leads_audit_rows_carry_the_dialers_time():
    lead = make_lead()
    when = timezone.now() + datetime.timedelta(days=3)
    transitions.reschedule(Lead.objects.filter(pk=lead.pk), at=when - datetime.timedelta(hours=1), actor=Actor.system())
    transitions.promote_due(Lead.objects.filter(pk=lead.pk), now=when, actor=Actor.system())
    assert StatusChange.objects.filter(lead=lead, to_status=LeadStatus.SCHEDULED).get().changed_at == when
