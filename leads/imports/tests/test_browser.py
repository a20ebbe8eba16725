"""The import wizard clicked through in Chromium."""

import csv
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.tests.factories import make_assistant, make_campaign
from leads.imports.tests.filemakers import write_csv
from leads.models import ImportRecord, Lead
from leadsite.testing import INLINE_SCRIPTS_JS, UNNAMED_SELECTS_JS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_imports_a_file_and_downloads_the_error_report(signed_in, tmp_path):
    campaign = make_campaign(
        name="Spring", assistant=make_assistant(variables=[{"name": "customer_name", "required": True}])
    )
    path = write_csv(
        tmp_path / "people.csv",
        [
            ["Mobile", "Name", "alt_phone"],
            ["+14155550101", "Ana", "+12125550102"],
            ["call me", "Bob", ""],
            ["+14155550103", "Cy", ""],
        ],
    )

    page = signed_in
    page.click("a.import_link")
    expect(page.locator(".import-intro")).to_be_visible()
    page.select_option("#id_campaign", str(campaign.pk))
    # The page now lists the chosen campaign's columns, its variable among them.
    expect(page).to_have_url(f"{page.url.split('?')[0]}?campaign={campaign.pk}")
    expect(page.locator("form code").first).to_contain_text("customer_name")
    expect(page.locator("#id_campaign")).to_have_value(str(campaign.pk))
    page.set_input_files("#id_import_file", str(path))
    # django-import-export's page picks the format from the file's name.
    expect(page.locator("#id_format option:checked")).to_have_text("csv")
    with page.expect_download() as sample:
        page.click("[data-sample=csv]")
    assert sample.value.suggested_filename == f"leads-sample-{campaign.pk}.csv"
    page.click("input[type=submit]")

    expect(page.locator("#mapping")).to_contain_text("Mobile")
    page.select_option("select[name=column_1]", "var:customer_name")  # "Name" → customer_name
    page.click("input[type=submit]")

    expect(page.locator("#import-status")).to_have_text("Validated, ready to import")
    expect(page.locator("#count-rejected")).to_have_text("1")
    expect(page.locator("#refused")).to_contain_text("“call me” is not a phone number")
    page.click("input[value^='Import 2 new']")

    expect(page.locator("#import-status")).to_have_text("Done")
    with page.expect_download() as download:
        page.click("#error-report")
    report = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(report.splitlines()))
    assert rows[0] == ["Mobile", "Name", "alt_phone", "row", "errors"]
    assert rows[1][:2] == ["call me", "Bob"] and rows[1][3] == "3"
    assert Lead.objects.filter(campaign=campaign).count() == 2

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("input[value='Undo this import']")
    expect(page.locator("ul.messagelist")).to_contain_text("Removed 2 leads this import created.")
    assert not Lead.objects.exists()


def test_the_import_page_follows_the_chosen_campaign_from_its_static_script(signed_in, tmp_path):
    spring = make_campaign(name="Spring", assistant=make_assistant(variables=[{"name": "customer_name"}]))
    autumn = make_campaign(name="Autumn", assistant=make_assistant(variables=[{"name": "pet_name"}]))
    dialogs = []
    page = signed_in
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/admin/leads/lead/import/")
    assert page.evaluate(INLINE_SCRIPTS_JS) == []

    # No campaign yet: a sample file cannot be offered.
    page.click("[data-sample=xlsx]")
    expect(page.locator("[data-sample=xlsx]")).to_have_attribute("href", "#")
    assert dialogs == ["Choose the campaign first."]
    assert "#" not in page.url

    # Choosing one lists its columns (the page opens again for it).
    page.select_option("#id_campaign", str(autumn.pk))
    expect(page).to_have_url(re.compile(rf"/import/\?campaign={autumn.pk}$"))
    expect(page.locator("form code").first).to_contain_text("pet_name")

    # With a file picked, choosing another campaign keeps the page (and the file).
    page.evaluate("window.notReloaded = true")
    page.set_input_files("#id_import_file", str(write_csv(tmp_path / "people.csv", [["phone"], ["+14155550101"]])))
    page.select_option("#id_campaign", str(spring.pk))
    page.wait_for_timeout(500)  # a reload starts at once on the change
    assert page.evaluate("window.notReloaded") is True
    with page.expect_download() as sample:
        page.click("[data-sample=xlsx]")
    assert sample.value.suggested_filename == f"leads-sample-{spring.pk}.xlsx"
    assert dialogs == ["Choose the campaign first."]


