import datetime
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from campaigns import services
from campaigns.models import Campaign
from campaigns.tests.factories import make_assistant, make_campaign
from leads import transitions
from leads.models import Lead
from leads.tests.factories import make_call, make_lead
from leads.transitions import Actor

pytestmark = pytest.mark.django_db


def start(client, campaign):
    return client.post(reverse("admin:campaigns_campaign_start", args=[campaign.pk]), follow=True)


def pause(client, campaign):
    return client.post(reverse("admin:campaigns_campaign_pause", args=[campaign.pk]), follow=True)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_start_needs_a_lead(admin_client_logged):
    campaign = make_campaign()
    response = start(admin_client_logged, campaign)
    assert "A campaign needs at least one lead before it can start." in messages_of(response)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_start_pause_resume(admin_client_logged):
    campaign = make_campaign()
    make_lead(campaign=campaign)
    assert f"“{campaign.name}” is running." in messages_of(start(admin_client_logged, campaign))
    assert "The campaign is already running." in messages_of(start(admin_client_logged, campaign))
    pause(admin_client_logged, campaign)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == (Campaign.Status.PAUSED, "paused by hand")
    assert "Only a running campaign can be paused." in messages_of(pause(admin_client_logged, campaign))
    page = admin_client_logged.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert ">Resume</a>" in page.content.decode()
    start(admin_client_logged, campaign)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.IN_PROGRESS


def test_start_and_pause_refuse_other_methods_and_unknown_campaigns(admin_client_logged):
    campaign = make_campaign()
    assert admin_client_logged.put(reverse("admin:campaigns_campaign_start", args=[campaign.pk])).status_code == 405
    assert admin_client_logged.get(reverse("admin:campaigns_campaign_pause", args=[campaign.pk])).status_code == 405
    assert admin_client_logged.get(reverse("admin:campaigns_campaign_start", args=[999999])).status_code == 404
    assert admin_client_logged.post(reverse("admin:campaigns_campaign_pause", args=[999999])).status_code == 404


def campaign_form(assistant, /, **changes):
    data = {
        "name": "Autumn",
        "assistant": assistant.pk,
        "max_calls_in_parallel": "3",
        "allowed_hours_start": "09:00",
        "allowed_hours_end": "18:00",
        "allowed_days": ["monday", "friday"],
        "timezone": "",
        "default_country": "US",
        "max_retries": "3",
        "retry_interval": "60",
        "goal_completion_variable": "",
        "secondary_strategy": "exhaust",
        "mark_complete_when_no_leads": "on",
        "call_timeout": "30",
        "max_callbacks": "3",
        "callback_horizon_days": "30",
        "requires_consent": "none",
    }
    data.update(changes)
    return data


def test_a_campaign_is_created_from_its_page(admin_client_logged):
    assistant = make_assistant()
    response = admin_client_logged.post(reverse("admin:campaigns_campaign_add"), campaign_form(assistant))
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.allowed_days == ["monday", "friday"]
    assert campaign.status == Campaign.Status.DRAFT


