"""The lead's own page clicked through in Chromium against a live server: its buttons,
its numbers' marks."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.tests.factories import make_campaign
from leads import transitions
from leads.models import DoNotCallNumber, Lead, LeadStatus, StatusChange
from leads.tests.factories import call_with_report, make_lead
from leads.transitions import Actor, Report
from leadsite.testing import INLINE_SCRIPTS_JS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_resets_a_lead_from_its_own_page(signed_in, operator):
    campaign = make_campaign(name="Spring")
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    transitions.complete(Lead.objects.filter(pk=lead.pk), actor=Actor.system())

    page = signed_in
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    expect(page.locator(".field-status_badge .lead-status")).to_have_text("Completed")
    page.locator("#lead-controls").get_by_role("button", name="Reset", exact=True).click()

    expect(page.locator("ul.messagelist")).to_contain_text("Reset 1 lead.")
    expect(page.locator(".field-status_badge .lead-status")).to_have_text("Created")
    assert page.url.endswith(f"/admin/leads/lead/{lead.pk}/change/")
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CREATED
    audit = StatusChange.objects.filter(lead=lead, source="admin").get()
    assert (audit.from_status, audit.to_status, audit.actor_id) == ("completed", "created", operator.pk)
    # And again: nothing to reset now, which the page says as the list would.
    page.locator("#lead-controls").get_by_role("button", name="Reset", exact=True).click()
    expect(page.locator("ul.messagelist")).to_contain_text("Reset 0 leads. Skipped 1: 1 already created.")
    assert page.evaluate(INLINE_SCRIPTS_JS) == []


def test_operator_reschedules_a_lead_from_its_own_page_with_the_date_and_time_widgets(signed_in):
    campaign = make_campaign(name="Spring")
    lead = make_lead(campaign=campaign)
    transitions.stop(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    day = timezone.localdate() + datetime.timedelta(days=2)

    page = signed_in
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    page.locator("#lead-controls").get_by_role("button", name="Reschedule…").click()
    expect(page.locator(".action-count")).to_contain_text("This applies to 1 lead")
    page.get_by_label("At this time").check()
    page.locator("#id_at_0").click()
    page.locator("#id_at_0").fill(day.isoformat())
    page.locator("#id_at_1").click()
    page.locator("#id_at_1").fill("18:30")
    page.get_by_role("button", name="Apply to 1 lead").click()

    expect(page.locator("ul.messagelist")).to_contain_text("Rescheduled 1 lead.")
    expect(page.locator(".field-status_badge .lead-status")).to_have_text("Rescheduled")
    lead.refresh_from_db()
    expected = datetime.datetime.combine(day, datetime.time(18, 30), tzinfo=timezone.get_current_timezone())
    assert (lead.status, lead.next_attempt_at) == (LeadStatus.RESCHEDULED, expected)


def test_operator_cancels_reschedule_and_is_back_on_the_lead(signed_in):
    lead = make_lead(campaign=make_campaign())
    page = signed_in
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    page.locator("#lead-controls").get_by_role("button", name="Reschedule…").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#lead-controls")).to_be_visible()
    assert page.url.endswith(f"/admin/leads/lead/{lead.pk}/change/")
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CREATED


def test_operator_puts_a_lead_on_the_do_not_call_list_from_its_page_and_sees_its_numbers_marked(signed_in):
    lead = make_lead(campaign=make_campaign(), primary="+14155550101", secondaries=["+12125550102"])
    page = signed_in
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    expect(page.locator(".field-primary_number_now")).not_to_contain_text("do-not-call")
    page.locator("#lead-controls").get_by_role("button", name="Do not call…").click()
    page.get_by_role("button", name="Apply to 1 lead").click()

    expect(page.locator("ul.messagelist")).to_contain_text("Marked do not call: 1 lead.")
    expect(page.locator(".field-status_badge .lead-status")).to_have_text("Do not call")
    expect(page.locator(".field-primary_number_now")).to_contain_text("On the do-not-call list since")
    expect(page.locator("#contacts-0 .field-now")).to_contain_text("On the do-not-call list since")
    # Nothing is left to do to it: the buttons say why and are off.
    expect(page.locator("#lead-controls-note")).to_contain_text("on the do-not-call list")
    expect(page.locator("#lead-controls button:enabled")).to_have_count(0)
    assert DoNotCallNumber.objects.count() == 2


def test_a_lead_in_a_call_shows_its_buttons_off_saying_a_call_is_in_progress(signed_in):
    lead = make_lead(campaign=make_campaign())
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.PROCESSING)  # the dialer's claim
    page = signed_in
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    expect(page.locator("#lead-controls-note")).to_contain_text("A call is in progress")
    expect(page.locator("#lead-controls button")).to_have_count(5)
    expect(page.locator("#lead-controls button:enabled")).to_have_count(0)


def test_operator_reads_a_leads_results_and_has_its_recording_in_a_player(signed_in, live_server):
    lead = make_lead(campaign=make_campaign(), variables={"customer_name": "Ana"})
    recording = f"{live_server.url}/static/leadsite/missing-recording.mp3"
    call = call_with_report(
        lead,
        Report(
            outcome="completed",
            duration_seconds=95,
            goal_achieved=True,
            extracted_variables={"booked": True, "slot": "<b>Tue</b> 10:00"},
            summary="Booked a check-up.",
            recording_url=recording,
            disposition="interested",
        ),
    )
    page = signed_in
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    results = page.locator("fieldset.lead-results")
    expect(results.locator(".field-result_goal")).to_contain_text("Yes")
    expect(results.locator(".field-result_disposition")).to_contain_text("interested")
    expect(results.locator(".field-result_duration")).to_contain_text("1 min 35 s")
    expect(results.locator("audio[controls]")).to_have_attribute("src", recording)
    expect(results.locator(".lead-result-values tbody tr")).to_have_count(2)
    expect(results.locator(".lead-result-values")).to_contain_text("<b>Tue</b> 10:00")
    results.get_by_role("link", name="the call of").click()
    assert page.url.endswith(f"/admin/leads/call/{call.pk}/change/")


def test_operator_sets_a_leads_consent_on_its_page_and_filters_the_list_by_it(signed_in):
    campaign = make_campaign(name="Spring", requires_consent="express-written")
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    other = make_lead(campaign=campaign, variables={"customer_name": "Ben"})
    day = (timezone.localdate() - datetime.timedelta(days=3)).isoformat()

    page = signed_in
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    consent = page.locator("fieldset", has=page.locator("h2", has_text="Consent"))
    expect(consent).to_contain_text("never dials a lead without it")
    consent.locator("#id_consent").select_option("express-written")
    page.locator("#id_consent_at_0").fill(day)
    page.locator("#id_consent_at_1").fill("10:15:00")
    consent.locator("#id_consent_source").fill("<b>web form</b>")
    consent.locator("#id_consent_certificate").fill("https://cert.example.com/1")
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.consent, saved.consent_source, saved.consent_certificate) == (
        "express-written",
        "<b>web form</b>",
        "https://cert.example.com/1",
    )
    assert timezone.localtime(saved.consent_at).strftime("%Y-%m-%d %H:%M") == f"{day} 10:15"

    # The list's sidebar: by level, then the leads that lack what their campaign requires.
    page.goto("/admin/leads/lead/")
    filters = page.locator("#lead-filters")
    filters.get_by_label("Express written").check()
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody")).to_contain_text("Ana")
    page.goto("/admin/leads/lead/")
    page.locator("#lead-filters").get_by_label("Lacks the consent its campaign requires").select_option("true")
    page.locator("#lead-filters").get_by_role("button", name="Filter").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody")).to_contain_text("Ben")
    assert other.pk != lead.pk
    assert page.evaluate(INLINE_SCRIPTS_JS) == []
