"""Call history in the admin: the calls list and its filters, a call's page with its
reports, the lead's latest calls; malformed addresses never a 500."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.tests.factories import make_campaign
from leads.admin import changelist
from leads.admin.calls import LATEST_ON_LEAD_PAGE
from leads.dialer import outcomes, passes
from leads.dialer.backends.simulated import SimulatedBackend
from leads.models import Call, StatusChange
from leads.tests.factories import make_lead
from leads.transitions import Actor, Report

pytestmark = pytest.mark.django_db

CALLS = reverse("admin:leads_call_changelist")
QUIET = SimulatedBackend(seed=1, duration_scale=1000)


@pytest.fixture
def dialled():
    campaign = make_campaign(name="Spring", max_calls_in_parallel=3)
    leads = [make_lead(campaign=campaign) for _ in range(3)]
    services.campaign_start(campaign=campaign)
    passes.run_pass(backend=QUIET)
    first = Call.objects.get(lead=leads[0])
    outcomes.outcome_receive(
        first.pk,
        Report(outcome="completed", summary="Booked.", recording_url="https://rec.example.com/1.mp3"),
        payload={"outcome": "completed"},
        webhook_id="msg-1",
        now=first.placed_at,
        actor=Actor.system(),
    )
    outcomes.outcome_receive(
        first.pk,
        Report(outcome="busy"),
        payload={"outcome": "busy"},
        webhook_id="msg-2",
        now=first.placed_at,
        actor=Actor.system(),
    )
    return campaign, leads


def test_the_calls_list_filters_by_campaign_outcome_and_in_flight(admin_client_logged, dialled):
    campaign, leads = dialled
    other = make_campaign()
    assert len(admin_client_logged.get(CALLS).context["cl"].result_list) == 3
    assert len(admin_client_logged.get(CALLS, {"campaign__id__exact": other.pk}).context["cl"].result_list) == 0
    assert [c.lead_id for c in admin_client_logged.get(CALLS, {"outcome": "completed"}).context["cl"].result_list] == [
        leads[0].pk
    ]
    assert len(admin_client_logged.get(CALLS, {"open": "yes"}).context["cl"].result_list) == 2
    assert [c.lead_id for c in admin_client_logged.get(CALLS, {"lead": leads[1].pk}).context["cl"].result_list] == [
        leads[1].pk
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"lead": "abc"},
        {"campaign__id__exact": "x"},
        {"open": "maybe"},
        {"placed_at__gte": "yesterday"},
        {"o": "99"},
        {"outcome": "<script>"},
    ],
)
def test_malformed_list_addresses_are_not_a_server_error(admin_client_logged, dialled, query):
    response = admin_client_logged.get(CALLS, query)
    assert response.status_code in (200, 302)


def test_a_calls_page_shows_its_outcome_and_every_report_received(admin_client_logged, dialled):
    _, leads = dialled
    call = Call.objects.get(lead=leads[0])
    page = admin_client_logged.get(reverse("admin:leads_call_change", args=[call.pk])).content.decode()
    assert "Booked." in page and "https://rec.example.com/1.mp3" in page
    assert "msg-1" in page and "msg-2" in page and "already closed" in page


def test_calls_are_never_written_from_the_admin(admin_client_logged, dialled):
    call = Call.objects.first()
    response = admin_client_logged.post(reverse("admin:leads_call_change", args=[call.pk]), {"outcome": "busy"})
    assert response.status_code == 403
    assert admin_client_logged.get(reverse("admin:leads_call_add")).status_code == 403
    assert admin_client_logged.get(reverse("admin:leads_call_change", args=["not-a-uuid"])).status_code == 302


def test_the_lead_page_shows_its_latest_calls_and_links_to_all(admin_client_logged, dialled):
    _, leads = dialled
    lead = leads[0]
    for _ in range(LATEST_ON_LEAD_PAGE + 5):  # a long history: the page shows the latest only
        Call.objects.create(
            lead=lead,
            campaign=lead.campaign,
            phone="+14155550199",
            position=0,
            attempt=1,
            backend="simulated",
            placed_at="2020-01-01T00:00:00Z",
            ended_at="2020-01-01T00:01:00Z",
            outcome="busy",
        )
    response = admin_client_logged.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert len(response.context["inline_admin_formsets"][1].formset.forms) == LATEST_ON_LEAD_PAGE
    page = response.content.decode()
    assert "Booked." in page  # the newest call is among them
    assert f"{CALLS}?lead={lead.pk}" in page
    assert reverse("admin:leads_statuschange_changelist") + f"?q={lead.pk}" in page


def test_the_lead_page_shows_the_latest_status_changes_only(admin_client_logged, dialled):
    _, leads = dialled
    lead = leads[1]
    StatusChange.objects.bulk_create(
        StatusChange(lead=lead, from_status="created", to_status="created", changed_at=timezone.now(), source="system")
        for _ in range(60)
    )
    response = admin_client_logged.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    history = response.context["inline_admin_formsets"][2].formset
    assert len(history.forms) == 50 and StatusChange.objects.filter(lead=lead).count() > 60


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's estimate is PostgreSQL's")
def test_a_large_filtered_history_shows_the_planners_estimate_instead_of_counting(
    admin_client_logged, dialled, monkeypatch
):
    campaign, leads = dialled

    def add(n):
        Call.objects.bulk_create(
            Call(
                lead=leads[0],
                campaign=campaign,
                phone="+14155550199",
                position=0,
                attempt=1,
                backend="simulated",
                placed_at="2020-01-01T00:00:00Z",
                ended_at="2020-01-01T00:01:00Z",
                outcome="busy",
            )
            for _ in range(n)
        )

    add(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_call")
    add(20)

    def count_queries(threshold):
        monkeypatch.setattr(changelist, "ESTIMATE_ABOVE", threshold)  # 100,000 in production
        with CaptureQueriesContext(connection) as queries:
            result = admin_client_logged.get(CALLS, {"outcome": "busy"}).context["cl"].result_count
        return result, [q["sql"] for q in queries if "COUNT(" in q["sql"] and "leads_call" in q["sql"]]

    estimated, counted = count_queries(5)
    assert counted == [] and estimated > 5  # the planner's figure: the table was not counted
    exact, counted = count_queries(1000)
    assert exact == 50 and counted
