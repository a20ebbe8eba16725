import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.tests.factories import make_campaign
from leads.filters import FilterProblem
from leads.models import Contact, Lead
from leads.selectors import lead_list, list_ordering, phone_in
from leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db


def test_phone_in_finds_exactly_the_numbers_listed():
    make_lead(primary="+14155550101", secondaries=["+14155550102"])
    make_lead(primary="+14155550103")
    found = Contact.objects.filter(phone_in("phone", ["+14155550101", "+14155550103", "+19999999999"]))
    assert sorted(found.values_list("phone", flat=True)) == ["+14155550101", "+14155550103"]
    assert not Contact.objects.filter(phone_in("phone", [])).exists()


@pytest.mark.parametrize("odd", ["+1'); DROP TABLE leads_contact; --", '{"+14155550101"}', "a,b", "\\", '"'])
def test_phone_in_takes_any_text_as_a_value(odd):
    make_lead(primary="+14155550101")
    assert list(Contact.objects.filter(phone_in("phone", [odd])).values_list("phone", flat=True)) == []
    assert Contact.objects.filter(phone_in("phone", [odd, "+14155550101"])).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array parameter is PostgreSQL's")
def test_phone_in_is_one_array_parameter_on_postgresql():
    phones = [f"+1415555{n:04d}" for n in range(5000)]
    with CaptureQueriesContext(connection) as captured:
        list(Contact.objects.filter(phone_in("phone", phones)).values_list("pk"))
    sql = captured[0]["sql"]
    assert "= ANY(" in sql and " IN (" not in sql


def _phones(leads) -> list[str]:
    return [lead.contacts.get(position=0).phone for lead in leads]


def test_lead_list_filters_searches_and_orders_as_the_list_does():
    campaign = make_campaign()
    other = make_campaign()
    first = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana García"})
    second = make_lead(campaign=campaign, primary="+14155550102", variables={"customer_name": "Ben"})
    make_lead(campaign=other, primary="+14155550103", variables={"customer_name": "Ana"})
    Lead.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    Lead.objects.filter(pk=second.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(hours=1))

    assert _phones(lead_list()) == ["+14155550103", "+14155550102", "+14155550101"]  # newest first
    assert _phones(lead_list(filters={"campaign": [str(campaign.pk)]})) == ["+14155550102", "+14155550101"]
    assert _phones(lead_list(search="garcía")) == ["+14155550101"]
    assert _phones(lead_list(search="555 0102")) == ["+14155550102"]
    ordered = lead_list(filters={"campaign": [str(campaign.pk)]}, ordering=["next_attempt_at"])
    assert _phones(ordered) == ["+14155550102", "+14155550101"]
    assert list(ordered.query.order_by) == ["next_attempt_at", "pk"]  # ties in the sort's direction


@pytest.mark.parametrize(
    ("ordering", "total"),
    [
        ([], ["-id"]),
        (["next_attempt_at"], ["next_attempt_at", "pk"]),
        (["-next_attempt_at"], ["-next_attempt_at", "-pk"]),
        (["status", "-id"], ["status", "-id"]),
    ],
)
def test_list_ordering_is_made_total_in_the_direction_of_the_first_key(ordering, total):
    assert list_ordering(ordering) == total


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"status": ["nonsense"]}, "status"),
        ({"attempts_min": ["1e400"]}, "attempts_min"),
        ({"campaign__id__gt": ["0"]}, "campaign__id__gt"),
        ({"<script>": ["x"]}, "<script>"),
        ({"variable": ["isnull"], "value": ["x"], "status": ["completed"]}, None),
    ],
)
def test_lead_list_refuses_filters_it_cannot_apply_by_name(filters, named):
    make_lead()
    if named is None:  # a variable called like a lookup is data, not a lookup
        assert list(lead_list(filters=filters)) == []
        return
    with pytest.raises(FilterProblem, match=re.escape(named)):
        lead_list(filters=filters)


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("GARCIA", "María García"),
        ("garcia", "MARÍA GARCÍA"),
        ("Muller", "Jonas Müller"),
        ("müller", "JONAS MULLER"),
        ("chloe", "Chloe\u0301 Dubois"),  # the accent typed as its own mark
        ("NGUYEN", "Nguyễn Thị"),
    ],
)
def test_the_search_ignores_case_and_accents(query, value):
    found = make_lead(primary="+14155550101", variables={"customer_name": value})
    make_lead(primary="+14155550102", variables={"customer_name": "Ben Becker"})
    assert list(lead_list(search=query)) == [found]


def test_the_number_search_is_not_folded():
    make_lead(primary="+14155550101", variables={"customer_name": "Ana"})
    assert list(lead_list(search="①④①⑤")) == []  # NFKD would make digits of these; a search keeps them text
    assert len(lead_list(search="1415")) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's trigram index")
def test_the_value_search_can_use_the_folded_trigram_index():
    """The query's condition is the index's expression: with sequential scans off (a
    few rows would rather be scanned), the plan reads contact_values_fold_trgm."""
    for n in range(20):
        make_lead(primary=f"+1415555{n:04d}", variables={"customer_name": f"Ana García {n}"})
    sql, params = lead_list(search="GARCIA").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "contact_values_fold_trgm" in plan, plan


def test_a_search_longer_than_any_value_finds_nothing():
    make_lead(variables={"customer_name": "a" * 1000})
    assert len(lead_list(search="A" * 1000)) == 1
    assert list(lead_list(search="a" * 60_000)) == []  # SQLite refuses such a LIKE pattern


@pytest.mark.parametrize(("query", "found"), [("0% SÜRE", ["100% sure"]), ("_", ["a_b"]), ("\\", ["back\\slash"])])
def test_like_patterns_in_the_search_are_text(query, found):
    for n, value in enumerate(["100% sure", "1000 sure", "a_b", "ab", "back\\slash"]):
        make_lead(primary=f"+1415555{n:04d}", variables={"customer_name": value})
    assert [lead.contacts.get(position=0).variables["customer_name"] for lead in lead_list(search=query)] == found


def test_consent_missing_count_counts_the_dialable_leads_without_the_required_consent(django_assert_max_num_queries):
    from django.core.cache import cache

    from campaigns.tests.factories import make_campaign
    from leads import transitions
    from leads.models import Lead
    from leads.selectors import consent_missing_count
    from leads.tests.factories import make_lead
    from leads.transitions import Actor

    campaign = make_campaign(requires_consent="express")
    levels = ["none", "express", "express-written", "existing-relationship", "none"]
    leads = [make_lead(campaign=campaign) for _ in levels]
    for lead, level in zip(leads, levels):
        Lead.objects.filter(pk=lead.pk).update(consent=level)
    transitions.complete(Lead.objects.filter(pk=leads[4].pk), actor=Actor.system())  # done: not dialled anyway
    other = make_campaign(requires_consent="none")
    make_lead(campaign=other)
    assert consent_missing_count(campaign) == 2  # none and existing-relationship
    assert consent_missing_count(other) == 0
    campaign.requires_consent = "express-written"
    campaign.save()
    assert consent_missing_count(campaign) == 3  # a changed requirement is counted at once
    Lead.objects.filter(pk=leads[1].pk).update(consent="express-written")
    with django_assert_max_num_queries(0):
        assert consent_missing_count(campaign) == 3  # reused for a minute
    cache.clear()
    assert consent_missing_count(campaign) == 2
