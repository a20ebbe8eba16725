import datetime
import re

import pytest
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from campaigns.tests.factories import make_assistant, make_campaign
from leads import selectors, services, transitions
from leads.models import Contact, ContactStatus, DoNotCallNumber, ExportRecord, Lead, LeadStatus, StatusChange
from leads.tests.factories import bulk_leads, make_lead, pass_at_any_hour, phone, set_results
from leads.transitions import Actor

pytestmark = pytest.mark.django_db

LIST = reverse("admin:leads_lead_changelist")
ADD = reverse("admin:leads_lead_add")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def run_action(client, action: str, *, leads=(), select_across=False, query: str = "", **extra):
    data = {"action": action, "_selected_action": [lead.pk for lead in leads], **extra}
    if select_across:
        data["select_across"] = "1"
    return client.post(LIST + query, data, follow=True)


@pytest.fixture
def campaign():
    assistant = make_assistant(
        variables=[
            {"name": "customer_name", "required": True},
            {"name": "appointment_type", "default_value": "check-up"},
        ]
    )
    return make_campaign(assistant=assistant, default_country="US")


# --- list ---------------------------------------------------------------------------


def test_list_shows_number_variables_and_status_badge(admin_client_logged, campaign):
    make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana López"})
    response = admin_client_logged.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "+14155550101" in html
    assert "Ana López" in html
    assert 'class="lead-status lead-status-created"' in html


def test_list_shows_each_leads_results_short_and_escaped(admin_client_logged, campaign):
    booked = make_lead(campaign=campaign, primary="+14155550101")
    set_results(
        booked,
        results={"appointment_booked": True, "notes": "<script>alert(1)</script> " + "x" * 300},
        goal_achieved=True,
        disposition="booked",
    )
    set_results(make_lead(campaign=campaign, primary="+14155550102"), goal_achieved=False, disposition="<b>no</b>")
    make_lead(campaign=campaign, primary="+14155550103")
    html = admin_client_logged.get(LIST).content.decode()
    assert "<script>alert(1)" not in html and "<b>no</b>" not in html
    cells = re.findall(r'<td class="field-results_summary">(.*?)</td>', html, re.S)
    assert cells[0] == "—"  # never reached: nothing found out
    assert cells[1] == '<span title="goal ✗ · &lt;b&gt;no&lt;/b&gt;">goal ✗ · &lt;b&gt;no&lt;/b&gt;</span>'
    title, shown = re.fullmatch(r'<span title="(.*)">(.*)</span>', cells[2]).groups()
    assert title.startswith("goal ✓ · booked · appointment_booked: true, notes: &lt;script&gt;") and len(title) < 400
    assert shown.startswith("goal ✓ · booked · appointment_booked:") and shown.endswith("…")
    assert len(shown) <= 40  # the list fits a 1440-pixel screen


def test_list_page_costs_the_same_number_of_queries_for_10_or_100_leads(
    admin_client_logged, campaign, django_assert_max_num_queries
):
    for _ in range(10):
        make_lead(campaign=campaign, secondaries=[phone()])
    with django_assert_max_num_queries(12) as few:
        admin_client_logged.get(LIST)
    for _ in range(90):
        make_lead(campaign=campaign)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client_logged.get(LIST)


@pytest.mark.parametrize("query", ["4155550101", "+1415555", "(415) 555-0101", "555-01", "+1 415"])
def test_search_finds_a_lead_by_any_part_of_any_of_its_numbers(admin_client_logged, campaign, query):
    found = make_lead(campaign=campaign, primary=phone(), secondaries=["+14155550101"])
    make_lead(campaign=campaign, primary="+12125550199")
    response = admin_client_logged.get(LIST, {"q": query})
    shown = {lead.pk for lead in response.context["cl"].result_list}
    assert found.pk in shown
    if query not in ("555-01",):
        assert len(shown) == 1


@pytest.mark.parametrize("query", ["garcía", "GARCÍA", "Dental"])
def test_search_finds_a_lead_by_a_variable_value(admin_client_logged, campaign, query):
    found = make_lead(campaign=campaign, variables={"customer_name": "María García", "company": "Acme Dental"})
    make_lead(campaign=campaign, variables={"customer_name": "Ben Becker"})
    response = admin_client_logged.get(LIST, {"q": query})
    assert [lead.pk for lead in response.context["cl"].result_list] == [found.pk]


def test_search_matches_values_not_variable_names(admin_client_logged, campaign):
    make_lead(campaign=campaign, variables={"customer_name": "Ben"})
    response = admin_client_logged.get(LIST, {"q": "customer"})
    assert list(response.context["cl"].result_list) == []


def test_filters_by_campaign_status_dates_and_secondary_numbers(admin_client_logged, campaign):
    other = make_campaign()
    with_secondary = make_lead(campaign=campaign, secondaries=[phone()])
    completed = make_lead(campaign=campaign)
    transitions.complete(Lead.objects.filter(pk=completed.pk), actor=Actor.system())
    make_lead(campaign=other)
    old = make_lead(campaign=campaign)
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=30))

    def shown(params):
        response = admin_client_logged.get(LIST, params)
        assert response.status_code == 200
        return {lead.pk for lead in response.context["cl"].result_list}

    assert shown({"campaign": campaign.pk}) == {with_secondary.pk, completed.pk, old.pk}
    assert shown({"campaign": campaign.pk, "status": "completed"}) == {completed.pk}
    assert shown({"campaign": campaign.pk, "status": ["completed", "created"]}) == {
        with_secondary.pk,
        completed.pk,
        old.pk,
    }
    assert shown({"has_secondary": "true"}) == {with_secondary.pk}
    today = timezone.localdate().isoformat()
    assert old.pk not in shown({"created_from": today, "created_to": today})
    assert shown({"created_to": (timezone.localdate() - datetime.timedelta(days=29)).isoformat()}) == {old.pk}


