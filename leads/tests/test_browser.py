"""Operator flows clicked through in Chromium against a live server."""

import re

import pytest
from playwright.sync_api import expect

from campaigns.tests.factories import make_assistant, make_campaign
from leads import transitions
from leads.models import Lead, LeadStatus
from leads.tests.factories import make_lead
from leads.transitions import Actor
from leadsite.testing import UNNAMED_SELECTS_JS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_filters_the_list_and_resets_a_selection(signed_in):
    campaign = make_campaign(name="Spring")
    done = [make_lead(campaign=campaign, variables={"customer_name": f"Done {i}"}) for i in range(3)]
    make_lead(campaign=campaign, variables={"customer_name": "Fresh"})
    transitions.complete(Lead.objects.filter(pk__in=[lead.pk for lead in done]), actor=Actor.system())

    page = signed_in
    page.get_by_label("Completed", exact=True).check()
    page.locator("#lead-filters input[type=submit]").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    expect(page.locator("#result_list")).not_to_contain_text("Fresh")

    rows = page.locator("#result_list tbody tr")
    rows.nth(0).locator("input.action-select").check()
    rows.nth(1).locator("input.action-select").check()
    page.select_option("select[name=action]", "reset_leads")
    page.click("button[name=index]")

    expect(page.locator("ul.messagelist")).to_contain_text("Reset 2 leads.")
    assert Lead.objects.filter(status=LeadStatus.CREATED).count() == 3
    assert Lead.objects.filter(status=LeadStatus.COMPLETED).count() == 1


def test_operator_adds_a_lead_with_a_secondary_number(signed_in):
    assistant = make_assistant(variables=[{"name": "customer_name", "required": True}])
    campaign = make_campaign(name="Renewals", assistant=assistant, default_country="US")

    page = signed_in
    page.get_by_role("link", name=re.compile("Add lead", re.I)).click()
    page.select_option("#id_campaign", str(campaign.pk))
    page.get_by_role("button", name="Continue").click()
    page.fill("#id_primary_phone", "(415) 555-0101")
    page.fill("#id_var_customer_name", "Ana López")
    page.fill("#id_contacts-0-phone", "212 555 0102")
    page.click("input[name=_save]")

    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    lead = Lead.objects.get()
    assert list(lead.contacts.order_by("position").values_list("phone", flat=True)) == ["+14155550101", "+12125550102"]
    assert lead.contacts.get(position=0).variables == {"customer_name": "Ana López"}


def test_operator_reorders_and_removes_secondary_numbers(signed_in):
    assistant = make_assistant(variables=[{"name": "customer_name", "required": True}])
    campaign = make_campaign(assistant=assistant, default_country="US")
    lead = make_lead(
        campaign=campaign,
        primary="+14155550101",
        secondaries=["+12125550102", "+13055550103", "+16175550104"],
        variables={"customer_name": "Ana"},
    )

    page = signed_in
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    page.fill("#id_contacts-0-order", "3")  # +12125550102 goes last
    page.fill("#id_contacts-1-order", "1")
    page.fill("#id_contacts-2-order", "2")
    page.check("#id_contacts-2-DELETE")  # and +16175550104 goes
    page.click("input[name=_save]")

    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    assert list(lead.contacts.order_by("position").values_list("phone", flat=True)) == [
        "+14155550101",
        "+13055550103",
        "+12125550102",
    ]


