"""What every Leadsite admin list shares: a filter PostgreSQL could not even compare
(a NUL character) is an incorrect filter, never a server error."""

import re

import pytest
from django.urls import reverse

from leads.tests.factories import pass_at_any_hour

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("admin:leads_lead_changelist", {"status": "a\x00"}),
        ("admin:leads_lead_changelist", {"variable": "a", "value": "b\x00"}),
        ("admin:leads_lead_changelist", {"q": "a\x00b"}),
        ("admin:leads_call_changelist", {"outcome": "\x00"}),
        ("admin:leads_call_changelist", {"lead": "\x00"}),
        ("admin:leads_statuschange_changelist", {"source": "\x00"}),
        ("admin:leads_statuschange_changelist", {"to_status\x00": "created"}),
        ("admin:leads_exportrecord_changelist", {"status": "\x00"}),
        ("admin:leads_importrecord_changelist", {"status": "\x00"}),
        ("admin:leads_donotcallnumber_changelist", {"q": "\x00"}),
        ("admin:campaigns_campaign_changelist", {"status": "\x00"}),
        ("admin:leads_lead_export", {"status": "\x00"}),
    ],
)
def test_a_nul_character_in_a_filter_is_an_incorrect_filter(admin_client_logged, url, params):
    response = admin_client_logged.get(reverse(url), params)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")


# --- a filter value the database cannot compare -------------------------------------

BIG = "99999999999999999999"
BAD_IDS = [BIG, "-" + BIG, "9223372036854775808", "\x00", "1\x00", "abc", "1.5"]
BAD_DATES = ["2026-13-45", BIG, "-" + BIG, "\x00", "abc", "99999-01-01"]


@pytest.fixture
def every_list_has_rows():
    """Two assistants, two campaigns (so their list filters show), leads with a call
    and status changes, an export record and a do-not-call number."""
    from campaigns import services
    from campaigns.tests.factories import make_campaign
    from leads import services as lead_services
    from leads.dialer.backends.simulated import SimulatedBackend
    from leads.models import ExportRecord
    from leads.tests.factories import make_lead, phone
    from leads.transitions import Actor

    spring, autumn = make_campaign(name="Spring"), make_campaign(name="Autumn")
    for campaign in (spring, autumn):
        make_lead(campaign=campaign)
    services.campaign_start(campaign=spring)
    pass_at_any_hour(SimulatedBackend(seed=1, duration_scale=1000))
    ExportRecord.objects.create(file_format="csv", filters="", columns=[])
    lead_services.do_not_call_add(phones=[phone()], actor=Actor.system())
    return spring


# Each list with its id-like and date filters.
FILTERS = {
    "leads_lead": [
        "campaign",
        "attempts_min",
        "attempts_max",
        "created_from",
        "last_attempt_to",
        "id",
        "campaign__id__exact",
    ],
    "leads_call": ["campaign__id__exact", "lead", "lead__id__exact", "id", "placed_at__gte", "placed_at__lt"],
    "leads_statuschange": ["q", "lead", "id", "pk", "id__gt"],
    "leads_importrecord": ["campaign__id__exact", "id", "created_by"],
    "leads_exportrecord": ["id", "id__lt", "created_by"],
    "leads_donotcallnumber": ["id", "added_by"],
    "campaigns_campaign": ["assistant__id__exact", "id", "pk"],
    "campaigns_assistant": ["id", "pk", "id__in"],
}
DATE_FILTERS = {"created_from", "last_attempt_to", "placed_at__gte", "placed_at__lt"}


def refused(client, url: str, params: dict) -> bool:
    """The list answered "incorrect filter": Django's ?e=1 state with a message, or (the
    leads list) its filter form's error and no rows. Never a server error."""
    response = client.get(url, params)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")
        shown = client.get(response["Location"])
        assert shown.status_code == 200
        assert "could not be filtered as asked" in shown.content.decode()
        return True
    assert response.status_code == 200
    return 'class="errornote"' in response.content.decode() and not list(response.context["cl"].result_list)


@pytest.mark.parametrize("page", list(FILTERS))
def test_an_out_of_range_or_malformed_id_or_date_is_an_incorrect_filter_on_every_list(
    admin_client_logged, every_list_has_rows, page
):
    url = reverse(f"admin:{page}_changelist")
    for name in FILTERS[page]:
        for value in BAD_DATES if name in DATE_FILTERS else BAD_IDS:
            if name == "q" and value not in ("\x00", "1\x00"):
                continue  # a search, not a filter: tested with the status changes list
            assert refused(admin_client_logged, url, {name: value}), (name, value)


