"""The lead page's Consent section (leads.forms, leads/admin/leads.py): shown apart,
validated by leads.consent's rules, saved by the lead's services; the list's consent
filters; and the campaign page's requires_consent."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.tests.factories import make_assistant, make_campaign
from leads.models import Lead
from leads.tests.factories import make_lead
from leads.tests.test_admin import edit_data, inline_management

pytestmark = pytest.mark.django_db

ADD = reverse("admin:leads_lead_add")
LIST = reverse("admin:leads_lead_changelist")
HOSTILE = '<script>window.xssRan=1</script><img src=x onerror="window.xssRan=2">'


@pytest.fixture
def campaign():
    assistant = make_assistant(variables=[{"name": "customer_name", "required": True}])
    return make_campaign(assistant=assistant, default_country="US")


def change_url(lead: Lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


def consent_data(**changes) -> dict:
    return {
        "consent": "express-written",
        "consent_at_0": "2026-01-15",
        "consent_at_1": "09:30:00",
        "consent_source": "https://forms.example.com/check-up",
        "consent_certificate": "https://cert.trustedform.com/abc123",
        **changes,
    }


def test_the_lead_page_groups_the_consent_fields_and_says_what_each_level_means(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    response = admin_client_logged.get(change_url(lead))
    fieldsets = response.context["adminform"].model_admin.get_fieldsets(response.wsgi_request, lead)
    assert [name for name, _ in fieldsets] == [None, "Consent", "Results"]
    assert fieldsets[1][1]["fields"] == ["consent", "consent_at", "consent_source", "consent_certificate"]
    html = response.content.decode()
    assert "never dials a lead without it" in html
    assert re.search(r"<b>Express written</b>: a written", html)
    assert '<option value="existing-relationship">Existing business relationship</option>' in html


def test_adding_a_lead_saves_its_consent(admin_client_logged, campaign, settings):
    settings.TIME_ZONE = "America/New_York"
    data = {"primary_phone": "+14155550101", "var_customer_name": "Ana", **inline_management(), **consent_data()}
    response = admin_client_logged.post(ADD + f"?campaign={campaign.pk}", data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    lead = Lead.objects.get()
    assert (lead.consent, lead.consent_at, lead.consent_source, lead.consent_certificate) == (
        "express-written",
        datetime.datetime(2026, 1, 15, 14, 30, tzinfo=datetime.UTC),  # 09:30 in New York
        "https://forms.example.com/check-up",
        "https://cert.trustedform.com/abc123",
    )


def test_editing_a_lead_changes_its_consent_and_a_post_without_it_keeps_it(admin_client_logged, campaign):
    lead = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    response = admin_client_logged.post(change_url(lead), edit_data(lead, **consent_data(consent="express")))
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.consent == "express" and lead.consent_source == "https://forms.example.com/check-up"
    # A post from a form that has no consent field (an older page) leaves the level alone.
    response = admin_client_logged.post(change_url(lead), edit_data(lead, var_customer_name="Ana B"))
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.consent == "express"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"consent": "yes"}, "consent", "Select a valid choice"),
        ({"consent_at_0": "2999-01-01"}, "consent_at", "This date is in the future"),
        ({"consent_at_0": "1969-12-31"}, "consent_at", "This date is before 1970"),
        ({"consent_at_0": "0001-01-01", "consent_at_1": "00:00"}, "consent_at", "before 1970"),
        ({"consent_at_0": "99999-01-01"}, "consent_at", "Enter a valid date"),
        ({"consent_at_0": "2026-13-45"}, "consent_at", "Enter a valid date"),
        ({"consent_certificate": "javascript:alert(1)"}, "consent_certificate", "http or https"),
        ({"consent_certificate": "ftp://example.com/c"}, "consent_certificate", "http or https"),
        ({"consent_certificate": "data:text/html,<b>x</b>"}, "consent_certificate", "http or https"),
        ({"consent_source": "x" * 1001}, "consent_source", "at most 1000"),
        ({"consent_source": "a\x00b"}, "consent_source", "Null characters are not allowed"),
    ],
)
def test_bad_consent_is_refused_with_the_reason_and_nothing_saved(
    admin_client_logged, campaign, changes, field, message
):
    data = {"primary_phone": "+14155550101", "var_customer_name": "Ana", **inline_management()}
    data.update(consent_data(**changes))
    response = admin_client_logged.post(ADD + f"?campaign={campaign.pk}", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    assert not Lead.objects.exists()


def test_the_consent_source_is_shown_as_text(admin_client_logged, viewer, campaign):
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    Lead.objects.filter(pk=lead.pk).update(consent="express", consent_source=HOSTILE)
    for client in (admin_client_logged, viewer):
        html = client.get(change_url(lead)).content.decode()
        assert "<script>window.xssRan" not in html and "onerror=" not in html.replace("onerror=&quot;", "")
        assert "&lt;script&gt;window.xssRan=1&lt;/script&gt;" in html


def test_a_view_only_user_sees_the_consent(viewer, campaign):
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    at = timezone.now() - datetime.timedelta(days=3)
    Lead.objects.filter(pk=lead.pk).update(
        consent="existing-relationship", consent_at=at, consent_certificate="https://c.example/1"
    )
    html = viewer.get(change_url(lead)).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Consent: Existing business relationship" in text
    assert "https://c.example/1" in text


# --- the list's filters -------------------------------------------------------------


def shown(response) -> set[int]:
    return {lead.pk for lead in response.context["cl"].result_list}


def test_the_list_filters_by_consent_its_date_and_what_the_campaign_requires(admin_client_logged, campaign):
    strict = make_campaign(assistant=campaign.assistant, name="Strict", requires_consent="express-written")
    day = timezone.now() - datetime.timedelta(days=10)
    none = make_lead(campaign=strict, variables={"customer_name": "A"})
    express = make_lead(campaign=strict, variables={"customer_name": "B"})
    written = make_lead(campaign=strict, variables={"customer_name": "C"})
    free = make_lead(campaign=campaign, variables={"customer_name": "D"})
    Lead.objects.filter(pk=express.pk).update(consent="express", consent_at=day)
    Lead.objects.filter(pk=written.pk).update(consent="express-written", consent_at=day - datetime.timedelta(days=5))

    def filtered(query: str) -> set[int]:
        response = admin_client_logged.get(f"{LIST}?{query}")
        assert response.status_code == 200
        return shown(response)

    assert filtered("consent=express") == {express.pk}
    assert filtered("consent=express&consent=express-written") == {express.pk, written.pk}
    assert filtered("consent=none") == {none.pk, free.pk}
    iso = timezone.localdate(day).isoformat()
    assert filtered(f"consent_from={iso}&consent_to={iso}") == {express.pk}
    assert filtered(f"consent_to={iso}") == {express.pk, written.pk}
    assert filtered("consent_missing=true") == {none.pk, express.pk}
    assert filtered("consent_missing=false") == {written.pk, free.pk}
    assert filtered(f"consent_missing=true&campaign={campaign.pk}") == set()


@pytest.mark.parametrize(
    "query", ["consent=yes", "consent_from=tomorrow", "consent_to=99999-01-01", "consent_missing=maybe"]
)
def test_a_consent_filter_that_cannot_be_read_shows_why_and_no_leads(admin_client_logged, campaign, query):
    make_lead(campaign=campaign, variables={"customer_name": "A"})
    response = admin_client_logged.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert shown(response) == set()
    assert 'class="errornote"' in response.content.decode()


# --- the campaign page --------------------------------------------------------------


def test_the_campaign_page_explains_and_saves_requires_consent(admin_client_logged, campaign):
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    response = admin_client_logged.get(url)
    fieldsets = dict(response.context["adminform"].model_admin.get_fieldsets(response.wsgi_request, campaign))
    assert fieldsets["Consent"]["fields"] == ["requires_consent"]
    text = response.content.decode()
    assert "Leads without it are never claimed" in text and "Express written satisfies express" in text
