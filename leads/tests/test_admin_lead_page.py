"""The lead's own page (leads/admin/lead_page.py): its buttons, its numbers now, its
results."""

import datetime
import re
import zoneinfo

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from campaigns.tests.factories import make_assistant, make_campaign
from leads import services, transitions
from leads.models import Contact, ContactStatus, DoNotCallNumber, Lead, LeadStatus, StatusChange
from leads.tests.factories import call_with_report, make_lead, phone
from leads.transitions import Actor, Report

pytestmark = pytest.mark.django_db

LIST = reverse("admin:leads_lead_changelist")
HOSTILE = '<script>window.xssRan=1</script><img src=x onerror="window.xssRan=2">'


def page_url(lead: Lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


def control_url(lead: Lead) -> str:
    return reverse("admin:leads_lead_control", args=[lead.pk])


def text_of(response) -> str:
    """The page as a reader sees it: no tags, spaces collapsed (entities kept)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def press(client, lead: Lead, action: str, **extra):
    """A button of the lead page, as its form posts it."""
    return client.post(control_url(lead), {"action": action, **extra}, follow=True)


def run_list_action(client, action: str, lead: Lead, **extra):
    """The same action from the leads list, on that lead ticked."""
    return client.post(LIST, {"action": action, "_selected_action": [lead.pk], **extra}, follow=True)


@pytest.fixture
def campaign():
    assistant = make_assistant(variables=[{"name": "customer_name", "required": True}])
    return make_campaign(assistant=assistant, default_country="US", timezone="America/Chicago")


def state_of(lead: Lead) -> dict:
    """Everything an action may change about a lead and its numbers, and its audit
    rows (but which lead they are)."""
    lead.refresh_from_db()
    return {
        "lead": (lead.status, lead.attempts, lead.next_attempt_at, lead.next_position, lead.dial_errors),
        "numbers": [(c.position, c.status, c.attempts) for c in Contact.objects.filter(lead=lead).order_by("position")],
        "numbers_listed": DoNotCallNumber.objects.filter(phone__in=lead.contacts.values("phone")).count(),
        "audit": [
            (s.from_status, s.to_status, s.source, s.actor_id, s.reason)
            for s in StatusChange.objects.filter(lead=lead, source=StatusChange.Source.ADMIN).order_by("id")
        ],
    }


def dialled_then_completed(campaign) -> Lead:
    """A Completed lead whose two numbers were dialled: something for every action to
    change (attempts to give back, a status to leave)."""
    lead = make_lead(campaign=campaign, secondaries=[phone()], variables={"customer_name": "Ana"})
    Contact.objects.filter(lead=lead).update(status=ContactStatus.REACHED_MAX_RETRIES, attempts=3)
    transitions.recount_attempts(Lead.objects.filter(pk=lead.pk))
    transitions.complete(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    return lead


def dialled_and_created(campaign) -> Lead:
    lead = make_lead(campaign=campaign, secondaries=[phone()], variables={"customer_name": "Ana"})
    Contact.objects.filter(lead=lead, position=0).update(status=ContactStatus.RESCHEDULED, attempts=1)
    transitions.recount_attempts(Lead.objects.filter(pk=lead.pk))
    return lead


TOMORROW = (timezone.now() + datetime.timedelta(days=1)).astimezone(zoneinfo.ZoneInfo("UTC"))
RESCHEDULE_AT = {"apply": "1", "when": "at", "at_0": TOMORROW.strftime("%Y-%m-%d"), "at_1": "10:30:00"}


# --- the buttons --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "make", "extra", "status", "message"),
    [
        ("reset_leads", dialled_then_completed, {}, LeadStatus.CREATED, "Reset 1 lead."),
        ("complete_leads", dialled_and_created, {}, LeadStatus.COMPLETED, "Completed 1 lead."),
        ("stop_leads", dialled_and_created, {}, LeadStatus.REACHED_MAX_RETRIES, "Stopped 1 lead."),
        ("reschedule_leads", dialled_then_completed, RESCHEDULE_AT, LeadStatus.RESCHEDULED, "Rescheduled 1 lead."),
        ("do_not_call", dialled_and_created, {"apply": "1"}, LeadStatus.BLACKLISTED, "Marked do not call: 1 lead."),
    ],
)
def test_each_button_moves_the_lead_exactly_as_the_list_action_does(
    admin_client_logged, admin_user, campaign, action, make, extra, status, message
):
    by_list, by_page = make(campaign), make(campaign)

    listed = run_list_action(admin_client_logged, action, by_list, **extra)
    pressed = press(admin_client_logged, by_page, action, **extra)

    assert message in messages_of(pressed)
    assert messages_of(pressed) == messages_of(listed)
    # Back on the lead's page, which shows the new status.
    assert pressed.redirect_chain[-1][0] == page_url(by_page)
    assert f'class="lead-status lead-status-{status}"' in pressed.content.decode()
    after = state_of(by_page)
    assert after == state_of(by_list)
    assert after["lead"][0] == status
    # One audit row, the operator's.
    assert [(row[1], row[2], row[3]) for row in after["audit"]] == [(status, "admin", admin_user.pk)]


def test_reschedule_asks_for_the_time_on_the_lists_own_form_which_posts_back_to_the_button(
    admin_client_logged, campaign
):
    lead = dialled_then_completed(campaign)
    asked = press(admin_client_logged, lead, "reschedule_leads")
    assert asked.templates[0].name == "admin/leads/action_form.html"
    html = asked.content.decode()
    assert 'name="at_0"' in html and 'name="at_1"' in html
    assert 'value="reschedule_leads"' in html
    assert "This applies to <strong>1</strong> lead" in html
    assert state_of(lead)["lead"][0] == LeadStatus.COMPLETED
    # The form posts to where it came from: the button's own address.
    assert asked.wsgi_request.path == control_url(lead)

    answered = press(admin_client_logged, lead, "reschedule_leads", **RESCHEDULE_AT)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.RESCHEDULED
    expected = datetime.datetime.combine(TOMORROW.date(), datetime.time(10, 30), tzinfo=timezone.get_current_timezone())
    assert lead.next_attempt_at == expected
    assert "Rescheduled 1 lead." in messages_of(answered)


def test_the_questions_cancel_returns_to_the_lead(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign)
    response = admin_client_logged.get(control_url(lead))
    assert response.status_code == 302 and response.url == page_url(lead)


def test_do_not_call_confirms_first_then_lists_every_number(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign, secondaries=[phone()])
    asked = press(admin_client_logged, lead, "do_not_call")
    assert asked.templates[0].name == "admin/leads/action_form.html"
    assert not DoNotCallNumber.objects.exists()
    done = press(admin_client_logged, lead, "do_not_call", apply="1")
    assert "2 numbers added to the do-not-call list." in messages_of(done)
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.BLACKLISTED


@pytest.mark.parametrize(
    ("action", "start", "message"),
    [
        ("reset_leads", None, "Reset 0 leads. Skipped 1: 1 already created."),
        ("complete_leads", "complete", "Completed 0 leads. Skipped 1: 1 already completed."),
        ("stop_leads", "complete", "Stopped 0 leads. Skipped 1: 1 already completed."),
        ("stop_leads", "stop", "Stopped 0 leads. Skipped 1: 1 already stopped (max retries)."),
    ],
)
def test_a_button_the_status_makes_pointless_changes_nothing_and_says_why_as_the_list_does(
    admin_client_logged, campaign, action, start, message
):
    lead = make_lead(campaign=campaign)
    if start:
        getattr(transitions, start)(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    before = state_of(lead)
    response = press(admin_client_logged, lead, action)
    assert message in messages_of(response)
    assert messages_of(response) == messages_of(run_list_action(admin_client_logged, action, lead))
    assert state_of(lead) == before


def test_reschedule_of_a_lead_without_a_number_to_dial_says_so(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign)
    Contact.objects.filter(lead=lead).update(
        status=ContactStatus.REACHED_MAX_RETRIES, last_outcome="invalid-number", attempts=1
    )
    transitions.stop(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    response = press(admin_client_logged, lead, "reschedule_leads", **RESCHEDULE_AT)
    assert "Rescheduled 0 leads. Skipped 1: 1 no number left that could be dialled." in messages_of(response)
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.REACHED_MAX_RETRIES


@pytest.mark.parametrize(
    ("action", "extra"),
    [
        ("reset_leads", {}),
        ("complete_leads", {}),
        ("stop_leads", {}),
        ("reschedule_leads", RESCHEDULE_AT),
        ("do_not_call", {"apply": "1"}),
    ],
)
def test_every_button_skips_a_lead_in_a_call_saying_a_call_is_in_progress(admin_client_logged, campaign, action, extra):
    lead = make_lead(campaign=campaign)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.PROCESSING)  # the dialer claimed it meanwhile
    before = state_of(lead)
    response = press(admin_client_logged, lead, action, **extra)
    assert any("Skipped 1: 1 a call is in progress." in m for m in messages_of(response))
    assert state_of(lead) == before
    assert not DoNotCallNumber.objects.exists()


def test_the_buttons_of_a_lead_in_a_call_are_disabled_and_say_a_call_is_in_progress(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.PROCESSING)
    html = admin_client_logged.get(page_url(lead)).content.decode()
    controls = html[html.index('id="lead-controls"') :]
    assert "A call is in progress" in controls
    buttons = re.findall(r"<button[^>]*>[^<]*</button>", controls)
    assert len(buttons) == 5
    assert all("disabled" in button for button in buttons)


def test_the_buttons_of_a_do_not_call_lead_are_disabled_and_say_why(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign)
    services.do_not_call_leads(leads=Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    html = admin_client_logged.get(page_url(lead)).content.decode()
    assert "Every number of this lead is on the do-not-call list" in html
    buttons = re.findall(r"<button[^>]*>[^<]*</button>", html[html.index('id="lead-controls"') :])
    assert len(buttons) == 5 and all("disabled" in button for button in buttons)


def test_the_buttons_of_a_lead_that_can_move_are_enabled_and_named_as_on_the_list(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign)
    html = admin_client_logged.get(page_url(lead)).content.decode()
    controls = html[html.index('id="lead-controls"') :]
    labels = re.findall(r"<button[^>]*>([^<]*)</button>", controls)
    assert labels == ["Reset", "Complete", "Reschedule…", "Stop", "Do not call…"]
    assert "disabled" not in "".join(re.findall(r"<button[^>]*>", controls))
    assert 'title="Reset: back to Created with fresh attempts"' in controls
    # Each is its own POST with the CSRF token, outside the lead's form.
    assert controls.count('name="csrfmiddlewaretoken"') >= 5
    assert html.index('id="lead-controls"') < html.index('id="lead_form"')


def test_the_buttons_keep_the_lists_filters_to_return_to(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign)
    filters = "_changelist_filters=status%3Dcreated"
    html = admin_client_logged.get(page_url(lead) + "?" + filters).content.decode()
    assert f'action="{control_url(lead)}?{filters}"' in html
    response = admin_client_logged.post(control_url(lead) + "?" + filters, {"action": "complete_leads"})
    assert response.url == page_url(lead) + "?" + filters


# --- who may press them -------------------------------------------------------------


def test_a_view_only_user_sees_no_button(viewer, campaign):
    lead = make_lead(campaign=campaign)
    response = viewer.get(page_url(lead))
    assert response.status_code == 200
    assert "lead-controls" not in response.content.decode()


@pytest.mark.parametrize("action", ["reset_leads", "complete_leads", "stop_leads", "reschedule_leads", "do_not_call"])
def test_a_forged_post_of_a_view_only_user_is_refused(viewer, campaign, action):
    lead = dialled_then_completed(campaign) if action == "reset_leads" else make_lead(campaign=campaign)
    before = state_of(lead)
    extra = {"reschedule_leads": RESCHEDULE_AT, "do_not_call": {"apply": "1"}}.get(action, {})
    response = viewer.post(control_url(lead), {"action": action, **extra})
    assert response.status_code == 403
    assert state_of(lead) == before
    assert viewer.get(control_url(lead)).status_code == 403


def test_a_post_without_the_csrf_token_is_refused(admin_user, campaign):
    lead = make_lead(campaign=campaign)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(control_url(lead), {"action": "complete_leads"})
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CREATED


def test_a_user_who_may_change_leads_has_the_buttons(client, django_user_model, campaign):
    user = django_user_model.objects.create_user("changer", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_lead", "change_lead", "view_campaign", "view_contact"])
    )
    client.force_login(user)
    lead = make_lead(campaign=campaign)
    assert "lead-controls" in client.get(page_url(lead)).content.decode()
    assert "Completed 1 lead." in messages_of(press(client, lead, "complete_leads"))


# --- what the buttons are sent ------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    ["move_to_campaign", "delete_selected", HOSTILE, "reset_leads\x00", "", "__class__", "x" * 10_000],
)
def test_an_action_that_is_no_button_changes_nothing_and_says_so(admin_client_logged, campaign, action):
    lead = make_lead(campaign=campaign)
    response = press(admin_client_logged, lead, action, campaign=str(make_campaign().pk), apply="1")
    assert response.status_code == 200
    assert "That is not one of the lead page's buttons; nothing was changed." in messages_of(response)
    assert HOSTILE not in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).campaign_id == campaign.pk


@pytest.mark.parametrize("object_id", ["abc", "99999999999999999999999", "-1", "0", "1.5", "١٢", "%00"])
def test_a_button_for_a_lead_that_is_not_there_is_a_redirect_not_an_error(admin_client_logged, object_id):
    response = admin_client_logged.post(f"/admin/leads/lead/{object_id}/control/", {"action": "reset_leads"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "answer",
    [
        {"when": "at"},
        {"when": "at", "at_0": "not a date", "at_1": "10:00"},
        {"when": "at", "at_0": "2001-01-01", "at_1": "10:00"},
        {"when": "at", "at_0": HOSTILE, "at_1": "\x00"},
        {"when": "at", "at_0": "99999-12-31", "at_1": "25:61"},
        {"when": HOSTILE},
    ],
)
def test_reschedule_with_a_malformed_time_changes_nothing_and_asks_again(admin_client_logged, campaign, answer):
    lead = make_lead(campaign=campaign)
    response = press(admin_client_logged, lead, "reschedule_leads", apply="1", **answer)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert HOSTILE not in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CREATED


# --- its numbers now ----------------------------------------------------------------


def test_each_number_shows_its_local_time_now_naming_the_zone_and_where_it_came_from(admin_client_logged, campaign):
    own = make_lead(campaign=campaign, timezone="Asia/Tokyo", secondaries=[phone()])
    inherits = make_lead(campaign=campaign, secondaries=[phone()])
    now = timezone.now()

    html = text_of(admin_client_logged.get(page_url(own)))
    tokyo = now.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    shown = re.findall(r"(\w{3} \d{2} \w{3} \d{2}:\d{2}) JST \(Asia/Tokyo, the lead&#x27;s zone\)", html)
    assert len(shown) == 2  # the primary number and the secondary
    for text in shown:
        local = datetime.datetime.strptime(f"{tokyo.year} {text}", "%Y %a %d %b %H:%M")
        assert abs(local - tokyo.replace(tzinfo=None, second=0, microsecond=0)) <= datetime.timedelta(minutes=1)

    # The factory's numbers are New Jersey's (+1 201): their prefix names the zone.
    html = text_of(admin_client_logged.get(page_url(inherits)))
    assert html.count("(America/New_York, the number&#x27;s zone)") == 2
    assert re.search(r"\d{2}:\d{2} E[SD]T \(America/New_York", html)
    # A number whose prefix names no zone (international freephone) is read in the campaign's.
    freephone = make_lead(campaign=campaign, primary="+80012345678")
    html = text_of(admin_client_logged.get(page_url(freephone)))
    assert "(America/Chicago, the campaign&#x27;s zone)" in html


def test_a_number_on_the_do_not_call_list_is_marked_with_the_entrys_reason_source_and_date(
    admin_client_logged, campaign
):
    listed_primary, listed_secondary, free = "+14155550101", "+12125550102", "+13055550103"
    lead = make_lead(campaign=campaign, primary=listed_primary, secondaries=[listed_secondary, free])
    services.do_not_call_add(phones=[listed_primary], reason="asked us " + HOSTILE, actor=Actor.system())
    services.do_not_call_add(phones=[listed_secondary], reason="", actor=Actor.system())
    entry = DoNotCallNumber.objects.get(phone=listed_primary)
    local = timezone.localtime(entry.created_at)

    response = admin_client_logged.get(page_url(lead))
    html = response.content.decode()
    assert HOSTILE not in html
    text = text_of(response)
    primary_line = re.search(r"Primary number now: (.*?) customer_name", text).group(1)
    assert "On the do-not-call list since " + f"{local:%Y-%m-%d %H:%M} {local.tzname()}" in primary_line
    assert entry.get_source_display() in primary_line
    assert "asked us &lt;script&gt;" in primary_line
    rows = re.findall(r'<tr class="form-row has_original"[^>]*id="contacts-\d+".*?</tr>', html, re.S)
    assert len(rows) == 2
    assert "On the do-not-call list" in rows[0] and listed_secondary in rows[0]
    assert "On the do-not-call list" not in rows[1] and free in rows[1]


def test_the_lead_page_costs_the_same_queries_whatever_its_number_count_and_history(admin_client_logged, campaign):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few = make_lead(campaign=campaign)
    many = make_lead(campaign=campaign, secondaries=[phone() for _ in range(10)])
    services.do_not_call_add(phones=list(many.contacts.values_list("phone", flat=True)), actor=Actor.system())
    services.do_not_call_add(phones=[few.contacts.get().phone], actor=Actor.system())
    for _ in range(5):  # and a longer history
        services.do_not_call_remove(phones=[many.contacts.get(position=0).phone], actor=Actor.system())
        services.do_not_call_add(phones=[many.contacts.get(position=0).phone], actor=Actor.system())
    assert many.status_changes.count() > 10
    admin_client_logged.get(page_url(few))  # the session, the content types: warmed up

    with CaptureQueriesContext(connection) as one:
        assert admin_client_logged.get(page_url(few)).status_code == 200
    with CaptureQueriesContext(connection) as eleven:
        assert admin_client_logged.get(page_url(many)).status_code == 200
    assert len(eleven) == len(one) < 50


# --- its results --------------------------------------------------------------------


def results_of(response) -> str:
    html = response.content.decode()
    start = html.index('class="module aligned lead-results')
    return html[start : html.index("</fieldset>", start)]


def test_the_results_section_shows_what_the_conversation_found_out_escaped(admin_client_logged, campaign):

    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    call = call_with_report(
        lead,
        Report(
            outcome="completed",
            duration_seconds=125,
            goal_achieved=True,
            extracted_variables={"booked": True, "slot": "Tue 10:00", "note " + HOSTILE: HOSTILE, "seats": 2},
            summary="Booked.\nCalls back " + HOSTILE,
            recording_url='https://rec.example/a.mp3?x=1&y="><script>',
            disposition="interested " + HOSTILE[:40],
        ),
    )
    response = admin_client_logged.get(page_url(lead))
    html = response.content.decode()
    assert "<script>window.xssRan" not in html and "<img src=x" not in html
    section = results_of(response)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))
    assert "Goal achieved: Yes" in text
    assert "Disposition: interested &lt;script&gt;" in text
    assert "Booked. Calls back &lt;script&gt;" in text
    assert "Duration: 2 min 05 s" in text
    assert (
        '<audio controls preload="none" src="https://rec.example/a.mp3?x=1&amp;y=&quot;&gt;&lt;script&gt;">' in section
    )
    rows = dict(re.findall(r"<tr><th scope='row'>(.*?)</th><td>(.*?)</td></tr>", section))
    assert rows == {"booked": "true", "slot": "Tue 10:00", escape("note " + HOSTILE): escape(HOSTILE), "seats": "2"}
    assert f'href="{reverse("admin:leads_call_change", args=[call.pk])}"' in section
    assert "Callback pending: —" in text and "Opted out: —" in text


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:audio/mp3;base64,AAAA", "//evil.example/a.mp3", "ftp://x/a.mp3", "http://", " "],
)
def test_a_recording_that_is_no_http_address_is_shown_as_text_never_played(admin_client_logged, campaign, url):

    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    call_with_report(lead, Report(outcome="completed", recording_url=url))
    section = results_of(admin_client_logged.get(page_url(lead)))
    assert "<audio" not in section and 'href="javascript' not in section and 'src="data' not in section


def test_a_pending_callback_is_shown_in_the_numbers_local_time_naming_the_zone(admin_client_logged, campaign):

    lead = make_lead(campaign=campaign, primary="+13125550199", variables={"customer_name": "Ana"})  # Chicago
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    at = datetime.datetime.combine(timezone.now().astimezone(chicago).date(), datetime.time(15, 0), tzinfo=chicago)
    at += datetime.timedelta(days=2)
    call_with_report(lead, Report(outcome="completed", goal_achieved=False, callback_at=at))
    lead.refresh_from_db()
    assert lead.callback_at == at
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", results_of(admin_client_logged.get(page_url(lead)))))
    local = at.astimezone(chicago)
    assert (
        f"Callback pending: {local:%a %d %b} 15:00 {local.tzname()} (America/Chicago, the number&#x27;s zone)" in text
    )
    mine = timezone.localtime(at)
    assert f"(your time: {mine:%Y-%m-%d %H:%M} {mine.tzname()})" in text


def test_an_opt_out_on_a_call_shows_when_and_marks_the_numbers_with_the_call(admin_client_logged, campaign):

    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"}, secondaries=[phone()])
    call = call_with_report(lead, Report(outcome="completed", opt_out=True))
    lead.refresh_from_db()
    assert lead.status == LeadStatus.BLACKLISTED and lead.opted_out_at is not None
    response = admin_client_logged.get(page_url(lead))
    text = text_of(response)
    assert f"Opted out: {timezone.localtime(lead.opted_out_at):%Y-%m-%d %H:%M}" in text
    html = response.content.decode()
    call_link = f'<a href="{reverse("admin:leads_call_change", args=[call.pk])}">the call</a>'
    assert html.count(call_link) == 2  # the primary number and the secondary
    assert DoNotCallNumber.Source.CALL.label in text
    assert "Every number of this lead is on the do-not-call list" in html


def test_a_lead_without_a_conversation_has_an_empty_results_section(admin_client_logged, viewer, campaign):
    lead = make_lead(campaign=campaign)
    for client in (admin_client_logged, viewer):
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", results_of(client.get(page_url(lead)))))
        assert "Goal achieved: Unknown" in text
        for label in ["Disposition", "Summary", "Duration", "Recording", "Callback pending", "Opted out", "Results"]:
            assert f"{label}: —" in text, label
        assert "Conversation: —" in text


def test_many_or_long_results_are_shown_bounded(admin_client_logged, campaign):

    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    values = {f"name_{i:03d}": "x" * 5000 if i == 0 else i for i in range(150)}
    call_with_report(lead, Report(outcome="completed", extracted_variables=values))
    section = results_of(admin_client_logged.get(page_url(lead)))
    assert section.count("<tr><th scope='row'>") == 100
    assert "and 50 more" in section
    assert "x" * 1000 + "…" in section and "x" * 1001 not in section


def test_the_zone_is_said_to_be_the_leads_own_when_it_has_one_even_if_the_campaign_has_the_same(
    admin_client_logged, campaign
):
    lead = make_lead(campaign=campaign, timezone="America/Chicago")
    assert "(America/Chicago, the lead&#x27;s zone)" in text_of(admin_client_logged.get(page_url(lead)))