@pytest.mark.parametrize(
    ("page", "name"), [("leads_call", "campaign__id__exact"), ("campaigns_campaign", "assistant__id__exact")]
)
def test_a_filter_with_a_single_choice_is_still_applied(admin_client_logged, page, name):
    # With one campaign (one assistant) Django drops the filter from the sidebar,
    # and used to drop its parameter with it: another id showed every row.
    from campaigns import services
    from campaigns.tests.factories import make_campaign
    from leads.dialer.backends.simulated import SimulatedBackend
    from leads.tests.factories import make_lead

    campaign = make_campaign(name="Only")
    make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    pass_at_any_hour(SimulatedBackend(seed=1, duration_scale=1000))
    url = reverse(f"admin:{page}_changelist")
    own = campaign.pk if name.startswith("campaign") else campaign.assistant_id
    mine = admin_client_logged.get(url, {name: own}).context["cl"]
    other = admin_client_logged.get(url, {name: own + 1000}).context["cl"]
    assert mine.result_count == 1
    assert other.result_count == 0


@pytest.mark.parametrize("page", list(FILTERS))
def test_a_parameter_that_is_no_filter_of_a_list_is_an_incorrect_filter(admin_client_logged, every_list_has_rows, page):
    url = reverse(f"admin:{page}_changelist")
    assert refused(admin_client_logged, url, {"goal": "true"})
    assert admin_client_logged.get(url, {"o": "1", "q": "", "all": "", "p": "1"}).status_code == 200


# --- the actions and permissions each page offers ------------------------------------

# What a superuser is offered on every registered list: the bulk delete only where
# deleting a row in bulk is harmless (not leads, campaigns or do-not-call numbers).
ACTIONS = {
    "auth.Group": ["delete_selected"],
    "auth.User": ["delete_selected"],
    "django_tasks_database.DBTaskResult": [],
    "axes.AccessFailureLog": ["delete_selected"],
    "axes.AccessAttempt": ["delete_selected", "cleanup_expired_attempts"],
    "axes.AccessLog": ["delete_selected"],
    "campaigns.Assistant": ["delete_selected"],
    "campaigns.Campaign": [],
    "campaigns.CallingRule": [],
    "leads.Lead": [
        "reset_leads",
        "complete_leads",
        "reschedule_leads",
        "stop_leads",
        "do_not_call",
        "move_to_campaign",
    ],
    "leads.StatusChange": [],
    "leads.DoNotCallNumber": ["remove_from_list"],
    "leads.Call": [],
    "leads.ExportRecord": [],
    "leads.ImportRecord": [],
}

ALL, VIEW_ONLY = (True, True, True, True), (False, False, False, True)
# A superuser's (add, change, delete, view) on each page, and on each of its inlines.
PERMISSIONS = {
    "auth.Group": ALL,
    "auth.User": ALL,
    "django_tasks_database.DBTaskResult": VIEW_ONLY,
    "axes.AccessFailureLog": (False, True, True, True),
    "axes.AccessAttempt": (False, True, True, True),
    "axes.AccessLog": (False, True, True, True),
    "campaigns.Assistant": ALL,
    "campaigns.Campaign": ALL,
    "campaigns.CallingRule": ALL,
    "leads.Lead": ALL,
    "leads.StatusChange": VIEW_ONLY,
    "leads.DoNotCallNumber": ALL,
    "leads.Call": VIEW_ONLY,
    "leads.ExportRecord": VIEW_ONLY,
    "leads.ImportRecord": (True, False, False, True),
}
# A history inline is read-only (it never offered deleting a row: can_delete is off).
HISTORY = (False, False, False, True)
INLINES = {
    "campaigns.Assistant": {"VariableInline": (ALL, True)},
    "leads.Lead": {
        "SecondaryNumberInline": (ALL, True),
        "CallHistoryInline": (HISTORY, False),
        "StatusHistoryInline": (HISTORY, False),
    },
    "leads.Call": {"CallReportInline": (HISTORY, False)},
}


