"""The database itself enforces the rules: rows written around every form and service
are still refused."""

import pytest
from django.db import DataError, IntegrityError, transaction

from campaigns.tests.factories import make_campaign
from leads.models import Contact, DoNotCallNumber, Lead
from leads.tests.factories import make_lead, phone

pytestmark = pytest.mark.django_db


def raw_contact(lead: Lead, **fields) -> Contact:
    fields.setdefault("campaign", lead.campaign)
    fields.setdefault("phone", phone())
    return Contact.objects.create(lead=lead, **fields)


def refused(**kwargs) -> bool:
    try:
        with transaction.atomic():
            raw_contact(**kwargs)
    except (IntegrityError, DataError):  # DataError: too long for the column (PostgreSQL)
        return True
    return False


def test_a_primary_number_is_unique_within_its_campaign():
    campaign = make_campaign()
    first = make_lead(campaign=campaign)
    number = first.contacts.get().phone
    other = Lead.objects.create(campaign=campaign)
    assert refused(lead=other, position=0, phone=number)


def test_the_same_primary_number_may_be_in_two_campaigns_and_a_secondary_elsewhere():
    first = make_lead()
    number = first.contacts.get().phone
    assert not refused(lead=Lead.objects.create(campaign=make_campaign()), position=0, phone=number)
    assert not refused(lead=make_lead(campaign=first.campaign), position=1, phone=number)


def test_a_lead_has_one_primary_and_unique_positions():
    lead = make_lead()
    assert refused(lead=lead, position=0)


def test_a_lead_cannot_list_a_number_twice():
    lead = make_lead()
    assert refused(lead=lead, position=1, phone=lead.contacts.get().phone)


@pytest.mark.parametrize("position", [11, 12, 100])
def test_positions_stop_at_ten_secondaries(position):
    assert refused(lead=make_lead(), position=position)


@pytest.mark.parametrize(
    "bad", ["14155552671", "+0123456789", "+1 415 555 2671", "+1415555267a", "+1234567890123456", "+12345", ""]
)
def test_the_database_refuses_numbers_not_in_e164(bad):
    assert refused(lead=make_lead(), position=1, phone=bad)


def test_the_database_refuses_unknown_statuses():
    lead = make_lead()
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(status="lost-in-space")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(lead=lead).update(status="maybe")


def test_the_do_not_call_list_holds_each_e164_number_once():
    DoNotCallNumber.objects.create(phone="+14155552671")
    with pytest.raises(IntegrityError), transaction.atomic():
        DoNotCallNumber.objects.create(phone="+14155552671")
    with pytest.raises(IntegrityError), transaction.atomic():
        DoNotCallNumber.objects.create(phone="4155552671")


def test_deleting_a_lead_deletes_its_numbers_and_history():
    from leads import transitions
    from leads.models import StatusChange
    from leads.transitions import Actor

    lead = make_lead(secondaries=[phone()])
    transitions.complete(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    lead.delete()
    assert not Contact.objects.filter(lead_id=lead.pk).exists()
    assert not StatusChange.objects.filter(lead_id=lead.pk).exists()