def test_operator_filters_the_list_exports_it_and_opens_the_file(signed_in):
    import csv

    campaign = make_campaign(name="Renewals")
    done = [make_lead(campaign=campaign, variables={"customer_name": f"Done {i}"}) for i in range(2)]
    make_lead(campaign=campaign, variables={"customer_name": "Still to call"})
    transitions.complete(Lead.objects.filter(pk__in=[lead.pk for lead in done]), actor=Actor.system())
    page = signed_in

    page.goto("/admin/leads/lead/")
    page.get_by_label("Completed", exact=True).check()
    page.locator("#lead-filters input[type=submit]").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.click("a.export_link")
    expect(page.locator("main, #content").first).to_contain_text("exactly the 2 leads the list shows")
    # CSV is chosen already: the operator only submits.
    expect(page.locator("#id_format option:checked")).to_have_text("csv")
    with page.expect_download() as download:
        page.click("input[type=submit][value=Submit]")
    assert download.value.suggested_filename.startswith("leads-all-completed-")
    rows = list(csv.reader(download.value.path().read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:2] == ["phone_number", "customer_name"]
    assert sorted(row[1] for row in rows[1:]) == ["Done 0", "Done 1"]


def test_operator_exports_xlsx_follows_its_progress_and_downloads_it(signed_in, settings):
    import io

    import openpyxl

    from leads.exports import services as exports
    from leads.models import ExportRecord

    # Larger than django-import-export's in-memory export takes, and a real worker
    # (not the inline one): the export waits in the queue.
    settings.LEADS_EXPORT_IN_MEMORY_MAX = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    campaign = make_campaign(name="Renewals")
    for i in range(4):
        make_lead(campaign=campaign, variables={"customer_name": f"Ana {i}"})
    page = signed_in
    page.goto(f"/admin/leads/lead/?campaign={campaign.pk}")
    page.click("a.export_link")
    page.select_option("#id_format", label="xlsx")
    page.get_by_label("Timezone").uncheck()  # a column left out
    page.click("input[type=submit][value=Submit]")

    expect(page.locator("#export-status")).to_have_text("Being written")
    record = ExportRecord.objects.get()
    ExportRecord.objects.filter(pk=record.pk).update(rows_written=1)  # the worker is under way
    expect(page.locator("#export-progress-text")).to_have_text("1 of 4 leads (25%)")

    # What the worker does with the queued task.
    exports.export_xlsx_run(record=record, leads=exports.export_leads_of(record))
    expect(page.locator("#export-status")).to_have_text("Done", timeout=10_000)
    with page.expect_download() as download:
        page.click("#export-download")
    assert download.value.suggested_filename.startswith(
        "leads-renewals-"
    ) and download.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert "timezone" not in header and header[:2] == ["phone_number", "customer_name"]
    assert sorted(row[1] for row in sheet.iter_rows(min_row=2, values_only=True)) == [f"Ana {i}" for i in range(4)]


def test_two_statuses_survive_a_search_select_all_an_action_and_the_export(signed_in):
    """Rescheduled and Completed ticked, then a search: the rows, "select all", the
    action and the export all keep both statuses (a search used to keep the last)."""
    import datetime

    from django.utils import timezone

    from leads.models import Contact, StatusChange
    from leads.tests.factories import bulk_leads

    campaign = make_campaign(name="Spring")
    leads = bulk_leads(campaign, 130)  # more than a page of 100: "select all" reaches past it
    ids = [lead.pk for lead in leads]
    Contact.objects.filter(lead_id__in=ids).update(variables={"customer_name": "Ana"})
    later = timezone.now() + datetime.timedelta(days=1)
    transitions.reschedule(Lead.objects.filter(pk__in=ids[:60]), at=later, actor=Actor.system())
    transitions.complete(Lead.objects.filter(pk__in=ids[60:120]), actor=Actor.system())
    # ids[120:] stay Created: the search matches them, the statuses do not.
    bob = [make_lead(campaign=campaign, variables={"customer_name": "Bob"}) for _ in range(3)]
    transitions.complete(Lead.objects.filter(pk__in=[lead.pk for lead in bob]), actor=Actor.system())
    chosen = set(ids[:120])

    page = signed_in
    page.get_by_label("Rescheduled", exact=True).check()
    page.get_by_label("Completed", exact=True).check()
    page.locator("#lead-filters input[type=submit]").click()
    page.fill("#searchbar", "Ana")
    page.locator("#changelist-search input[type=submit]").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(100)
    expect(page.locator("#changelist-search")).to_contain_text("120 results")
    assert sorted(re.findall(r"status=([a-z-]+)", page.url)) == ["completed", "rescheduled"]

    # The export link holds the same leads.
    page.click("a.export_link")
    expect(page.locator("main, #content").first).to_contain_text("exactly the 120 leads the list shows")
    page.go_back()

    # The second page keeps both too.
    page.locator(".paginator a", has_text="2").first.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(20)
    page.go_back()

    page.check("#action-toggle")
    page.locator(".actions .question a").click()
    page.select_option("select[name=action]", "reset_leads")
    page.click("button[name=index]")
    expect(page.locator(".action-count")).to_contain_text("This applies to 120 leads")
    page.get_by_role("button", name="Apply to 120 leads").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Reset 120 leads.")
    moved = set(StatusChange.objects.filter(source="admin").values_list("lead_id", flat=True))
    assert moved == chosen
    assert Lead.objects.filter(pk__in=[lead.pk for lead in bob], status=LeadStatus.COMPLETED).count() == 3


def test_every_select_of_the_lead_pages_has_an_accessible_name(signed_in):
    campaign = make_campaign(name="Spring")
    make_lead(campaign=campaign)
    page = signed_in
    # The list: its filters, search and actions.
    page.goto("/admin/leads/lead/")
    expect(page.locator("#lead-filters select").first).to_be_visible()
    assert page.evaluate(UNNAMED_SELECTS_JS) == []
    # An action's own form.
    page.locator("#result_list input.action-select").first.check()
    page.select_option("select[name=action]", "move_to_campaign")
    page.click("button[name=index]")
    expect(page.get_by_label("Move to campaign")).to_be_visible()
    assert page.evaluate(UNNAMED_SELECTS_JS) == []
    # Add lead, whose first step chooses the campaign.
    page.goto("/admin/leads/lead/add/")
    expect(page.locator("#id_campaign")).to_be_visible()
    assert page.evaluate(UNNAMED_SELECTS_JS) == []
    expect(page.get_by_label("Campaign")).to_have_value(str(campaign.pk))
    page.goto(f"/admin/leads/lead/?campaign={campaign.pk}")
    page.click("a.export_link")
    expect(page.locator("#id_format")).to_be_visible()
    assert page.evaluate(UNNAMED_SELECTS_JS) == []


XSS_DESCRIPTION = (
    'Name <script>window.xssRan = "script"</script> '
    '<img src="x" onerror="window.xssRan = &quot;img&quot;"> as on the invoice'
)


def test_a_variable_description_is_shown_as_text_on_the_lead_pages(signed_in):
    # The description is the form field's help text, which the admin prints
    # unescaped: it ran as a script for everyone adding or editing a lead.
    assistant = make_assistant(variables=[{"name": "customer_name", "description": XSS_DESCRIPTION}])
    campaign = make_campaign(name="Renewals", assistant=assistant, default_country="US")
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})

    page = signed_in
    page.get_by_role("link", name=re.compile("Add lead", re.I)).click()
    page.select_option("#id_campaign", str(campaign.pk))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#id_primary_phone")).to_be_visible()
    pages = [page.url, f"/admin/leads/lead/{lead.pk}/change/"]
    for url in pages:
        page.goto(url)
        help_text = page.locator("#id_var_customer_name_helptext")
        expect(help_text).to_have_text(re.compile(re.escape('<script>window.xssRan = "script"</script>')))
        expect(help_text).to_contain_text('onerror="window.xssRan = &quot;img&quot;">')
        assert page.locator("#id_var_customer_name_helptext img, #id_var_customer_name_helptext script").count() == 0
        page.wait_for_load_state("load")  # an <img> that fails to load has fired onerror by now
        assert page.evaluate("window.xssRan") is None, url