@pytest.mark.parametrize(
    "params",
    [
        {"created_from": "yesterday"},
        {"created_to": "2026-13-45"},
        {"status": "nonsense"},
        {"campaign": "abc"},
        {"has_secondary": "maybe"},
        {"attempts_min": "lots"},
        {"variable": "a__contains", "value": "x"},
        {"created_at__gte": "2026-01-01"},
        {"bogus__lookup": "1"},
        {"q": "x" * 5000},
        {"q": "%_\\'\"; DROP TABLE leads_lead; --"},
        {"o": "999"},
        {"p": "-1"},
        {"p": "999999"},
    ],
)
def test_malformed_list_parameters_never_give_a_server_error(admin_client_logged, campaign, params):
    make_lead(campaign=campaign)
    response = admin_client_logged.get(LIST, params)
    assert response.status_code in (200, 302)


# --- actions ------------------------------------------------------------------------


def test_reset_action_on_ticked_leads_reports_moved_and_skipped(admin_client_logged, campaign, admin_user):
    leads = [make_lead(campaign=campaign) for _ in range(3)]
    transitions.complete(Lead.objects.filter(pk__in=[lead.pk for lead in leads[:2]]), actor=Actor.system())

    response = run_action(admin_client_logged, "reset_leads", leads=leads)

    assert "Reset 2 leads. Skipped 1: 1 already created." in messages_of(response)
    audit = StatusChange.objects.filter(to_status=LeadStatus.CREATED)
    assert audit.count() == 2
    assert set(audit.values_list("actor", "source")) == {(admin_user.pk, "admin")}


def test_select_all_acts_on_every_lead_the_filters_match_not_only_the_page(admin_client_logged, campaign):
    other = make_campaign()
    for _ in range(120):  # more than one page of 100
        make_lead(campaign=campaign)
    untouched = make_lead(campaign=other)
    page = list(Lead.objects.filter(campaign=campaign)[:100])

    response = run_action(
        admin_client_logged,
        "complete_leads",
        leads=page,
        select_across=True,
        query=f"?campaign={campaign.pk}",
        apply="1",
    )

    assert "Completed 120 leads." in messages_of(response)
    assert Lead.objects.filter(campaign=campaign, status=LeadStatus.COMPLETED).count() == 120
    untouched.refresh_from_db()
    assert untouched.status == LeadStatus.CREATED


def test_select_all_with_a_search_acts_on_the_search_results_only(admin_client_logged, campaign):
    match = make_lead(campaign=campaign, variables={"customer_name": "Zed"})
    other = make_lead(campaign=campaign, variables={"customer_name": "Ann"})
    run_action(admin_client_logged, "stop_leads", leads=[match], select_across=True, query="?q=zed", apply="1")
    assert Lead.objects.get(pk=match.pk).status == LeadStatus.REACHED_MAX_RETRIES
    assert Lead.objects.get(pk=other.pk).status == LeadStatus.CREATED


def test_reschedule_asks_for_a_time_then_applies_it(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign)
    first = run_action(admin_client_logged, "reschedule_leads", leads=[lead])
    assert first.templates[0].name == "admin/leads/action_form.html"
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CREATED

    at = timezone.localtime() + datetime.timedelta(days=1)
    response = run_action(
        admin_client_logged,
        "reschedule_leads",
        leads=[lead],
        apply="1",
        when="at",
        at_0=at.strftime("%Y-%m-%d"),
        at_1=at.strftime("%H:%M:%S"),
    )

    lead.refresh_from_db()
    assert "Rescheduled 1 lead." in messages_of(response)
    assert lead.status == LeadStatus.RESCHEDULED
    assert abs(lead.next_attempt_at - at) < datetime.timedelta(seconds=1)


def test_reschedule_by_default_waits_each_campaigns_retry_interval(admin_client_logged, campaign):
    other = make_campaign(retry_interval=240)
    here, there = make_lead(campaign=campaign), make_lead(campaign=other)
    before = timezone.now()
    run_action(admin_client_logged, "reschedule_leads", leads=[here, there], apply="1", when="interval")
    here.refresh_from_db()
    there.refresh_from_db()
    assert here.next_attempt_at - before == pytest.approx(
        datetime.timedelta(minutes=60), abs=datetime.timedelta(seconds=30)
    )
    assert there.next_attempt_at - before == pytest.approx(
        datetime.timedelta(minutes=240), abs=datetime.timedelta(seconds=30)
    )


@pytest.mark.parametrize(
    "form",
    [
        {"when": "at"},
        {"when": "at", "at_0": "not a date", "at_1": "10:00"},
        {"when": "at", "at_0": "2001-01-01", "at_1": "10:00"},
        {"when": "tomorrow-ish"},
        {},
    ],
)
def test_reschedule_with_a_malformed_or_past_time_changes_nothing_and_says_why(admin_client_logged, campaign, form):
    lead = make_lead(campaign=campaign)
    response = run_action(admin_client_logged, "reschedule_leads", leads=[lead], apply="1", **form)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CREATED


def test_move_to_campaign_asks_which_campaign(admin_client_logged, campaign):
    target = make_campaign()
    lead = make_lead(campaign=campaign)
    bad = run_action(admin_client_logged, "move_to_campaign", leads=[lead], apply="1", campaign="999999")
    assert bad.context["form"].errors
    response = run_action(admin_client_logged, "move_to_campaign", leads=[lead], apply="1", campaign=str(target.pk))
    assert f"Moved to “{target.name}”: 1 lead." in messages_of(response)
    assert Lead.objects.get(pk=lead.pk).campaign == target


def test_do_not_call_action_confirms_then_lists_the_numbers(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign, secondaries=[phone()])
    run_action(admin_client_logged, "do_not_call", leads=[lead])
    assert not DoNotCallNumber.objects.exists()
    response = run_action(admin_client_logged, "do_not_call", leads=[lead], apply="1")
    assert "2 numbers added to the do-not-call list." in messages_of(response)
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.BLACKLISTED


# --- confirmations of large selections ------------------------------------------------


def skips_shown(response) -> tuple[int, list[tuple[str, int]]]:
    """The count and the skips (reason, count) a confirmation page shows."""
    skips = response.context["skips"]
    return response.context["count"], [(reason, count) for reason, count in skips["skipped"]] if skips else None


