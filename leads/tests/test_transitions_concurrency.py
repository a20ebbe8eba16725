"""Bulk actions racing the dialer, with real transactions on PostgreSQL (SQLite
serialises writers, so there is no race there to test)."""

import threading
import time

import pytest
from django.db import connection, transaction

from leads import transitions
from leads.models import Lead, LeadStatus, StatusChange
from leads.tests.factories import make_lead
from leads.transitions import Actor
from leadsite.testing import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks exist on PostgreSQL only"),
]


def test_reset_waits_for_a_dialer_claim_and_then_leaves_the_claimed_lead_alone():
    lead = make_lead()
    transitions.complete(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    locked, release = threading.Event(), threading.Event()

    def dialer_claims():
        # What a dialer's claim does: lock the row, set Processing, commit later.
        with transaction.atomic():
            Lead.objects.select_for_update().filter(pk=lead.pk).update(status=LeadStatus.PROCESSING)
            locked.set()
            release.wait(5)
        connection.close()

    dialer = threading.Thread(target=dialer_claims)
    dialer.start()
    assert locked.wait(5)
    threading.Timer(0.5, release.set).start()

    started = time.monotonic()
    result = transitions.reset(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    waited = time.monotonic() - started
    dialer.join()

    lead.refresh_from_db()
    assert waited >= 0.4  # the reset really waited on the dialer's lock
    assert result.moved == 0
    assert result.skipped == {"changed by the dialer meanwhile": 1}
    assert lead.status == LeadStatus.PROCESSING
    assert not StatusChange.objects.filter(lead=lead, to_status=LeadStatus.CREATED).exists()


def test_two_concurrent_resets_move_each_lead_once():
    leads = [make_lead() for _ in range(20)]
    ids = [lead.pk for lead in leads]
    transitions.complete(Lead.objects.filter(pk__in=ids), actor=Actor.system())
    results = at_once(lambda: transitions.reset(Lead.objects.filter(pk__in=ids), actor=Actor.system()))

    assert sum(r.moved for r in results) == 20
    assert StatusChange.objects.filter(lead_id__in=ids, to_status=LeadStatus.CREATED).count() == 20
    assert set(Lead.objects.filter(pk__in=ids).values_list("status", flat=True)) == {LeadStatus.CREATED}
