"""Call history in the admin: the calls list and its filters, a call's page with its
reports, the lead's latest calls; malformed addresses never a 500."""

import csv
import datetime
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.tests.factories import make_campaign
from leads import transitions
from leads.admin import changelist
from leads.admin.calls import LATEST_ON_LEAD_PAGE
from leads.dialer import outcomes
from leads.dialer.backends.simulated import SimulatedBackend
from leads.models import Call, DoNotCallNumber, Lead, StatusChange
from leads.tests.factories import make_call, make_lead, pass_at_any_hour
from leads.transitions import Actor, Report

pytestmark = pytest.mark.django_db

at = datetime.datetime.fromisoformat

CALLS = reverse("admin:leads_call_changelist")
QUIET = SimulatedBackend(seed=1, duration_scale=1000)


@pytest.fixture
def dialled():
    campaign = make_campaign(name="Spring", max_calls_in_parallel=3)
    leads = [make_lead(campaign=campaign) for _ in range(3)]
    services.campaign_start(campaign=campaign)
    pass_at_any_hour(QUIET)
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
    assert reverse("admin:leads_statuschange_changelist") + f"?lead={lead.pk}" in page


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


# --- Naming, search and filters -------------------------------------------------------

STATUS_CHANGES = reverse("admin:leads_statuschange_changelist")
EXPORT = reverse("admin:leads_call_export")


@pytest.fixture
def two_campaigns():
    spring, autumn = make_campaign(name="Spring"), make_campaign(name="Autumn")
    ana = make_lead(
        campaign=spring, primary="+14155550101", secondaries=["+12125550102"], variables={"customer_name": "Ana García"}
    )
    ben = make_lead(
        campaign=autumn, primary="+13055550103", variables={"first_name": "Ben", "last_name": "<b>Bold</b>"}
    )
    calls = {
        "ana": make_call(ana, placed_at=at("2026-12-01T10:00:00Z"), outcome="completed"),
        "ana-second": make_call(ana, phone="+12125550102", placed_at=at("2026-12-01T11:00:00Z"), outcome="busy"),
        "ben": make_call(ben, placed_at=at("2026-12-01T12:00:00Z"), outcome="voicemail"),
    }
    transitions.stop(Lead.objects.filter(pk__in=[ana.pk, ben.pk]), actor=Actor.system())
    transitions.reset(Lead.objects.filter(pk=ana.pk), actor=Actor.system())
    return spring, autumn, ana, ben, calls


def _rows(client, url, query=None):
    response = client.get(url, query or {})
    assert response.status_code == 200
    return response, list(response.context["cl"].result_list)


def test_lists_name_each_lead_by_its_number_and_name_escaped(admin_client_logged, two_campaigns):
    for url in (CALLS, STATUS_CHANGES):
        page = admin_client_logged.get(url).content.decode()
        assert "+14155550101 · Ana García" in page
        assert "+13055550103 · Ben &lt;b&gt;Bold&lt;/b&gt;" in page and "<b>Bold</b>" not in page
        assert "Lead " not in page.split('id="result_list"')[1].split("</table>")[0]


def test_a_calls_page_names_its_lead(admin_client_logged, two_campaigns):
    *_, calls = two_campaigns
    page = admin_client_logged.get(reverse("admin:leads_call_change", args=[calls["ana"].pk])).content.decode()
    assert "+14155550101 · Ana García" in page


@pytest.mark.parametrize("url", [CALLS, STATUS_CHANGES])
def test_the_lists_query_the_same_few_times_whatever_their_rows(
    admin_client_logged, django_assert_max_num_queries, url
):
    campaign = make_campaign()

    def add(n):
        leads = [make_lead(campaign=campaign, variables={"customer_name": "Ana"}) for _ in range(n)]
        for lead in leads:
            make_call(lead, placed_at=at("2026-12-01T10:00:00Z"), outcome="completed")
        transitions.stop(Lead.objects.filter(pk__in=[lead.pk for lead in leads]), actor=Actor.system())

    add(2)
    admin_client_logged.get(url)  # the session and the user, as on any page
    with CaptureQueriesContext(connection) as few:
        assert len(admin_client_logged.get(url).context["cl"].result_list) >= 2
    add(40)
    with django_assert_max_num_queries(len(few)):
        assert len(admin_client_logged.get(url).context["cl"].result_list) >= 42
    assert len(few) <= 12