def statuses(leads) -> list[str]:
    return list(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).order_by("pk").values_list("status", flat=True))


@pytest.mark.parametrize(
    ("action", "skips", "message"),
    [
        (
            "reset_leads",
            [("already created", 2), ("a call is in progress", 1), ("on the do-not-call list", 1)],
            "Reset 3 leads. Skipped 4: 1 a call is in progress, 1 on the do-not-call list, 2 already created.",
        ),
        (
            "complete_leads",
            [("already completed", 2), ("a call is in progress", 1), ("on the do-not-call list", 1)],
            "Completed 3 leads. Skipped 4: 1 a call is in progress, 1 on the do-not-call list, 2 already completed.",
        ),
        (
            "stop_leads",
            [
                ("already completed", 2),
                ("a call is in progress", 1),
                ("on the do-not-call list", 1),
                ("already stopped (max retries)", 1),
            ],
            "Stopped 2 leads. Skipped 5: 1 a call is in progress, 1 on the do-not-call list, 2 already completed, "
            "1 already stopped (max retries).",
        ),
    ],
)
def test_select_all_asks_first_with_the_count_and_the_skips_then_runs(
    admin_client_logged, campaign, action, skips, message
):
    created = [make_lead(campaign=campaign) for _ in range(2)]
    completed = [make_lead(campaign=campaign) for _ in range(2)]
    transitions.complete(Lead.objects.filter(pk__in=[lead.pk for lead in completed]), actor=Actor.system())
    stopped = make_lead(campaign=campaign)
    transitions.stop(Lead.objects.filter(pk=stopped.pk), actor=Actor.system())
    in_call = make_lead(campaign=campaign)
    Lead.objects.filter(pk=in_call.pk).update(status=LeadStatus.PROCESSING)
    listed = make_lead(campaign=campaign)
    services.do_not_call_leads(leads=Lead.objects.filter(pk=listed.pk), actor=Actor.system())
    outside = make_lead(campaign=make_campaign())
    everyone = [*created, *completed, stopped, in_call, listed, outside]
    before = statuses(everyone)
    post = {"leads": created[:1], "select_across": True, "query": f"?campaign={campaign.pk}"}

    page = run_action(admin_client_logged, action, **post)

    assert page.templates[0].name == "admin/leads/action_form.html"
    assert skips_shown(page) == (7, skips)
    html = page.content.decode()
    assert "This applies to <strong>7</strong> leads (every lead matching the list's filters and search)" in html
    assert all(f"<li>{count} {reason}</li>" in html for reason, count in skips)
    assert statuses(everyone) == before  # nothing moved yet

    done = run_action(admin_client_logged, action, apply="1", **post)

    assert messages_of(done) == [message]
    moved = 7 - sum(count for _, count in skips)
    assert sum(old != new for old, new in zip(before, statuses(everyone), strict=True)) == moved


def test_more_than_100_ticked_leads_ask_first_and_100_do_not(admin_client_logged, campaign):
    leads = bulk_leads(campaign, 101)
    transitions.complete(Lead.objects.all(), actor=Actor.system())

    asked = run_action(admin_client_logged, "reset_leads", leads=leads)
    assert asked.templates[0].name == "admin/leads/action_form.html"
    assert skips_shown(asked) == (101, [])
    assert "It will skip none of them." in asked.content.decode()
    assert not Lead.objects.filter(status=LeadStatus.CREATED).exists()

    done = run_action(admin_client_logged, "reset_leads", leads=leads[:100])
    assert "Reset 100 leads." in messages_of(done)


def test_reschedule_shows_its_skips_before_asking_for_a_time(admin_client_logged, campaign):
    fine = make_lead(campaign=campaign)
    invalid = make_lead(campaign=campaign)
    Contact.objects.filter(lead=invalid).update(status=ContactStatus.REACHED_MAX_RETRIES, last_outcome="invalid-number")
    page = run_action(admin_client_logged, "reschedule_leads", leads=[fine, invalid])
    assert skips_shown(page) == (2, [("no number left that could be dialled", 1)])
    assert "<li>1 no number left that could be dialled</li>" in page.content.decode()


def test_do_not_call_shows_its_skips(admin_client_logged, campaign):
    listed = make_lead(campaign=campaign)
    services.do_not_call_leads(leads=Lead.objects.filter(pk=listed.pk), actor=Actor.system())
    page = run_action(admin_client_logged, "do_not_call", leads=[listed, make_lead(campaign=campaign)])
    assert skips_shown(page) == (2, [("already do not call", 1)])


def test_a_large_move_shows_the_skips_of_the_chosen_campaign_before_it_runs(admin_client_logged, campaign):
    target = make_campaign(default_country="US")
    leads = bulk_leads(campaign, 3)
    primary = Contact.objects.get(lead=leads[0], position=0).phone
    make_lead(campaign=target, primary=primary)  # the target has the first lead's number
    post = {"leads": leads[:1], "select_across": True, "query": f"?campaign={campaign.pk}"}

    first = run_action(admin_client_logged, "move_to_campaign", **post)
    assert skips_shown(first) == (3, [])
    assert "the next page counts them" in first.content.decode()

    chosen = run_action(admin_client_logged, "move_to_campaign", apply="1", campaign=str(target.pk), **post)
    assert chosen.templates[0].name == "admin/leads/action_form.html"
    assert skips_shown(chosen) == (3, [("its number is already in that campaign", 1)])
    assert chosen.context["previewed"] == f"campaign={target.pk}"
    assert not Lead.objects.filter(campaign=target).exclude(contacts__phone=primary).exists()

    # Another campaign chosen on that page: its own skips are shown first, again.
    other = make_campaign()
    again = run_action(
        admin_client_logged,
        "move_to_campaign",
        apply="1",
        campaign=str(other.pk),
        previewed=chosen.context["previewed"],
        **post,
    )
    assert again.context["previewed"] == f"campaign={other.pk}" and skips_shown(again) == (3, [])

    done = run_action(
        admin_client_logged,
        "move_to_campaign",
        apply="1",
        campaign=str(target.pk),
        previewed=f"campaign={target.pk}",
        **post,
    )
    assert f"Moved to “{target.name}”: 2 leads. Skipped 1: 1 its number is already in that campaign." in messages_of(
        done
    )