def test_operator_filters_the_list_by_a_result_and_exports_the_result_columns(signed_in):
    import csv

    from leads.layout import RESULT_COLUMNS
    from leads.tests.factories import set_results

    campaign = make_campaign(name="Renewals")
    asks = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    set_results(
        asks,
        results={"appointment_booked": False, "reason": "needs to ask their partner"},
        goal_achieved=False,
        disposition="call-back-later",
    )
    set_results(
        make_lead(campaign=campaign, primary="+14155550102", variables={"customer_name": "Ben"}),
        results={"appointment_booked": False, "reason": "too expensive"},
        goal_achieved=False,
    )
    make_lead(campaign=campaign, primary="+14155550103", variables={"customer_name": "Cy"})
    page = signed_in

    page.goto("/admin/leads/lead/")
    page.get_by_label("Result name").fill("reason")
    page.get_by_label("Result contains").fill("PARTNER")
    page.locator("#lead-filters input[type=submit]").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("+14155550101")
    expect(rows.first.locator("td.field-results_summary")).to_contain_text("goal ✗ · call-back-later")

    page.click("a.export_link")
    expect(page.locator("main, #content").first).to_contain_text("exactly the 1 lead")
    page.select_option("#id_format", label="csv")
    with page.expect_download() as download:
        page.click("input[type=submit][value=Submit]")
    header, *rows = csv.reader(download.value.path().read_text(encoding="utf-8-sig").splitlines())
    # Then the consent columns (results-and-compliance.md §2b).
    assert header[header.index("created_at") + 1 :] == [
        *RESULT_COLUMNS,
        "result_appointment_booked",
        "result_reason",
        "consent",
        "consent_at",
        "consent_source",
        "consent_certificate",
    ]
    assert len(rows) == 1
    row = dict(zip(header, rows[0]))
    assert (row["phone_number"], row["goal_achieved"], row["disposition"]) == (
        "+14155550101",
        "false",
        "call-back-later",
    )
    assert (row["result_reason"], row["result_appointment_booked"]) == ("needs to ask their partner", "false")