def test_undoing_an_import_asks_first_and_cancelling_sends_nothing(signed_in, tmp_path):
    from django.core.files import File

    from leads.imports import services
    from leads.transitions import Actor

    campaign = make_campaign(assistant=make_assistant())
    path = write_csv(tmp_path / "people.csv", [["phone"], ["+14155550101"], ["+14155550102"]])
    with path.open("rb") as handle:
        record = services.import_create(campaign=campaign, file=File(handle), file_name=path.name)
    services.mapping_save(record=record, targets=record.mapping, remember=False)
    services.import_validate(record=ImportRecord.objects.get(pk=record.pk))
    services.import_run(record=ImportRecord.objects.get(pk=record.pk), actor=Actor.system())
    assert Lead.objects.count() == 2

    page = signed_in
    page.goto(f"/admin/leads/importrecord/{record.pk}/")
    assert page.evaluate(INLINE_SCRIPTS_JS) == []
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.evaluate("window.notReloaded = true")
    page.click("input[value='Undo this import']")
    expect(page.locator("#import-status")).to_have_text("Done")
    page.wait_for_timeout(500)  # a submission would have left the page by now
    assert page.evaluate("window.notReloaded") is True
    assert questions == ["Delete the leads this import created that have not been dialled yet?"]
    assert Lead.objects.count() == 2

    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.click("input[value='Undo this import']")
    expect(page.locator("ul.messagelist")).to_contain_text("Removed 2 leads this import created.")
    assert len(questions) == 2 and not Lead.objects.exists()


def test_every_select_of_the_import_wizard_has_an_accessible_name(signed_in, tmp_path):
    campaign = make_campaign(name="Spring", assistant=make_assistant(variables=[{"name": "customer_name"}]))
    page = signed_in
    page.goto(f"/admin/leads/lead/import/?campaign={campaign.pk}")
    expect(page.locator("#id_campaign")).to_have_value(str(campaign.pk))
    assert page.evaluate(UNNAMED_SELECTS_JS) == []
    page.set_input_files(
        "#id_import_file", str(write_csv(tmp_path / "people.csv", [["Mobile", ""], ["+14155550101", "Ana"]]))
    )
    page.click("input[type=submit]")
    expect(page.locator("#mapping select")).to_have_count(2)
    assert page.evaluate(UNNAMED_SELECTS_JS) == []
    # Each is named by its column (the file's header, or its place when it has none).
    expect(page.get_by_label("Mobile")).to_have_value("phone")
    expect(page.get_by_label("column 2")).to_have_value("")


def test_the_progress_bar_follows_a_background_import(signed_in, tmp_path, settings):
    from django.core.files import File

    from leads.imports import services

    campaign = make_campaign(assistant=make_assistant())
    path = write_csv(tmp_path / "big.csv", [["phone"]] + [[f"+1415555{n:04d}"] for n in range(40)])
    with path.open("rb") as handle:
        record = services.import_create(campaign=campaign, file=File(handle), file_name=path.name)
    # Mapped, and the worker has checked 10 of the 40 rows so far.
    ImportRecord.objects.filter(pk=record.pk).update(
        status=ImportRecord.Status.VALIDATING, rows_validated=10, progress_at=timezone.now()
    )

    page = signed_in
    page.goto(f"/admin/leads/importrecord/{record.pk}/")
    expect(page.locator("#import-progress-text")).to_have_text("10 of 40 rows (25%)")
    assert page.locator("#import-progress").get_attribute("value") == "25"

    services.import_validate(record=ImportRecord.objects.get(pk=record.pk))  # the worker finishes
    expect(page.locator("#import-status")).to_have_text("Validated, ready to import", timeout=10_000)
    expect(page.locator("#count-new")).to_have_text("40")


def test_the_mapping_page_of_a_wide_file_is_mapped_and_validated(signed_in, tmp_path, settings):
    from django.core.files import File

    from leads.imports import services

    # 400 columns, within the limit (LEADS_IMPORT_MAX_COLUMNS: 500).
    campaign = make_campaign(assistant=make_assistant(variables=[{"name": "customer_name"}]))
    header = ["phone_number", "Name"] + [f"extra {n}" for n in range(398)]
    path = write_csv(tmp_path / "wide.csv", [header, ["+14155550101", "Ana"] + [f"v{n}" for n in range(398)]])
    with path.open("rb") as handle:
        record = services.import_create(campaign=campaign, file=File(handle), file_name=path.name)

    page = signed_in
    page.goto(f"/admin/leads/importrecord/{record.pk}/mapping/")
    expect(page.locator("#mapping select")).to_have_count(400)
    expect(page.locator("select[name=column_399]")).to_have_value("var:extra_397")
    page.select_option("select[name=column_1]", "var:customer_name")
    page.select_option("select[name=column_399]", "")  # ignore the last one
    page.click("input[type=submit]")

    expect(page.locator("#import-status")).to_have_text("Validated, ready to import")
    record.refresh_from_db()
    assert record.mapping[1] == "var:customer_name" and record.mapping[399] == "" and record.rows_new == 1