def test_above_the_inline_limit_the_page_leaves_the_skips_to_its_script(admin_client_logged, campaign, settings):
    settings.LEADS_ACTION_SKIPS_INLINE_MAX = 2
    leads = [make_lead(campaign=campaign) for _ in range(3)]
    transitions.complete(Lead.objects.filter(pk=leads[0].pk), actor=Actor.system())
    post = {"leads": leads[:1], "select_across": True, "query": f"?campaign={campaign.pk}"}

    page = run_action(admin_client_logged, "reset_leads", **post)
    assert page.context["count"] == 3 and page.context["skips"] is None
    assert "leadsite/action_skips.js" in page.content.decode()

    answer = run_action(admin_client_logged, "reset_leads", count_skips="1", **post)
    assert answer.json() == {"counted": True, "skipped": [["already created", 2]], "total": 2}
    # The count's request never runs the action, even with "apply" in it or a small selection.
    run_action(admin_client_logged, "reset_leads", count_skips="1", apply="1", **post)
    run_action(admin_client_logged, "reset_leads", leads=leads, count_skips="1")
    assert statuses(leads) == [LeadStatus.COMPLETED, LeadStatus.CREATED, LeadStatus.CREATED]


def test_a_large_selections_page_makes_only_its_count_and_leaves_the_skips_for_later(
    admin_client_logged, campaign, settings
):
    from django.test.utils import CaptureQueriesContext

    settings.LEADS_ACTION_SKIPS_INLINE_MAX = 0
    leads = [make_lead(campaign=campaign) for _ in range(2)]
    post = {"leads": leads[:1], "select_across": True, "query": f"?campaign={campaign.pk}"}
    with CaptureQueriesContext(connection) as page:
        response = run_action(admin_client_logged, "reschedule_leads", **post)
    assert response.context["count"] == 2 and response.context["skips"] is None
    # Reschedule's rules read the numbers; the page's counts do not: they are the list's.
    counts = [q["sql"] for q in page.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and not [sql for sql in counts if "leads_contact" in sql]
    with CaptureQueriesContext(connection) as later:
        answer = run_action(admin_client_logged, "reschedule_leads", count_skips="1", **post)
    assert answer.json() == {"counted": True, "skipped": [], "total": 0}
    assert [q for q in later.captured_queries if "COUNT(" in q["sql"].upper() and "leads_contact" in q["sql"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statement timeouts are PostgreSQL's")
def test_a_skip_count_past_its_time_is_answered_as_not_counted(admin_client_logged, campaign, settings):
    settings.LEADS_ACTION_SKIPS_INLINE_MAX = 0
    settings.LEADS_ACTION_SKIPS_SECONDS = 1
    lead = make_lead(campaign=campaign)
    # A rule as slow as a million leads' numbers: the count stops at its time.
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION slow_reset_rule() RETURNS boolean AS 'SELECT pg_sleep(3) IS NULL' LANGUAGE sql")
    slow = [("a slow rule", Q(pk__in=RawSQL("SELECT id FROM leads_lead WHERE slow_reset_rule()", [])))]
    assert selectors.count_action_skips(Lead.objects.all(), slow, within_seconds=1) is None
    assert selectors.count_action_skips(Lead.objects.all(), [("any", Q(pk=lead.pk))], within_seconds=1) == (
        {"any": 1},
        1,
    )


def test_an_unknown_action_or_empty_selection_is_answered_with_a_message(admin_client_logged, campaign):
    make_lead(campaign=campaign)
    assert run_action(admin_client_logged, "reset_leads").status_code == 200
    assert run_action(admin_client_logged, "drop_everything", leads=Lead.objects.all()).status_code == 200
    assert admin_client_logged.post(LIST, {"action": "reset_leads", "_selected_action": ["abc"]}).status_code in (
        200,
        302,
    )


# --- permissions ------------------------------------------------------------------


def test_view_only_staff_sees_the_list_without_actions(viewer, campaign):
    make_lead(campaign=campaign)
    response = viewer.get(LIST)
    assert response.status_code == 200
    assert response.context["action_form"] is None
    assert not response.context["cl"].model_admin.get_actions(response.wsgi_request)


def test_view_only_staff_cannot_run_actions_by_posting(viewer, campaign):
    lead = make_lead(campaign=campaign)
    response = run_action(viewer, "complete_leads", leads=[lead])
    assert response.status_code in (200, 403)
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CREATED


def test_view_only_staff_cannot_change_or_add_a_lead(viewer, campaign):
    lead = make_lead(campaign=campaign, primary="+14155550101")
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    assert viewer.get(url).status_code == 200
    response = viewer.post(url, {"primary_phone": "+12125550100", "var_customer_name": "X"})
    assert response.status_code == 403
    assert lead.contacts.get(position=0).phone == "+14155550101"
    assert viewer.get(ADD + f"?campaign={campaign.pk}").status_code == 403


def test_view_only_staff_cannot_start_a_campaign(viewer, campaign):
    make_lead(campaign=campaign)
    response = viewer.post(reverse("admin:campaigns_campaign_start", args=[campaign.pk]))
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"


# --- the lead page ----------------------------------------------------------------


def inline_management(prefix: str = "contacts", total: int = 0, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "10",
        "status_changes-TOTAL_FORMS": "0",
        "status_changes-INITIAL_FORMS": "0",
        "status_changes-MIN_NUM_FORMS": "0",
        "status_changes-MAX_NUM_FORMS": "1000",
        "calls-TOTAL_FORMS": "0",
        "calls-INITIAL_FORMS": "0",
        "calls-MIN_NUM_FORMS": "0",
        "calls-MAX_NUM_FORMS": "1000",
    }


def test_add_lead_first_asks_for_the_campaign(admin_client_logged, campaign):
    response = admin_client_logged.get(ADD)
    assert response.templates[0].name == "admin/leads/lead/choose_campaign.html"
    assert campaign.name in response.content.decode()
    assert admin_client_logged.get(ADD + "?campaign=abc").templates[0].name == "admin/leads/lead/choose_campaign.html"
    assert (
        admin_client_logged.get(ADD + "?campaign=999999").templates[0].name == "admin/leads/lead/choose_campaign.html"
    )


def test_add_lead_form_has_one_prefilled_field_per_assistant_variable(admin_client_logged, campaign):
    response = admin_client_logged.get(ADD + f"?campaign={campaign.pk}")
    form = response.context["adminform"].form
    assert form.fields["var_customer_name"].required
    assert not form.fields["var_appointment_type"].required
    assert form.fields["var_appointment_type"].initial == "check-up"


def test_add_lead_normalises_numbers_and_stores_only_overrides(admin_client_logged, campaign):
    data = {
        "primary_phone": "(415) 555-0101",
        "var_customer_name": "Ana",
        "var_appointment_type": "check-up",
        "extra_variables": "vip=yes\n\nsource = fair",
        "timezone": "America/Chicago",
        **inline_management(total=2),
        "contacts-0-phone": "+1 212 555 0102",
        "contacts-0-own_variables": "contact_name=Luis",
        "contacts-0-order": "2",
        "contacts-1-phone": "305.555.0103",
        "contacts-1-order": "1",
    }
    response = admin_client_logged.post(ADD + f"?campaign={campaign.pk}", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    lead = Lead.objects.get()
    assert lead.campaign == campaign and lead.timezone == "America/Chicago"
    contacts = list(lead.contacts.order_by("position").values_list("position", "phone", "variables"))
    assert contacts == [
        (0, "+14155550101", {"customer_name": "Ana", "vip": "yes", "source": "fair"}),
        (1, "+13055550103", {}),
        (2, "+12125550102", {"contact_name": "Luis"}),
    ]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"primary_phone": "call me"}, "primary_phone", "not a phone number"),
        ({"primary_phone": ""}, "primary_phone", "required"),
        ({"primary_phone": "4155"}, "primary_phone", "digits"),
        ({"var_customer_name": ""}, "var_customer_name", "required"),
        ({"var_customer_name": "x" * 1001}, "var_customer_name", "at most 1000"),
        ({"extra_variables": "no equals sign"}, "extra_variables", "name=value"),
        ({"extra_variables": "Bad Name=1"}, "extra_variables", "not a variable name"),
        ({"extra_variables": "customer_name=dup"}, "extra_variables", "Use the fields above"),
        ({"extra_variables": "a=1\na=2"}, "extra_variables", "given twice"),
        ({"timezone": "Moon/Base"}, "timezone", "not a time zone"),
    ],
)
def test_add_lead_with_malformed_input_shows_the_reason_and_saves_nothing(
    admin_client_logged, campaign, changes, field, message
):
    data = {"primary_phone": "+14155550101", "var_customer_name": "Ana", **inline_management(), **changes}
    response = admin_client_logged.post(ADD + f"?campaign={campaign.pk}", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"contacts-0-phone": "+14155550101"}, "This is the primary number."),
        ({"contacts-0-phone": "+12125550102", "contacts-1-phone": "212-555-0102"}, "listed twice"),
        ({"contacts-0-phone": "not a number"}, "not a phone number"),
        ({"contacts-0-phone": "+12125550102", "contacts-0-own_variables": "=x"}, "not a variable name"),
        ({"contacts-0-phone": "+12125550102", "contacts-0-order": "first"}, "Enter a whole number"),
        ({"contacts-0-phone": "+12125550102", "contacts-0-order": "0"}, "greater than or equal to 1"),
    ],
)
def test_secondary_numbers_with_problems_are_refused_row_by_row(admin_client_logged, campaign, rows, message):
    data = {"primary_phone": "+14155550101", "var_customer_name": "Ana", **inline_management(total=2), **rows}
    response = admin_client_logged.post(ADD + f"?campaign={campaign.pk}", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Lead.objects.exists()


def test_a_primary_number_already_in_the_campaign_is_refused_on_the_form(admin_client_logged, campaign):
    make_lead(campaign=campaign, primary="+14155550101")
    data = {"primary_phone": "415-555-0101", "var_customer_name": "Ana", **inline_management()}
    response = admin_client_logged.post(ADD + f"?campaign={campaign.pk}", data)
    assert "already has the number +14155550101" in " ".join(response.context["adminform"].form.errors["primary_phone"])
    assert Lead.objects.count() == 1


def edit_data(lead: Lead, **changes) -> dict:
    primary = lead.contacts.get(position=0)
    secondaries = list(lead.contacts.filter(position__gt=0).order_by("position"))
    data = {
        "primary_phone": primary.phone,
        "var_customer_name": primary.variables.get("customer_name", ""),
        "var_appointment_type": primary.variables.get("appointment_type", "check-up"),
        "timezone": lead.timezone,
        **inline_management(total=len(secondaries), initial=len(secondaries)),
    }
    for index, contact in enumerate(secondaries):
        data[f"contacts-{index}-id"] = str(contact.pk)
        data[f"contacts-{index}-lead"] = str(lead.pk)
        data[f"contacts-{index}-phone"] = contact.phone
        data[f"contacts-{index}-order"] = str(index + 1)
    data.update(changes)
    return data


def test_editing_reorders_removes_and_adds_secondary_numbers_keeping_each_numbers_state(admin_client_logged, campaign):
    first, second, third = "+12125550102", "+13055550103", "+16175550104"
    lead = make_lead(
        campaign=campaign,
        primary="+14155550101",
        secondaries=[first, second, third],
        variables={"customer_name": "Ana"},
    )
    Contact.objects.filter(lead=lead, phone=second).update(attempts=2, status=ContactStatus.RESCHEDULED)
    Lead.objects.filter(pk=lead.pk).update(attempts=2)
    data = edit_data(lead)
    data.update({"contacts-0-order": "3", "contacts-1-order": "1", "contacts-2-DELETE": "on"})
    data.update({"contacts-TOTAL_FORMS": "4", "contacts-3-phone": "+17025550105", "contacts-3-order": "2"})

    response = admin_client_logged.post(reverse("admin:leads_lead_change", args=[lead.pk]), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(lead.contacts.order_by("position").values_list("phone", "status", "attempts")) == [
        ("+14155550101", ContactStatus.CREATED, 0),
        (second, ContactStatus.RESCHEDULED, 2),
        ("+17025550105", ContactStatus.CREATED, 0),
        (first, ContactStatus.CREATED, 0),
    ]
    lead.refresh_from_db()
    assert lead.attempts == 2


def test_a_lead_in_a_call_is_not_changed_by_its_page(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.PROCESSING)
    response = admin_client_logged.post(
        reverse("admin:leads_lead_change", args=[lead.pk]), edit_data(lead, var_customer_name="Changed"), follow=True
    )
    assert any("call to this lead is in progress" in m for m in messages_of(response))
    assert lead.contacts.get(position=0).variables == {"customer_name": "Ana"}


def test_status_is_not_an_editable_field_on_the_lead_page(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    response = admin_client_logged.post(
        reverse("admin:leads_lead_change", args=[lead.pk]), edit_data(lead, status="completed")
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CREATED


def test_lead_page_shows_its_status_history(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign)
    transitions.complete(Lead.objects.filter(pk=lead.pk), actor=Actor.system(), reason="booked by phone")
    response = admin_client_logged.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert "booked by phone" in response.content.decode()


def test_a_missing_lead_page_is_a_redirect_not_an_error(admin_client_logged):
    response = admin_client_logged.get(reverse("admin:leads_lead_change", args=[999999]))
    assert response.status_code == 302


# --- do-not-call list -------------------------------------------------------------


def test_adding_a_number_to_the_do_not_call_list_normalises_it_and_marks_leads(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign, primary="+14155550101")
    response = admin_client_logged.post(
        reverse("admin:leads_donotcallnumber_add"), {"phone": "+1 (415) 555-0101", "reason": "asked us"}, follow=True
    )
    assert response.status_code == 200
    assert DoNotCallNumber.objects.get().phone == "+14155550101"
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.BLACKLISTED


@pytest.mark.parametrize("value", ["", "abc", "4155550101", "+1"])
def test_a_malformed_do_not_call_number_is_refused(admin_client_logged, value):
    response = admin_client_logged.post(reverse("admin:leads_donotcallnumber_add"), {"phone": value})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phone"]
    assert not DoNotCallNumber.objects.exists()


DNC_ADD = reverse("admin:leads_donotcallnumber_add")


def test_the_do_not_call_form_offers_the_site_default_country(admin_client_logged, settings):
    settings.LEADS_DEFAULT_COUNTRY = "GB"
    form = admin_client_logged.get(DNC_ADD).context["adminform"].form
    assert form["country"].value() == "GB"


@pytest.mark.parametrize(
    ("phone", "country", "stored"),
    [
        ("(415) 555-0101", "US", "+14155550101"),
        ("415.555.0101", "us", "+14155550101"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("+1 415 555 0101", "GB", "+14155550101"),  # international wins over the country
        ("0044 20 7946 0018", "", "+442079460018"),
    ],
)
def test_a_national_number_is_read_in_the_chosen_country(admin_client_logged, campaign, phone, country, stored):
    lead = make_lead(campaign=campaign, primary=stored)
    response = admin_client_logged.post(DNC_ADD, {"phone": phone, "country": country, "reason": "asked"}, follow=True)
    assert response.status_code == 200
    assert list(DoNotCallNumber.objects.values_list("phone", flat=True)) == [stored]
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.BLACKLISTED


@pytest.mark.parametrize(
    ("phone", "country", "field", "message"),
    [
        ("4155550101", "", "phone", "no country is set, so it must start with its country code"),
        ("Call me maybe", "US", "phone", "is not a phone number: use digits"),
        ("4" * 39, "US", "phone", "has 39 digits; a phone number has 5 to 15"),
        ("4" * 5000, "US", "phone", "at most 40 characters"),
        ("415\x00555", "US", "phone", "Null characters are not allowed"),
        ("<script>alert(1)</script>", "US", "phone", "is not a phone number"),
        ("<b>1</b>", "US", "phone", "is not a phone number"),
        ("(415) 555-0101", "XX", "country", "XX is not a two-letter country code"),
        ("(415) 555-0101", "<b", "country", "&lt;B is not a two-letter country code"),
        ("(415) 555-0101", "USA", "country", "at most 2 characters"),
        ("(415) 555-0101", "U\x00", "country", "Null characters are not allowed"),
        ("123", "US", "phone", "has 3 digits"),
    ],
)
def test_hostile_do_not_call_input_gets_a_clear_error(admin_client_logged, phone, country, field, message):
    response = admin_client_logged.post(DNC_ADD, {"phone": phone, "country": country, "reason": "<i>x</i>"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message.replace("&lt;", "<") in " ".join(errors[field]), errors
    if field == "country":  # the number waits for a country it can be read in
        assert errors["phone"] == ["Not read: give a valid country, or type the number with +."]
    html = response.content.decode()
    assert message in html  # shown, and escaped
    assert "<script>alert(1)" not in html and "<b>1</b>" not in html and "<i>x</i>" not in html
    assert not DoNotCallNumber.objects.exists()


def test_the_list_sorts_only_by_indexed_columns_whatever_the_url_says(admin_client_logged, campaign):
    leads = [make_lead(campaign=campaign) for _ in range(3)]
    Lead.objects.filter(pk=leads[0].pk).update(last_outcome="busy")
    Lead.objects.filter(pk=leads[2].pk).update(last_outcome="voicemail")

    def order(o):
        response = admin_client_logged.get(LIST, {"o": o})
        return [lead.pk for lead in response.context["cl"].result_list]

    newest_first = [lead.pk for lead in reversed(leads)]
    columns = admin_client_logged.get(LIST).context["cl"].list_display
    last_outcome, created = columns.index("last_outcome"), columns.index("created")
    assert order(str(last_outcome)) == newest_first  # not sortable: the default order
    assert order(str(created)) == list(reversed(newest_first))
    assert order(f"-{created}") == newest_first


@pytest.mark.parametrize("params", [{"status": "lost"}, {"attempts_min": "many"}, {"campaign": "999999"}])
def test_a_filter_that_cannot_be_read_shows_why_and_no_leads(admin_client_logged, campaign, params):
    make_lead(campaign=campaign)
    response = admin_client_logged.get(LIST, params)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert 'class="errornote"' in response.content.decode()


@pytest.mark.parametrize(
    ("page", "action"),
    [
        ("leads_lead", "reset_leads"),
        ("leads_donotcallnumber", "remove_from_list"),
        ("campaigns_assistant", "delete_selected"),
    ],
)
@pytest.mark.parametrize("selected", ["abc", "1.5", "", "1; DROP TABLE leads_lead"])
def test_a_malformed_selection_is_refused_on_every_page_with_actions(admin_client_logged, page, action, selected):
    lead = make_lead()
    response = admin_client_logged.post(
        reverse(f"admin:{page}_changelist"),
        {"action": action, "_selected_action": [selected], "index": "0"},
        follow=True,
    )
    assert response.status_code == 200
    assert "The selection was not understood" in " ".join(str(m) for m in response.context["messages"])
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CREATED


@pytest.mark.parametrize(
    ("variable", "value"), [("isnull", "x"), ("has_key", "customer_name"), ("regex", "."), ("gt", "a")]
)
def test_the_list_reads_a_lookup_named_variable_as_a_variable(admin_client_logged, campaign, variable, value):
    make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    carrier = make_lead(campaign=campaign, variables={"customer_name": "Ben", variable: value})
    response = admin_client_logged.get(LIST, {"variable": variable, "value": value})
    assert response.status_code == 200
    assert [lead.pk for lead in response.context["cl"].result_list] == [carrier.pk]


def test_the_status_changes_of_a_lead_are_filtered_on_its_index(admin_client_logged, campaign):
    # The lead page links to its whole history as ?lead=<id> (the search box reads numbers and names).
    lead, other = make_lead(campaign=campaign), make_lead(campaign=campaign)
    transitions.complete(Lead.objects.all(), actor=Actor.system())
    url = reverse("admin:leads_statuschange_changelist")
    response = admin_client_logged.get(url, {"lead": lead.pk})
    assert {change.lead_id for change in response.context["cl"].result_list} == {lead.pk}
    assert f'"lead_id" = {lead.pk}' in str(response.context["cl"].queryset.query)  # the index serves it
    for term in ["99999999999999999999", "-1", "abc", "١٢", str(other.pk) + "0"]:
        response = admin_client_logged.get(url, {"lead": term})
        assert response.status_code in (200, 302), term
        if response.status_code == 200 and "e" not in response.wsgi_request.GET:
            assert not list(response.context["cl"].result_list), term


@pytest.mark.parametrize(
    "params",
    [
        {"goal": "true"},
        {"Status": "completed"},
        {"status__in": "completed"},
        {"id": "1"},
        {"campaign__id__exact": "1"},
        {"goal": "true", "status": "created"},
    ],
)
def test_a_parameter_that_is_no_filter_of_the_list_is_named_and_shows_no_lead(admin_client_logged, campaign, params):
    make_lead(campaign=campaign)
    response = admin_client_logged.get(LIST, params)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    html = response.content.decode()
    unknown = next(key for key in params if key != "status")
    assert f"Not a filter of this list: {unknown}." in html
    # The way out keeps the list's real filters and leaves the unknown one out.
    spec = response.context["cl"].filter_specs[0]
    assert unknown not in spec.without_unknown
    assert ("status=created" in spec.without_unknown) == ("status" in params)
    filter_form = html[html.index('id="lead-filters"') :]
    assert f'name="{unknown}"' not in filter_form[: filter_form.index("</form>")]  # nor does its form carry it


@pytest.mark.parametrize(
    "params",
    [
        {"o": "-8"},
        {"q": "Ana"},
        {"p": "1"},
        {"all": ""},
        {"e": "1"},
        {"_changelist_filters": "status=created"},
        {"_popup": "1", "_to_field": "id"},
        {"_facets": "True"},
    ],
)
def test_the_admins_own_parameters_are_not_refused(admin_client_logged, campaign, params):
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    response = admin_client_logged.get(LIST, params)
    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [lead.pk]
    assert "Not a filter of this list" not in response.content.decode()


@pytest.mark.parametrize("query", ["goal=true", "status=created&goal=true", "attempts_min=many", "status=lost"])
def test_the_export_of_a_list_with_a_filter_it_cannot_apply_sends_back_to_the_list(
    admin_client_logged, campaign, query
):
    make_lead(campaign=campaign)
    for response in (
        admin_client_logged.get(reverse("admin:leads_lead_export") + "?" + query),
        admin_client_logged.post(
            reverse("admin:leads_lead_export") + "?" + query, {"format": "0", "leadresource_phone_number": "on"}
        ),
    ):
        assert response.status_code == 302 and response["Location"] == f"{LIST}?{query}"
    assert not ExportRecord.objects.exists()


def test_the_search_form_carries_every_value_of_a_multi_valued_filter(admin_client_logged, campaign):
    make_lead(campaign=campaign)
    html = admin_client_logged.get(LIST + "?status=rescheduled&status=completed&o=-8").content.decode()
    search_form = html[html.index('id="changelist-search"') :]
    search_form = search_form[: search_form.index("</form>")]
    for value in ("rescheduled", "completed"):
        assert f'<input type="hidden" name="status" value="{value}">' in search_form
    assert '<input type="hidden" name="o" value="-8">' in search_form


def test_the_export_file_name_names_every_status_of_the_list(admin_client_logged, campaign):
    make_lead(campaign=campaign)
    response = admin_client_logged.post(
        reverse("admin:leads_lead_export") + "?status=rescheduled&status=created",
        {"format": "0", "bom": "", "leadresource_phone_number": "on"},
    )
    assert "-rescheduled-created-" in response["Content-Disposition"]


def test_saving_a_lead_returns_to_the_list_with_every_value_of_its_filters(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    came_from = "status=rescheduled&status=created&q=Ana"
    url = reverse("admin:leads_lead_change", args=[lead.pk]) + "?" + urlencode({"_changelist_filters": came_from})
    response = admin_client_logged.post(url, edit_data(lead))
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?{came_from}"


def test_a_view_only_user_sees_the_lead_pages_real_values(viewer, campaign):
    lead = make_lead(
        campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana López", "city": "Austin"}
    )
    services.lead_set_secondary_numbers(
        lead=lead,
        actor=Actor.system(),
        numbers=[services.Number("+12125550102", variables={"contact_name": "Maria"}), services.Number("+13055550103")],
    )
    response = viewer.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    form = html[html.index('id="lead_form"') :]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", form))
    # "None recorded" is the consent level's own label, not a value printed as None.
    assert "Consent: None recorded" in text
    assert "None" not in text.replace("Consent: None recorded", "")
    assert "Primary number: +14155550101" in text
    assert "Customer_name: Ana López" in text
    assert "Appointment_type: check-up" in text  # the assistant's default, which the lead inherits
    assert "Other variables: city=Austin" in text
    assert re.search(r"\+12125550102 1 \+12125550102 contact_name=Maria", text)
    assert re.search(r"\+13055550103 2 \+13055550103 —", text)


# --- what users wrote is shown as text ------------------------------------------------

HOSTILE = '<script>window.xssRan=1</script><img src=x onerror="window.xssRan=2">'
SHOWN = "&lt;script&gt;window.xssRan=1&lt;/script&gt;"


def test_a_variable_description_is_escaped_on_the_lead_add_and_change_pages(admin_client_logged):
    # Its help text: the admin prints help text as HTML, so it ran as a script.
    assistant = make_assistant(variables=[{"name": "customer_name", "description": HOSTILE}])
    campaign = make_campaign(assistant=assistant, default_country="US")
    lead = make_lead(campaign=campaign)

    for url in [ADD + f"?campaign={campaign.pk}", reverse("admin:leads_lead_change", args=[lead.pk])]:
        html = admin_client_logged.get(url).content.decode()
        assert HOSTILE not in html and "<script>window.xssRan" not in html
        assert re.search(r'id="id_var_customer_name_helptext">\s*<div>' + re.escape(SHOWN), html), url


def test_every_page_showing_what_users_wrote_escapes_it(admin_client_logged):
    """Names, descriptions, defaults, variable names and values, numbers' own values,
    what a call reported and why a campaign paused, on every page that shows them."""
    from campaigns import services as campaign_services
    from leads.dialer import outcomes
    from leads.dialer.backends.simulated import SimulatedBackend
    from leads.models import Call
    from leads.transitions import Report

    assistant = make_assistant(
        name="A " + HOSTILE, variables=[{"name": "customer_name", "description": HOSTILE, "default_value": HOSTILE}]
    )
    campaign = make_campaign(name="C " + HOSTILE, assistant=assistant, default_country="US")
    lead = make_lead(
        campaign=campaign,
        variables={"customer_name": HOSTILE, "note " + HOSTILE: HOSTILE},
        secondaries=["+14155550102"],
    )
    lead.contacts.filter(position=1).update(variables={"contact_name": HOSTILE})
    campaign_services.campaign_start(campaign=campaign)
    pass_at_any_hour(SimulatedBackend(seed=1, duration_scale=1000))
    call = Call.objects.get()
    outcomes.outcome_receive(
        call.pk,
        Report(outcome="completed", summary=HOSTILE, extracted_variables={HOSTILE: HOSTILE}),
        payload={"outcome": "completed", "summary": HOSTILE},
        webhook_id="msg " + HOSTILE,
        now=call.placed_at,
        actor=Actor.system(),
    )
    campaign_services.campaign_pause(campaign=campaign, reason=HOSTILE)

    pages = [
        LIST,
        LIST + "?q=xssRan",
        reverse("admin:leads_lead_change", args=[lead.pk]),
        ADD + f"?campaign={campaign.pk}",
        reverse("admin:leads_call_changelist"),
        reverse("admin:leads_call_change", args=[call.pk]),
        reverse("admin:leads_statuschange_changelist"),
        reverse("admin:campaigns_campaign_changelist"),
        reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
        reverse("admin:campaigns_campaign_dashboard", args=[campaign.pk]),
        reverse("admin:campaigns_assistant_change", args=[assistant.pk]),
    ]
    for url in pages:
        response = admin_client_logged.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert "<script>window.xssRan" not in html and "<img src=x" not in html, url


def test_a_secondary_number_without_plus_is_read_in_the_campaigns_country_on_add_and_edit(
    admin_client_logged, campaign
):
    data = {"primary_phone": "+14155550101", "var_customer_name": "Ana", **inline_management(total=1)}
    data["contacts-0-phone"] = "(212) 555-0102"
    assert admin_client_logged.post(ADD + f"?campaign={campaign.pk}", data).status_code == 302
    lead = Lead.objects.get()
    data = edit_data(lead)
    data.update({"contacts-TOTAL_FORMS": "2", "contacts-1-phone": "305 555 0103", "contacts-1-order": "2"})
    response = admin_client_logged.post(reverse("admin:leads_lead_change", args=[lead.pk]), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(lead.contacts.filter(position__gt=0).order_by("position").values_list("phone", flat=True)) == [
        "+12125550102",
        "+13055550103",
    ]


def test_the_lead_page_says_why_a_lead_waits_and_in_which_zone_its_number_is(admin_client_logged):
    from campaigns.services import campaign_start
    from leads.dialer import passes
    from leads.dialer.backends.simulated import SimulatedBackend

    campaign = make_campaign()
    lead = make_lead(campaign=campaign, primary="+12125550101")
    campaign_start(campaign=campaign)
    passes.run_pass(now=datetime.datetime(2027, 6, 2, 3, 0, tzinfo=datetime.UTC), backend=SimulatedBackend(seed=1))
    page = admin_client_logged.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert "Outside its calling window until" in page
    assert "America/New_York" in page and "the number&#x27;s zone" in page