def test_the_callback_and_per_outcome_interval_settings_are_on_the_form_in_their_fieldsets(admin_client_logged):
    assistant = make_assistant()
    page = admin_client_logged.get(reverse("admin:campaigns_campaign_add"))
    fieldsets = {fieldset.name: list(fieldset.fields) for fieldset in page.context["adminform"]}
    assert fieldsets["Callbacks"] == ["max_callbacks", "callback_horizon_days"]
    assert fieldsets["Retry interval per outcome"] == [
        "retry_interval_busy",
        "retry_interval_no_answer",
        "retry_interval_voicemail",
        "retry_interval_failed",
        "retry_interval_goal_incomplete",
    ]
    html = page.content.decode()
    assert "it does not use the number's retries" in html and "Leave one blank to use the retry interval" in html
    response = admin_client_logged.post(
        reverse("admin:campaigns_campaign_add"),
        campaign_form(assistant, max_callbacks="0", callback_horizon_days="7", retry_interval_busy="15"),
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.max_callbacks, campaign.callback_horizon_days) == (0, 7)
    assert (campaign.retry_interval_busy, campaign.retry_interval_no_answer) == (15, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_calls_in_parallel": "0"}, "max_calls_in_parallel"),
        ({"max_calls_in_parallel": "lots"}, "max_calls_in_parallel"),
        ({"max_retries": "11"}, "max_retries"),
        ({"max_retries": "-1"}, "max_retries"),
        ({"retry_interval": "5"}, "retry_interval"),
        ({"retry_interval": "4321"}, "retry_interval"),
        ({"allowed_hours_start": "25:00"}, "allowed_hours_start"),
        ({"allowed_hours_start": "19:00"}, "allowed_hours_end"),
        ({"allowed_days": []}, "allowed_days"),
        ({"allowed_days": ["caturday"]}, "allowed_days"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"default_country": "ZZ"}, "default_country"),
        ({"retry_on_goal_incomplete": "on"}, "goal_completion_variable"),
        ({"secondary_strategy": "random"}, "secondary_strategy"),
        ({"call_timeout": "0"}, "call_timeout"),
        ({"assistant": "999999"}, "assistant"),
        ({"max_callbacks": "21"}, "max_callbacks"),
        ({"max_callbacks": "-1"}, "max_callbacks"),
        ({"max_callbacks": ""}, "max_callbacks"),
        ({"callback_horizon_days": "0"}, "callback_horizon_days"),
        ({"callback_horizon_days": "366"}, "callback_horizon_days"),
        ({"callback_horizon_days": "9" * 30}, "callback_horizon_days"),
        ({"retry_interval_busy": "9"}, "retry_interval_busy"),
        ({"retry_interval_no_answer": "4321"}, "retry_interval_no_answer"),
        ({"retry_interval_voicemail": "soon"}, "retry_interval_voicemail"),
        ({"retry_interval_failed": "1e9"}, "retry_interval_failed"),
        ({"retry_interval_goal_incomplete": "<b>60</b>"}, "retry_interval_goal_incomplete"),
        ({"retry_interval_busy": "6\x000"}, "retry_interval_busy"),
        ({"max_callbacks": "3\x00"}, "max_callbacks"),
    ],
)
def test_malformed_campaign_settings_are_refused_on_the_form(admin_client_logged, changes, field):
    assistant = make_assistant()
    response = admin_client_logged.post(reverse("admin:campaigns_campaign_add"), campaign_form(assistant, **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Campaign.objects.exists()


def test_a_campaign_with_leads_cannot_be_deleted(admin_client_logged):
    campaign = make_campaign()
    make_lead(campaign=campaign)
    response = admin_client_logged.post(reverse("admin:campaigns_campaign_delete", args=[campaign.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_an_assistant_with_variables_is_created_from_its_page(admin_client_logged):
    data = {
        "name": "Receptionist",
        "timezone": "Europe/London",
        "variables-TOTAL_FORMS": "2",
        "variables-INITIAL_FORMS": "0",
        "variables-MIN_NUM_FORMS": "0",
        "variables-MAX_NUM_FORMS": "1000",
        "variables-0-position": "0",
        "variables-0-name": "customer_name",
        "variables-0-required": "on",
        "variables-1-position": "1",
        "variables-1-name": "Bad Name",
    }
    response = admin_client_logged.post(reverse("admin:campaigns_assistant_add"), data)
    assert response.status_code == 200  # the bad variable name is refused
    data["variables-1-name"] = "language"
    data["variables-1-default_value"] = "English"
    response = admin_client_logged.post(reverse("admin:campaigns_assistant_add"), data)
    assert response.status_code == 302


def dashboard_of(client, campaign):
    return client.get(reverse("admin:campaigns_campaign_dashboard", args=[campaign.pk]))


def test_the_dashboard_counts_leads_by_status_and_says_what_waits(admin_client_logged):
    campaign = make_campaign(max_calls_in_parallel=4)
    leads = [make_lead(campaign=campaign) for _ in range(4)]
    transitions.complete(Lead.objects.filter(pk=leads[0].pk), actor=Actor.system())
    page = admin_client_logged.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    dashboard = page.context["dashboard"]
    assert dashboard.total == 4 and dashboard.finished == 1 and dashboard.waiting == 3 and dashboard.progress == 25.0
    assert dashboard.next_due is not None and not dashboard.due_now and dashboard.in_flight == 0  # a draft
    assert {slug: n for slug, _, n, _ in dashboard.by_status if n} == {"created": 3, "completed": 1}
    assert 'id="campaign-dashboard"' in page.content.decode()

    services.campaign_start(campaign=campaign)
    services.campaign_complete(campaign_id=campaign.pk, reason="done")  # then leads are made dialable again
    fragment = dashboard_of(admin_client_logged, campaign).content.decode()
    assert "3 leads waiting to be dialled" in fragment


def test_the_dashboard_fragment_needs_permission_and_a_real_campaign(client, admin_client_logged, django_user_model):
    campaign = make_campaign()
    assert dashboard_of(admin_client_logged, campaign).status_code == 200
    assert admin_client_logged.get("/admin/campaigns/campaign/999999/dashboard/").status_code == 404
    assert admin_client_logged.get("/admin/campaigns/campaign/abc/dashboard/").status_code in (302, 404)
    staff = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(staff)
    assert dashboard_of(client, campaign).status_code == 403


def figures_of(client, campaign) -> str:
    html = dashboard_of(client, campaign).content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize(
    ("reason", "line"),
    [
        (None, "Paused by hand"),  # the Pause button's own reason
        ("Paused by the dialer: 10 dial errors in a row.", "Paused by the dialer: 10 dial errors in a row."),
        ("the line provider is down", "Paused: the line provider is down"),
    ],
)
def test_a_paused_campaigns_dashboard_says_why_once_and_that_no_call_is_due(admin_client_logged, reason, line):
    campaign = make_campaign()
    for _ in range(3):
        make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    assert "Next call: due now" in figures_of(admin_client_logged, campaign)
    if reason is None:
        services.campaign_pause(campaign=campaign)
    else:
        services.campaign_pause_by_dialer(campaign_id=campaign.pk, reason=reason)
    text = figures_of(admin_client_logged, campaign)
    assert f" {line} " in text
    assert "due now" not in text and "Next call: none while the campaign is paused" in text
    assert "3 leads wait for Resume" in text


def test_a_completed_or_draft_campaigns_dashboard_says_no_call_is_due(admin_client_logged):
    campaign = make_campaign()
    for _ in range(2):
        make_lead(campaign=campaign)
    text = figures_of(admin_client_logged, campaign)
    assert " Draft " in text and "Next call: none until the campaign is started" in text
    assert "2 leads wait for Start" in text and "due now" not in text
    services.campaign_start(campaign=campaign)
    services.campaign_complete(campaign_id=campaign.pk, reason="Completed by the dialer: no lead left to dial.")
    text = figures_of(admin_client_logged, campaign)
    assert " Completed by the dialer: no lead left to dial. " in text and "Completed Completed" not in text
    assert "Next call: none: the campaign is completed" in text and "due now" not in text


def test_the_campaigns_list_shows_each_campaigns_progress_bar_and_goals(admin_client_logged):
    spring, empty = make_campaign(name="Spring"), make_campaign(name="Empty")
    leads = [make_lead(campaign=spring) for _ in range(4)]
    transitions.complete(Lead.objects.filter(pk=leads[0].pk), actor=Actor.system())
    transitions.stop(Lead.objects.filter(pk=leads[1].pk), actor=Actor.system())
    make_call(leads[0], placed_at=timezone.now(), outcome="completed", goal_achieved=True)
    html = admin_client_logged.get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    assert 'aria-label="50.0% done: 2 of 4 leads (Completed 1, Max retries 1)"' in html
    assert '<span class="lead-status-completed" style="width: 25.00%"></span>' in html
    assert '<span class="lead-status-reached-max-retries" style="width: 25.00%"></span>' in html
    assert f'<span data-progress="{spring.pk}">50.0%</span>' in html
    assert 'aria-label="0.0% done: 0 of 0 leads"' in html and f'<span data-progress="{empty.pk}">0.0%</span>' in html
    goals = re.findall(r'<td class="field-goals">([^<]*)</td>', html)
    assert sorted(goals) == ["0", "1"]


def test_the_campaigns_list_counts_in_the_same_queries_for_more_campaigns(admin_client_logged):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_lead(campaign=make_campaign())
    url = reverse("admin:campaigns_campaign_changelist")
    admin_client_logged.get(url)
    cache.clear()
    with CaptureQueriesContext(connection) as one:
        admin_client_logged.get(url)
    for _ in range(5):
        make_lead(campaign=make_campaign())
    cache.clear()
    with CaptureQueriesContext(connection) as six:
        admin_client_logged.get(url)
    assert len(six) == len(one)
    # Counted within the minute: the next opening counts nothing.
    with CaptureQueriesContext(connection) as again:
        admin_client_logged.get(url)
    assert len(again) == len(six) - 2


def test_the_campaigns_list_shows_the_count_the_campaign_page_just_made(admin_client_logged):
    campaign = make_campaign(name="Spring")
    leads = [make_lead(campaign=campaign) for _ in range(2)]
    url = reverse("admin:campaigns_campaign_changelist")
    assert 'aria-label="0.0% done: 0 of 2 leads"' in admin_client_logged.get(url).content.decode()
    transitions.complete(Lead.objects.filter(pk=leads[0].pk), actor=Actor.system())
    # Within the minute the list keeps its count, and says when it was made ...
    html = admin_client_logged.get(url).content.decode()
    assert 'aria-label="0.0% done: 0 of 2 leads"' in html and "; counted at " in html and " UTC" in html
    # ... unless the campaign's page counted since.
    dashboard_of(admin_client_logged, campaign)
    html = admin_client_logged.get(url).content.decode()
    assert 'aria-label="50.0% done: 1 of 2 leads (Completed 1)"' in html


def test_the_campaign_page_shows_the_rates_the_chart_and_the_finish(admin_client_logged):
    campaign = make_campaign()
    make_lead(campaign=campaign)
    page = admin_client_logged.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    for text in ("Answer rate", "Goal rate", "Voicemail rate", "Average conversation", "Goals achieved"):
        assert f"<dt>{text}</dt>" in page
    assert page.count('class="hour-bar"') == 24
    assert "Finishes:" in page and "none until the campaign is started" in page


def test_start_asks_first_with_who_cannot_be_called_now(admin_client_logged):
    campaign = make_campaign(name="Autumn", allowed_days=["sunday"], requires_consent="express-written")
    make_lead(campaign=campaign, consent="express-written")
    make_lead(campaign=campaign, consent="express")
    Lead.objects.update(created_at=timezone.now() - datetime.timedelta(hours=1))
    url = reverse("admin:campaigns_campaign_start", args=[campaign.pk])

    response = admin_client_logged.get(url)

    text = re.sub(r"\s+", " ", strip_tags(response.content.decode()))
    assert response.status_code == 200 and "Start “Autumn”?" in text
    if timezone.now().weekday() != 6:  # a Sunday somewhere may be today
        assert "1 lead is outside its calling window now (next opens" in text
    assert "1 without express written consent, which this campaign requires" in text
    assert "How calling rules work" in text
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT  # asking starts nothing
    assert f"“{campaign.name}” is running." in messages_of(admin_client_logged.post(url, follow=True))


def test_the_start_confirmation_of_a_running_or_empty_campaign_says_so(admin_client_logged):
    empty = make_campaign()
    text = admin_client_logged.get(reverse("admin:campaigns_campaign_start", args=[empty.pk])).content.decode()
    assert "has no leads yet" in text and "Start the campaign" not in text
    running = make_campaign()
    make_lead(campaign=running)
    services.campaign_start(campaign=running)
    text = admin_client_logged.get(reverse("admin:campaigns_campaign_start", args=[running.pk])).content.decode()
    assert "is already running" in text and "Start the campaign" not in text


def test_the_calling_rules_list_shows_the_shipped_rule_with_its_window_days_and_caps(admin_client_logged):
    response = admin_client_logged.get(reverse("admin:campaigns_callingrule_changelist"))
    text = response.content.decode()
    assert response.status_code == 200
    assert "US and Canada: 8 am to 9 pm local time" in text and "08:00–21:00" in text
    assert "every day" in text and ">none<" in text
    page = admin_client_logged.get(reverse("admin:campaigns_callingrule_add")).content.decode()
    assert "tightest cap wins" in page