def _registered():
    from django.apps import apps
    from django.contrib import admin

    return {
        model._meta.label: admin.site.get_model_admin(model)
        for model in apps.get_models()
        if admin.site.is_registered(model)
    }


@pytest.fixture
def superuser_request(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    return request


def _permissions(model_admin, request, *args) -> tuple[bool, ...]:
    return tuple(
        getattr(model_admin, f"has_{p}_permission")(request, *args) for p in ("add", "change", "delete", "view")
    )


def test_every_page_offers_its_own_actions(superuser_request):
    offered = {label: list(model_admin.get_actions(superuser_request)) for label, model_admin in _registered().items()}
    assert offered == ACTIONS


def test_every_page_and_inline_keeps_its_permissions(superuser_request):
    registered = _registered()
    assert {label: _permissions(model_admin, superuser_request) for label, model_admin in registered.items()} == (
        PERMISSIONS
    )
    inlines = {
        label: {
            type(inline).__name__: (_permissions(inline, superuser_request, None), inline.can_delete)
            for inline in model_admin.get_inline_instances(superuser_request)
        }
        for label, model_admin in registered.items()
    }
    assert {label: found for label, found in inlines.items() if found} == INLINES


# --- every time shown names its zone ----------------------------------------------

ZONED = r"\b20\d\d-\d\d-\d\d \d\d:\d\d E[SD]T\b"
# Django's own datetime format ("Dec. 3, 2026, 2:05 p.m."), which names no zone.
UNZONED = r"\b(a\.m\.|p\.m\.|midnight|noon)"


def _pages(campaign) -> list[str]:
    from leads.models import Call, ExportRecord, ImportRecord, Lead

    lead = Lead.objects.filter(campaign=campaign).first()
    ImportRecord.objects.create(campaign=campaign, file_name="leads.csv", status=ImportRecord.Status.DONE)
    return [
        reverse("admin:leads_lead_changelist"),
        reverse("admin:leads_lead_change", args=[lead.pk]),
        reverse("admin:leads_call_changelist"),
        reverse("admin:leads_call_change", args=[Call.objects.first().pk]),
        reverse("admin:leads_statuschange_changelist"),
        reverse("admin:leads_importrecord_changelist"),
        reverse("admin:leads_importrecord_detail", args=[ImportRecord.objects.get().pk]),
        reverse("admin:leads_exportrecord_changelist"),
        reverse("admin:leads_exportrecord_change", args=[ExportRecord.objects.get().pk]),
        reverse("admin:leads_donotcallnumber_changelist"),
        reverse("admin:campaigns_campaign_changelist"),
        reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
    ]


def test_every_time_shown_names_its_zone(admin_client_logged, every_list_has_rows, settings):
    settings.TIME_ZONE = "America/New_York"
    for url in _pages(every_list_has_rows):
        response = admin_client_logged.get(url, follow=True)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert re.search(ZONED, html), url
        assert not re.search(UNZONED, html), (url, re.search(UNZONED, html))


def test_the_campaign_page_names_the_zone_of_its_next_call(admin_client_logged, settings):
    from campaigns import services
    from campaigns.tests.factories import make_campaign
    from leads.models import Lead
    from leads.tests.factories import make_lead

    settings.TIME_ZONE = "America/New_York"
    campaign = make_campaign()
    lead = make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    Lead.objects.filter(pk=lead.pk).update(status="rescheduled", next_attempt_at="2099-07-01T16:00Z")
    html = admin_client_logged.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "2099-07-01 12:00 EDT" in html  # summer: EDT, four hours behind UTC
    assert not re.search(UNZONED, html)


@pytest.mark.parametrize(
    ("zone", "moment", "shown"),
    [
        ("America/New_York", "2026-12-03T19:05:00+00:00", "2026-12-03 14:05 EST"),
        ("America/New_York", "2026-07-01T16:00:00+00:00", "2026-07-01 12:00 EDT"),
        ("UTC", "2026-12-03T19:05:00+00:00", "2026-12-03 19:05 UTC"),
        ("Europe/Berlin", "2026-12-03T19:05:00+00:00", "2026-12-03 20:05 CET"),
    ],
)
def test_local_time_names_the_zone_as_the_pages_do(settings, zone, moment, shown):
    import datetime

    from leadsite.admin import local_time

    settings.TIME_ZONE = zone
    assert local_time(datetime.datetime.fromisoformat(moment)) == shown
    assert local_time(None) == "—"
