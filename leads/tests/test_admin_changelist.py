"""The leads list's count (leads.admin.changelist): exact up to a bound, then "about N"
or "more than N", and pages that still work past an estimated count."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.tests.factories import make_campaign
from leads.admin import changelist
from leads.admin.changelist import ListCount
from leads.admin.leads import LeadAdmin
from leads.models import Lead, LeadStatus
from leads.tests.factories import bulk_leads

pytestmark = pytest.mark.django_db

LIST = reverse("admin:leads_lead_changelist")


@pytest.fixture
def twelve(monkeypatch):
    monkeypatch.setattr(changelist, "COUNT_UP_TO", 5)  # 10,000 in production
    campaign = make_campaign()
    return campaign, bulk_leads(campaign, 12)


def paginator_line(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.search(r'<p class="paginator">(.*?)</p>', html, re.S).group(1)).strip()


def test_a_list_within_the_bound_is_counted_exactly(admin_client_logged, twelve, monkeypatch):
    monkeypatch.setattr(changelist, "COUNT_UP_TO", 50)
    campaign, _ = twelve
    response = admin_client_logged.get(LIST, {"campaign": campaign.pk})
    count = response.context["cl"].result_count
    assert count == 12 and count.exact
    assert paginator_line(response).endswith("12 leads")


def test_a_list_beyond_the_bound_says_more_than_and_counts_no_further(admin_client_logged, twelve):
    campaign, _ = twelve
    with CaptureQueriesContext(connection) as queries:
        response = admin_client_logged.get(LIST, {"campaign": campaign.pk})
    count = response.context["cl"].result_count
    assert not count.exact
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "leads_lead" in q["sql"]]
    assert counts and all("LIMIT 6" in sql for sql in counts)  # never a count of every match
    if connection.vendor == "postgresql":
        assert str(count).startswith(("about ", "more than 5"))
    else:  # no estimate to give
        assert str(count) == "more than 5"
    assert paginator_line(response).endswith(f"{count} leads")
    html = response.content.decode()
    assert f"Select all {count} leads" in html
    assert f"All {count} selected" in html


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's estimate is PostgreSQL's")
def test_beyond_the_bound_postgresql_says_about_its_planners_estimate(admin_client_logged, twelve):
    campaign, _ = twelve
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    response = admin_client_logged.get(LIST, {"status": LeadStatus.CREATED})
    count = response.context["cl"].result_count
    assert str(count) == f"about {int(count):,}" and int(count) > 5


@pytest.mark.parametrize(("page", "rows"), [(1, 2), (3, 2), (6, 2), (7, 0), (40, 0)])
def test_pages_past_an_estimated_count_still_open(admin_client_logged, twelve, monkeypatch, page, rows):
    monkeypatch.setattr(LeadAdmin, "list_per_page", 2)
    campaign, leads = twelve
    response = admin_client_logged.get(LIST, {"campaign": campaign.pk, "p": page})
    assert response.status_code == 200
    shown = [lead.pk for lead in response.context["cl"].result_list]
    newest_first = sorted((lead.pk for lead in leads), reverse=True)
    assert shown == newest_first[(page - 1) * 2 : page * 2][:rows]


@pytest.mark.parametrize("page", ["0", "-1", "1000000001", "99999999999999999999999"])
def test_a_page_number_that_is_no_page_is_refused_as_before(admin_client_logged, twelve, monkeypatch, page):
    monkeypatch.setattr(LeadAdmin, "list_per_page", 2)
    campaign, _ = twelve
    response = admin_client_logged.get(LIST, {"campaign": campaign.pk, "p": page})
    # Django's own answer to a page number that is none: back to the list with ?e=1.
    assert response.status_code == 302 and response.url.endswith("?e=1")


def test_select_all_over_an_estimated_list_confirms_and_acts_on_exactly_every_match(admin_client_logged, twelve):
    campaign, leads = twelve
    action = {"action": "complete_leads", "select_across": "1", "_selected_action": [leads[0].pk]}
    confirmation = admin_client_logged.post(f"{LIST}?campaign={campaign.pk}", action)
    text = re.sub(r"\s+", " ", confirmation.content.decode())
    assert re.search(r"\b12 leads\b", text) and "more than" not in text and "about" not in text
    done = admin_client_logged.post(f"{LIST}?campaign={campaign.pk}", {**action, "apply": "1"}, follow=True)
    assert "Completed 12 leads." in [str(m) for m in done.context["messages"]]
    assert Lead.objects.filter(status=LeadStatus.COMPLETED).count() == 12


def test_a_list_count_reads_as_its_words_and_computes_as_its_number() -> None:
    assert str(ListCount(1204)) == "1,204" and ListCount(1204).exact
    about = ListCount.about(120_000)
    assert str(about) == "about 120,000" and about.__html__() == "about 120,000" and about + 1 == 120_001
    more = ListCount.more_than(10_000)
    assert str(more) == "more than 10,000" and int(more) == 10_001 and not more.exact
