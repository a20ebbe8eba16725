"""Operator comforts clicked through in Chromium: the wide lists fit a 1440-pixel
screen, the do-not-call form reads a national number in its country, the search finds
a name typed without its accents."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from campaigns import services as campaign_services
from campaigns.tests.factories import make_assistant, make_campaign
from leads.dialer import outcomes
from leads.dialer.backends.simulated import SimulatedBackend
from leads.models import Call, DoNotCallNumber, ImportRecord, Lead, LeadStatus
from leads.tests.factories import make_lead, pass_at_any_hour
from leads.transitions import Actor, Report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1440, "height": 900}
LONG = "Ana María de los Ángeles García-Fernández y Castillo-Dubois"
# How far the page is wider than the window, or the list wider than its box (Django's
# admin scrolls a wide list inside its own box): 0 or less, no horizontal scroll.
OVERFLOW_JS = """() => Math.max(
  document.documentElement.scrollWidth - window.innerWidth,
  ...Array.from(document.querySelectorAll("#changelist .results")).map((box) => box.scrollWidth - box.clientWidth),
)"""


@pytest.fixture
def wide(chromium, live_server, operator) -> Iterator:
    """A signed-in page in a 1440x900 window, as an operator's laptop or monitor has."""
    context = chromium.new_context(base_url=live_server.url, viewport=WIDE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "pw-operator-1")
    page.click("input[type=submit]")
    expect(page.locator("#content")).to_be_visible()
    yield page
    context.close()


def _wide_rows() -> None:
    """Rows as wide as real ones get: long names and values in every column."""
    assistant = make_assistant(variables=[{"name": "customer_name"}, {"name": "company"}, {"name": "appointment_type"}])
    campaign = make_campaign(
        name="Spring dental check-up reminders for returning patients 2026",
        assistant=assistant,
        max_calls_in_parallel=3,
    )
    for n in range(3):
        make_lead(
            campaign=campaign,
            variables={
                "customer_name": f"{LONG} {n}",
                "company": "Acme Dental Practice and Orthodontics of Greater Springfield",
                "appointment_type": "check-up and cleaning with the hygienist, followed by x-rays",
            },
        )
    campaign_services.campaign_start(campaign=campaign)
    pass_at_any_hour(SimulatedBackend(seed=1, duration_scale=1000))
    for call in Call.objects.filter(ended_at__isnull=True):
        outcomes.outcome_receive(
            call.pk,
            Report(
                outcome="completed",
                summary="The callee confirmed the appointment and asked for a reminder the day before. " * 3,
                recording_url="https://recordings.example.com/" + "a" * 120 + ".mp3",
                goal_achieved=True,
                disposition="appointment-booked-for-next-week",
                extracted_variables={
                    "appointment_time": "Tuesday 15:00, with Dr. Castillo-Dubois in the Springfield practice",
                    "insurance_provider": "Blue Cross Blue Shield of Greater Springfield",
                },
            ),
            payload={},
            webhook_id=f"w-{call.pk}",
            now=call.placed_at,
            actor=Actor.system(),
        )
    ImportRecord.objects.create(
        campaign=campaign,
        file_name="spring-dental-check-up-reminders-returning-patients-export-from-crm-2026-12-03.xlsx",
        status=ImportRecord.Status.DONE,
        rows_new=123_456,
        rows_updated=12_345,
        rows_skipped=1_234,
        rows_rejected=123,
    )


@pytest.mark.parametrize(
    "path",
    ["/admin/leads/lead/", "/admin/leads/call/", "/admin/leads/statuschange/", "/admin/leads/importrecord/"],
)
def test_the_wide_lists_fit_a_1440_pixel_screen(wide, path):
    _wide_rows()
    wide.goto(path)
    expect(wide.locator("#result_list tbody tr").first).to_be_visible()
    overflow = wide.evaluate(OVERFLOW_JS)
    if overflow > 0:
        shot = f"/tmp/leadsite-1440-{path.strip('/').replace('/', '-')}.png"
        wide.screenshot(path=shot)
        pytest.fail(f"{path} is {overflow} pixels wider than a 1440-pixel screen (see {shot})")


def test_operator_puts_a_national_number_on_the_do_not_call_list(wide, settings):
    """The form offers the site's country; a number typed as people say it is read in
    it, and hostile input gets its reason back on the form."""
    settings.LEADS_DEFAULT_COUNTRY = "US"
    lead = make_lead(campaign=make_campaign(), primary="+14155550101")
    page = wide
    page.goto("/admin/leads/donotcallnumber/")
    page.get_by_role("link", name="Add do-not-call number").click()
    expect(page.locator("#id_country")).to_have_value("US")

    page.fill("#id_phone", "<b>call me</b>")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("is not a phone number")
    assert not DoNotCallNumber.objects.exists()

    page.fill("#id_phone", "(415) 555-0101")
    page.fill("#id_country", "zz")
    page.click("input[name=_save]")
    expect(page.locator("#id_country_error")).to_contain_text("ZZ is not a two-letter country code")

    page.fill("#id_country", "us")
    page.fill("#id_reason", "Asked on the phone")
    page.click("input[name=_save]")
    expect(page.locator("ul.messagelist")).to_contain_text("Marked do not call: 1 lead")
    expect(page.locator("#result_list")).to_contain_text("+14155550101")
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.BLACKLISTED


def test_operator_finds_a_lead_by_a_name_typed_without_its_accents(wide):
    campaign = make_campaign()
    found = make_lead(campaign=campaign, variables={"customer_name": "José Müller-García"})
    make_lead(campaign=campaign, variables={"customer_name": "Jose Miller"})
    page = wide
    page.goto("/admin/leads/lead/")
    page.fill("#searchbar", "MULLER-GARCIA")
    page.locator("#changelist-search input[type=submit]").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text(found.contacts.get(position=0).phone)
    expect(page.locator("#result_list")).to_contain_text("José Müller-García")