def _select_all_and_run(page, action: str) -> None:
    page.check("#action-toggle")
    page.locator(".actions .question a").click()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def _leads_to_reset(campaign, count: int = 130) -> list[Lead]:
    """More than a page of 100 (so "select all" reaches past it): 70 Completed, 3 of
    them put on the do-not-call list, the rest Created."""
    from leads import services
    from leads.tests.factories import bulk_leads

    leads = bulk_leads(campaign, count)
    ids = [lead.pk for lead in leads]
    transitions.complete(Lead.objects.filter(pk__in=ids[:70]), actor=Actor.system())
    services.do_not_call_leads(leads=Lead.objects.filter(pk__in=ids[:3]), actor=Actor.system())
    return leads


def test_a_select_all_reset_shows_the_count_and_the_skips_then_runs_once_confirmed(signed_in):
    campaign = make_campaign(name="Spring")
    _leads_to_reset(campaign)

    page = signed_in
    page.goto("/admin/leads/lead/")
    _select_all_and_run(page, "reset_leads")

    expect(page.locator(".action-count")).to_have_text(
        "This applies to 130 leads (every lead matching the list's filters and search)."
    )
    skips = page.locator("#action-skips")
    expect(skips).to_contain_text("It will skip 63 of them and change 67:")
    expect(skips.locator("li")).to_have_text(["60 already created", "3 on the do-not-call list"])
    assert Lead.objects.filter(status=LeadStatus.CREATED).count() == 60  # nothing moved yet

    page.get_by_role("button", name="Apply to 130 leads").click()

    expect(page.locator("ul.messagelist")).to_contain_text(
        "Reset 67 leads. Skipped 63: 3 on the do-not-call list, 60 already created."
    )
    assert Lead.objects.filter(status=LeadStatus.CREATED).count() == 127


def test_a_large_selection_gets_its_skips_from_the_page_and_cancelling_moves_nothing(signed_in, settings):
    settings.LEADS_ACTION_SKIPS_INLINE_MAX = 0  # as for a selection too large to count in the page
    campaign = make_campaign(name="Spring")
    _leads_to_reset(campaign)

    page = signed_in
    page.goto("/admin/leads/lead/")
    _select_all_and_run(page, "stop_leads")

    skips = page.locator("#action-skips")
    expect(skips).to_contain_text("It will skip 70 of them and change 60:")
    expect(skips.locator("li")).to_have_text(["67 already completed", "3 on the do-not-call list"])
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#result_list")).to_be_visible()
    assert not Lead.objects.filter(status=LeadStatus.REACHED_MAX_RETRIES).exists()


def test_operator_reschedules_by_typing_a_date_and_a_time_in_their_time_zone(signed_in, settings):
    import datetime
    import zoneinfo

    from django.utils import timezone

    settings.TIME_ZONE = "America/New_York"
    campaign = make_campaign(name="Spring")
    leads = [make_lead(campaign=campaign, variables={"customer_name": f"Ana {i}"}) for i in range(2)]
    day = timezone.localdate(timezone=zoneinfo.ZoneInfo("America/New_York")) + datetime.timedelta(days=2)

    page = signed_in
    page.goto("/admin/leads/lead/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "reschedule_leads")
    page.click("button[name=index]")

    expect(page.locator(".form-row", has_text="Time (America/New_York):")).to_contain_text(
        "Date and time in America/New_York"
    )
    page.get_by_label("At this time").check()
    date_input = page.get_by_label("Date (America/New_York)")
    time_input = page.get_by_label("Time of day (America/New_York)")
    assert date_input.get_attribute("type") == "date" and time_input.get_attribute("type") == "time"
    # As an operator does: a click on the field's first part (the month, in en-US), then
    # typing; a click in its middle would start at the day.
    date_input.click(position={"x": 8, "y": 8})
    page.keyboard.type(day.strftime("%m/%d/%Y"))
    time_input.click(position={"x": 8, "y": 8})
    page.keyboard.type("0930PM")
    expect(date_input).to_have_value(day.isoformat())
    expect(time_input).to_have_value("21:30")
    page.get_by_role("button", name="Apply to 2 leads").click()

    expect(page.locator("ul.messagelist")).to_contain_text("Rescheduled 2 leads.")
    expected = datetime.datetime.combine(day, datetime.time(21, 30), tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert {lead.next_attempt_at for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])} == {expected}
