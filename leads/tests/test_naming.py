"""How a lead is named: its primary number and the person's name from its variables."""

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from leads.models import Contact, Lead
from leads.naming import NAME_SHOWN, lead_label, person_name
from leads.tests.factories import make_lead


@pytest.mark.parametrize(
    ("variables", "name"),
    [
        ({"name": "Ana García"}, "Ana García"),
        ({"full_name": "Ana García", "customer_name": "ignored"}, "Ana García"),
        ({"customer_name": "  Ana \n García "}, "Ana García"),
        ({"contact_name": "Ben"}, "Ben"),
        ({"first_name": "Ana", "last_name": "García"}, "Ana García"),
        ({"last_name": "García"}, "García"),
        ({"name": "", "customer_name": "Ben"}, "Ben"),  # the first one filled in
        ({"name": 42}, "42"),
        ({"name": True, "name_other": "x"}, ""),
        ({"name": {"first": "Ana"}}, ""),
        ({"city": "Austin"}, ""),
        ({}, ""),
        (None, ""),
        ("Ana", ""),
    ],
)
def test_person_name_reads_the_name_variables(variables, name):
    assert person_name(variables) == name


def test_a_long_name_is_cut_where_a_lead_is_named_but_not_for_a_file():
    long = "x" * 500
    assert person_name({"name": long}) == "x" * (NAME_SHOWN - 1) + "…"
    assert person_name({"name": long}, shown=None) == long


def test_lead_label_is_the_number_and_the_name():
    assert lead_label("+14155550101", {"customer_name": "Ana"}) == "+14155550101 · Ana"
    assert lead_label("+14155550101", {}) == "+14155550101"


@pytest.mark.django_db
def test_a_lead_is_named_by_its_primary_number_and_name(django_assert_num_queries):
    lead = make_lead(primary="+14155550101", secondaries=["+12125550102"], variables={"customer_name": "Ana"})
    fetched = Lead.objects.get(pk=lead.pk)
    with django_assert_num_queries(1):
        assert str(fetched) == "+14155550101 · Ana"
    prefetched = Lead.objects.prefetch_related("contacts").get(pk=lead.pk)
    with django_assert_num_queries(0):
        assert str(prefetched) == "+14155550101 · Ana"
    assert str(make_lead(primary="+14155550103")) == "+14155550103"
    assert str(Lead()) == "New lead"
    Contact.objects.filter(lead=lead).delete()
    assert str(Lead.objects.get(pk=lead.pk)) == f"Lead {lead.pk}"


@pytest.mark.django_db
def test_the_lead_page_its_breadcrumbs_and_the_admin_log_name_the_lead(admin_client_logged, admin_user, rf):
    lead = make_lead(primary="+14155550101", variables={"name": "Ana <i>García</i>"})
    page = admin_client_logged.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert "<title>+14155550101 · Ana &lt;i&gt;García&lt;/i&gt; | Change lead" in page
    breadcrumbs = page.split('class="breadcrumbs"')[1].split("</div>")[0]
    assert "+14155550101 · Ana &lt;i&gt;García&lt;/i&gt;" in breadcrumbs
    request = rf.get("/")
    request.user = admin_user
    entry = admin.site.get_model_admin(Lead).log_change(request, lead, "Changed nothing.")
    assert LogEntry.objects.get(pk=entry.pk).object_repr == "+14155550101 · Ana <i>García</i>"