@pytest.mark.parametrize("query", ["+1 415 555 0101", "14155550101", "(415) 555-0101", "555 0101", "5550101"])
def test_calls_are_found_by_the_number_they_dialled(admin_client_logged, two_campaigns, query):
    *_, calls = two_campaigns
    _, rows = _rows(admin_client_logged, CALLS, {"q": query})
    assert rows == [calls["ana"]]  # not Ana's call to her other number


def test_calls_and_status_changes_are_found_by_their_leads_name(admin_client_logged, two_campaigns):
    _, _, ana, _, calls = two_campaigns
    _, rows = _rows(admin_client_logged, CALLS, {"q": "garcía"})
    assert {c.pk for c in rows} == {calls["ana"].pk, calls["ana-second"].pk}
    _, rows = _rows(admin_client_logged, STATUS_CHANGES, {"q": "garcía"})
    assert rows and {change.lead_id for change in rows} == {ana.pk}


@pytest.mark.parametrize("query", ["+1 212 555 0102", "2125550102"])
def test_status_changes_are_found_by_any_number_of_their_lead(admin_client_logged, two_campaigns, query):
    _, _, ana, _, _ = two_campaigns
    _, rows = _rows(admin_client_logged, STATUS_CHANGES, {"q": query})
    assert rows and {change.lead_id for change in rows} == {ana.pk}


@pytest.mark.parametrize("query", ["<script>alert(1)</script>", "\x00", "9" * 40, "' OR 1=1 --", "__isnull", "%", "_"])
@pytest.mark.parametrize("url", [CALLS, STATUS_CHANGES])
def test_hostile_searches_are_not_a_server_error(admin_client_logged, two_campaigns, url, query):
    response = admin_client_logged.get(url, {"q": query})
    assert response.status_code in (200, 302)
    if response.status_code == 200 and query not in ("%", "_"):
        assert list(response.context["cl"].result_list) == []


def test_status_changes_filter_by_campaign_and_lead(admin_client_logged, two_campaigns):
    spring, autumn, ana, ben, _ = two_campaigns
    _, rows = _rows(admin_client_logged, STATUS_CHANGES, {"lead__campaign__id__exact": autumn.pk})
    assert rows and {change.lead_id for change in rows} == {ben.pk}
    _, rows = _rows(admin_client_logged, STATUS_CHANGES, {"lead": ana.pk})
    assert rows and {change.lead_id for change in rows} == {ana.pk}
    for bad in ({"lead__campaign__id__exact": "x"}, {"lead": "abc"}, {"lead__campaign__id__exact": 10**30}):
        assert admin_client_logged.get(STATUS_CHANGES, bad).status_code in (200, 302)


def test_calls_filter_by_campaign(admin_client_logged, two_campaigns):
    spring, autumn, *_, calls = two_campaigns
    _, rows = _rows(admin_client_logged, CALLS, {"campaign__id__exact": autumn.pk})
    assert rows == [calls["ben"]]
    _, rows = _rows(admin_client_logged, CALLS, {"campaign__id__exact": spring.pk, "q": "4155550101"})
    assert rows == [calls["ana"]]


def test_the_status_change_list_is_newest_first_and_sorts_only_by_its_index(admin_client_logged, two_campaigns):
    _, rows = _rows(admin_client_logged, STATUS_CHANGES)
    assert [change.pk for change in rows] == sorted((change.pk for change in rows), reverse=True)
    _, rows = _rows(admin_client_logged, STATUS_CHANGES, {"o": "1"})  # the lead column: not sortable
    assert [change.pk for change in rows] == sorted((change.pk for change in rows), reverse=True)
    _, rows = _rows(admin_client_logged, STATUS_CHANGES, {"o": "0"})  # "changed at", ascending
    assert [change.pk for change in rows] == sorted(change.pk for change in rows)


