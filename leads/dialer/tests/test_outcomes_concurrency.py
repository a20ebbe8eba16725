"""Opt-outs arriving at once on PostgreSQL, with real transactions: each marks numbers
in the other's lead, so the two may wait on each other. Whatever the database decides,
every webhook answer is 200 or 503 (never a 500), a 503 is safe to send again, and in
the end both leads and every lead sharing their numbers are Do not call."""

import threading

import psycopg
import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from campaigns import services
from campaigns.tests.factories import make_campaign
from leads import transitions
from leads.dialer.tests.conftest import QUIET
from leads.dialer.tests.test_webhooks import post
from leads.models import Call, Contact, ContactStatus, DoNotCallNumber, Lead, LeadStatus
from leads.tests.factories import make_lead, pass_at_any_hour, phone
from leads.transitions import Actor, Report

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Calls placed at the clock's time: the calling rules are not what these tests are about.
    pytest.mark.usefixtures("without_calling_rules"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions on PostgreSQL only"),
]


def test_two_opt_outs_sharing_numbers_at_once_both_end_do_not_call():
    shared = [phone(), phone()]
    first = make_campaign(max_calls_in_parallel=10)
    second = make_campaign(max_calls_in_parallel=10)
    leads = []
    for _ in range(5):
        # Each pair of leads shares two numbers, in opposite orders, in two campaigns.
        numbers = [phone(), phone()]
        leads.append(make_lead(campaign=first, primary=numbers[0], secondaries=[numbers[1], *shared]))
        leads.append(make_lead(campaign=second, primary=numbers[1], secondaries=[numbers[0], *reversed(shared)]))
    services.campaign_start(campaign=first)
    services.campaign_start(campaign=second)
    pass_at_any_hour(QUIET)
    calls = list(Call.objects.filter(ended_at__isnull=True))
    assert len(calls) == len(leads)

    answers: list[int] = []
    barrier = threading.Barrier(len(calls))

    def deliver(call: Call) -> None:
        try:
            barrier.wait()
            for _ in range(5):  # as a platform retries a 5xx
                status = post(call.pk, {"outcome": "completed", "opt_out": True}).status_code
                answers.append(status)
                if status != 503:
                    break
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert set(answers) <= {200, 503} and answers.count(200) == len(calls)
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.BLACKLISTED}
    assert set(Contact.objects.values_list("status", flat=True)) == {ContactStatus.BLACKLISTED}
    assert DoNotCallNumber.objects.count() == Contact.objects.values("phone").distinct().count()
    assert not Lead.objects.filter(opted_out_at__isnull=True).exists()


def test_an_outcome_locks_its_call_and_lead_but_never_their_campaign():
    campaign = make_campaign()
    make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    pass_at_any_hour(QUIET)
    call = Call.objects.get()
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], autocommit=True
    )
    try:
        with transaction.atomic():
            transitions.record_outcome(call.pk, Report(outcome="busy"), now=timezone.now(), actor=Actor.system())
            # The outcome's locks are held until this transaction ends: the campaign
            # (which the dialer's claim locks) and its assistant are free meanwhile.
            other.execute("SELECT 1 FROM campaigns_campaign WHERE id = %s FOR UPDATE NOWAIT", [campaign.pk])
            other.execute("SELECT 1 FROM campaigns_assistant WHERE id = %s FOR UPDATE NOWAIT", [campaign.assistant_id])
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM leads_call WHERE id = %s FOR UPDATE NOWAIT", [call.pk])
    finally:
        other.close()