# --- A call's page: the dialogue, the recording, callback and opt-out ------------------


def _call_page(client, call) -> str:
    response = client.get(reverse("admin:leads_call_change", args=[call.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_calls_page_shows_the_transcript_as_a_dialogue(admin_client_logged, two_campaigns):
    *_, calls = two_campaigns
    call = calls["ana"]
    call.transcript = [
        {"role": "agent", "text": "Hello, is this Ana?", "at": 0.4},
        {"role": "callee", "text": "Yes. <script>alert('x')</script> =HYPERLINK(\"http://evil\")", "at": 65},
        {"role": "agent", "text": "Thanks!\nBye.", "at": None},
    ]
    call.save(update_fields=["transcript"])
    page = _call_page(admin_client_logged, call)
    dialogue = page.split('class="call-dialogue"')[1].split("</ol>")[0]
    assert dialogue.count('class="call-turn call-turn-agent"') == 2
    assert dialogue.count('class="call-turn call-turn-callee"') == 1
    assert dialogue.index("Hello, is this Ana?") < dialogue.index("Yes.") < dialogue.index("Thanks!")
    assert '<span class="call-turn-at">0:00</span>' in dialogue and '<span class="call-turn-at">1:05</span>' in dialogue
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in dialogue and "<script>alert" not in page


@pytest.mark.parametrize(
    ("transcript", "shown"),
    [
        ([], "No transcript for this call."),
        ({"role": "agent"}, "could not be read"),
        ("Hello", "could not be read"),
        (42, "could not be read"),
        (
            [
                "Hello",
                None,
                {"role": "agent"},
                {"role": ["x"], "text": "Who?", "at": "soon"},
                {"text": 7, "at": True},
                {"role": "callee", "text": "Hi", "at": -3},
                {"role": "agent", "text": "Long", "at": 10**300},
            ],
            "3 entries of the transcript could not be read and are not shown.",
        ),
    ],
)
def test_a_missing_or_garbled_transcript_is_said_so_never_a_server_error(
    admin_client_logged, two_campaigns, transcript, shown
):
    *_, calls = two_campaigns
    Call.objects.filter(pk=calls["ana"].pk).update(transcript=transcript)
    page = _call_page(admin_client_logged, calls["ana"])
    assert shown in page


def test_a_calls_page_plays_its_recording(admin_client_logged, two_campaigns):
    *_, calls = two_campaigns
    url = 'https://rec.example.com/a.mp3?x=1&y="><script>'
    Call.objects.filter(pk=calls["ana"].pk).update(recording_url=url)
    page = _call_page(admin_client_logged, calls["ana"])
    assert (
        '<audio class="call-recording" controls preload="none" src="https://rec.example.com/a.mp3?x=1&amp;y=&quot;&gt;&lt;script&gt;">'
        in page
    )


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:audio/wav;base64,AAAA", "/media/x.mp3", "https://"])
def test_a_recording_that_is_not_http_is_shown_not_played(admin_client_logged, two_campaigns, url):
    *_, calls = two_campaigns
    Call.objects.filter(pk=calls["ana"].pk).update(recording_url=url)
    page = _call_page(admin_client_logged, calls["ana"])
    assert "<audio" not in page and f'href="{url}"' not in page
    assert "not played: only http and https addresses are" in page


def test_a_calls_page_shows_disposition_callback_and_opt_out(admin_client_logged, two_campaigns, settings):
    settings.TIME_ZONE = "Europe/Madrid"
    spring, *_, calls = two_campaigns
    spring.timezone = "America/New_York"
    spring.save(update_fields=["timezone"])
    Call.objects.filter(pk=calls["ana"].pk).update(
        disposition="call-back-later",
        callback_at="2026-12-04T20:00:00Z",
        callback_note="not honoured: beyond the <30-day> horizon",
        opt_out=False,
    )
    page = _call_page(admin_client_logged, calls["ana"])
    assert "call-back-later" in page
    assert "2026-12-04 15:00 EST (America/New_York)" in page  # the number's local time
    assert "2026-12-04 21:00 CET (Europe/Madrid)" in page  # and the operator's
    assert "not honoured: beyond the &lt;30-day&gt; horizon" in page
    assert "the callee asked not to be called again" not in page
    Call.objects.filter(pk=calls["ana"].pk).update(opt_out=True, callback_at=None, callback_note="")
    page = _call_page(admin_client_logged, calls["ana"])
    assert "the callee asked not to be called again" in page and "None asked for." in page


# --- The export -------------------------------------------------------------------------


def _export(client, query=None) -> list[list[str]]:
    response = client.get(EXPORT, query or {})
    assert response.status_code == 200, response.status_code
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="calls-[a-z0-9-]+-\d{8}-\d{4}\.csv"', response["Content-Disposition"])
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


def test_the_export_writes_one_row_per_call_with_its_results(admin_client_logged, two_campaigns, settings):
    settings.TIME_ZONE = "America/New_York"
    spring, _, ana, ben, calls = two_campaigns
    Call.objects.filter(pk=calls["ana"].pk).update(
        duration_seconds=74,
        goal_achieved=True,
        disposition="booked",
        summary="Booked a check-up.",
        recording_url="https://rec.example.com/1.mp3",
        callback_at="2026-12-04T20:00:00Z",
        callback_note="honoured",
        extracted_variables={"appointment": "2026-12-09", "score": 7, "ok": False, "tags": ["a", "b"]},
    )
    Call.objects.filter(pk=calls["ben"].pk).update(opt_out=True, extracted_variables={"wrong_person": True})
    header, *rows = _export(admin_client_logged)
    assert header == [
        *[
            "call_id",
            "lead_id",
            "lead_name",
            "number",
            "campaign",
            "attempt",
            "placed_at",
            "ended_at",
            "outcome",
            "duration_seconds",
        ],
        *["goal_achieved", "disposition", "summary", "recording_url", "callback_at", "callback_note", "opt_out"],
        "result_appointment",
        "result_ok",
        "result_score",
        "result_tags",
        "result_wrong_person",
    ]
    by_id = {row[0]: dict(zip(header, row)) for row in rows}
    assert len(rows) == 3 and [row[0] for row in rows] == [str(calls[k].pk) for k in ("ben", "ana-second", "ana")]
    assert by_id[str(calls["ana"].pk)] == {
        "call_id": str(calls["ana"].pk),
        "lead_id": str(ana.pk),
        "lead_name": "Ana García",
        "number": "+14155550101",
        "campaign": "Spring",
        "attempt": "1",
        "placed_at": "2026-12-01T05:00:00-05:00",
        "ended_at": "2026-12-01T05:02:00-05:00",
        "outcome": "completed",
        "duration_seconds": "74",
        "goal_achieved": "true",
        "disposition": "booked",
        "summary": "Booked a check-up.",
        "recording_url": "https://rec.example.com/1.mp3",
        "callback_at": "2026-12-04T15:00:00-05:00",
        "callback_note": "honoured",
        "opt_out": "false",
        "result_appointment": "2026-12-09",
        "result_ok": "false",
        "result_score": "7",
        "result_tags": '["a", "b"]',
        "result_wrong_person": "",
    }
    ben_row = by_id[str(calls["ben"].pk)]
    assert ben_row["lead_name"] == "Ben <b>Bold</b>" and ben_row["opt_out"] == "true"
    assert ben_row["goal_achieved"] == "" and ben_row["result_wrong_person"] == "true"
    assert by_id[str(calls["ana-second"].pk)]["number"] == "+12125550102"


def test_the_export_honours_the_lists_filters_and_search(admin_client_logged, two_campaigns):
    spring, autumn, *_, calls = two_campaigns
    Call.objects.filter(pk=calls["ben"].pk).update(extracted_variables={"only_ben": "x"})
    header, *rows = _export(admin_client_logged, {"campaign__id__exact": spring.pk})
    assert {row[0] for row in rows} == {str(calls["ana"].pk), str(calls["ana-second"].pk)}
    assert "result_only_ben" not in header  # names of the selection only
    _, *rows = _export(admin_client_logged, {"q": "+1 212 555 0102"})
    assert [row[0] for row in rows] == [str(calls["ana-second"].pk)]
    _, *rows = _export(admin_client_logged, {"outcome": "voicemail", "o": "0"})
    assert [row[0] for row in rows] == [str(calls["ben"].pk)]
    header, *rows = _export(admin_client_logged, {"campaign__id__exact": make_campaign().pk})
    assert rows == [] and header[0] == "call_id"


def test_the_export_finds_a_result_name_only_the_last_call_carries(admin_client_logged, two_campaigns):
    _, _, ana, *_ = two_campaigns
    for minute in range(30):
        make_call(
            ana,
            placed_at=at(f"2026-11-01T10:{minute:02d}:00Z"),
            outcome="completed",
            extracted_variables={"common": minute},
        )
    make_call(ana, placed_at=at("2020-01-01T00:00:00Z"), outcome="busy", extracted_variables={"rare": "last"})
    header, *rows = _export(admin_client_logged)
    assert "result_rare" in header and rows[-1][header.index("result_rare")] == "last"


def test_the_export_neutralises_formulas_and_keeps_hostile_text(admin_client_logged, two_campaigns):
    *_, ana, _, calls = two_campaigns
    contact = ana.contacts.get(position=0)
    contact.variables = {"customer_name": "=cmd|' /C calc'!A0"}
    contact.save(update_fields=["variables"])
    Call.objects.filter(pk=calls["ana"].pk).update(
        summary='=HYPERLINK("http://evil","x")',
        disposition="+1",
        transcript=[{"role": "agent", "text": "=1+1"}],
        extracted_variables={"=evil": "@SUM(A1)", "html": "<script>x</script>", "neg": -5, "nl": 'a\nb,"c"'},
    )
    header, *rows = _export(admin_client_logged, {"q": "4155550101"})
    row = dict(zip(header, rows[0]))
    assert row["lead_name"] == "'=cmd|' /C calc'!A0"
    assert row["summary"] == '\'=HYPERLINK("http://evil","x")' and row["disposition"] == "'+1"
    assert row["number"] == "+14155550101"  # a phone column keeps its +
    assert "'result_=evil" not in header and row["result_=evil"] == "'@SUM(A1)"
    assert row["result_html"] == "<script>x</script>" and row["result_neg"] == "'-5" and row["result_nl"] == 'a\nb,"c"'


def test_the_export_never_counts_the_calls(admin_client_logged, two_campaigns):
    with CaptureQueriesContext(connection) as queries:
        _export(admin_client_logged, {"campaign__id__exact": two_campaigns[0].pk})
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() or q["sql"].startswith("EXPLAIN")]
    # The result names in one query, the calls in one (chunked) read: a fixed number.
    assert len([q for q in queries if "leads_call" in q["sql"]]) <= 3


def test_the_export_needs_the_export_permission(client, django_user_model, two_campaigns):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_call"))
    client.force_login(user)
    assert client.get(EXPORT).status_code == 403
    assert "Export CSV" not in client.get(CALLS).content.decode()
    user.user_permissions.add(Permission.objects.get(codename="export_lead"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    assert "Export CSV" in client.get(CALLS).content.decode()
    assert len(_export(client)) == 4
    user.user_permissions.remove(Permission.objects.get(codename="view_call"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    assert client.get(EXPORT).status_code == 403


def test_the_export_link_carries_the_lists_filters(admin_client_logged, two_campaigns):
    spring, *_ = two_campaigns
    page = admin_client_logged.get(CALLS, {"campaign__id__exact": spring.pk, "q": "garcía"}).content.decode()
    assert f'href="{EXPORT}?campaign__id__exact={spring.pk}&amp;q=garc%C3%ADa"' in page


@pytest.mark.parametrize(
    "query",
    [{"bogus__lookup": "1"}, {"campaign__id__exact": "x"}, {"campaign__id__exact": 10**30}, {"open": "\x00"}],
)
def test_an_export_of_filters_the_list_cannot_apply_goes_back_to_the_list(admin_client_logged, two_campaigns, query):
    response = admin_client_logged.get(EXPORT, query)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response["Location"] == f"{CALLS}?e=1"


def test_the_calls_list_does_not_read_transcripts(admin_client_logged, two_campaigns):
    *_, calls = two_campaigns
    Call.objects.filter(pk=calls["ana"].pk).update(transcript=[{"role": "agent", "text": "x" * 100_000}])
    with CaptureQueriesContext(connection) as queries:
        page = admin_client_logged.get(CALLS).content.decode()
    assert "+14155550101 · Ana García" in page
    assert not [q["sql"] for q in queries if '"transcript"' in q["sql"]]
    assert "x" * 1000 in _call_page(admin_client_logged, calls["ana"])


def test_a_report_with_a_transcript_opt_out_and_results_shows_on_the_page_and_in_the_export(admin_client_logged):
    campaign = make_campaign(name="Spring", max_calls_in_parallel=1)
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    services.campaign_start(campaign=campaign)
    pass_at_any_hour(QUIET)
    call = Call.objects.get(lead=lead)
    outcomes.outcome_receive(
        call.pk,
        Report(
            outcome="completed",
            duration_seconds=30,
            summary="Asked not to be called.",
            disposition="not-interested",
            transcript=[
                {"role": "agent", "text": "Hello Ana", "at": 0.5},
                {"role": "callee", "text": "Stop calling", "at": 3},
            ],
            opt_out=True,
            extracted_variables={"reason": "busy life"},
        ),
        payload={"outcome": "completed"},
        webhook_id="msg-opt-out",
        now=call.placed_at,
        actor=Actor.system(),
    )
    page = _call_page(admin_client_logged, call)
    assert page.count("call-turn call-turn-") == 2 and "Stop calling" in page and "not-interested" in page
    assert "the callee asked not to be called again" in page
    header, row = _export(admin_client_logged, {"q": "Ana"})
    row = dict(zip(header, row))
    assert row["opt_out"] == "true" and row["result_reason"] == "busy life" and row["lead_name"] == "Ana"
    entries = admin_client_logged.get(reverse("admin:leads_donotcallnumber_changelist")).content.decode()
    assert f"{lead.contacts.get(position=0).phone} · Ana</a>" in entries


def test_do_not_call_entries_a_call_added_name_its_lead_in_a_fixed_number_of_queries(
    admin_client_logged, django_assert_max_num_queries
):
    url = reverse("admin:leads_donotcallnumber_changelist")
    campaign = make_campaign()

    def add(n):
        for _ in range(n):
            lead = make_lead(campaign=campaign, variables={"customer_name": "Ana <b>"})
            call = make_call(
                lead,
                placed_at=at("2026-12-01T10:00:00Z"),
                outcome="completed",
                transcript=[{"role": "agent", "text": "x" * 10_000}],
            )
            DoNotCallNumber.objects.create(phone=call.phone, source="call", call=call)

    add(2)
    DoNotCallNumber.objects.create(phone="+14155550199", reason="asked by letter")
    admin_client_logged.get(url)
    with CaptureQueriesContext(connection) as few:
        page = admin_client_logged.get(url).content.decode()
    assert page.count("· Ana &lt;b&gt;</a>") == 2 and "asked by letter" in page
    assert not [q["sql"] for q in few if '"transcript"' in q["sql"]]
    add(30)
    with django_assert_max_num_queries(len(few)):
        assert admin_client_logged.get(url).content.decode().count("· Ana &lt;b&gt;</a>") == 32
    entry = DoNotCallNumber.objects.filter(call__isnull=False).first()
    page = admin_client_logged.get(reverse("admin:leads_donotcallnumber_change", args=[entry.pk])).content.decode()
    assert reverse("admin:leads_call_change", args=[entry.call_id]) in page
