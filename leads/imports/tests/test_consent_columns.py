"""The consent columns of a lead file (results-and-compliance.md §2b, §5): found by their
names, read and checked row by row with the error report's reasons, written with the
lead (COPY on PostgreSQL, bulk_create elsewhere), and on updates as any other field."""

import datetime

import pytest

from campaigns.tests.factories import make_assistant, make_campaign
from leads.imports.columns import check_mapping, suggest_mapping
from leads.imports.resources import layout_targets
from leads.imports.tests.filemakers import write_csv, write_xlsx
from leads.imports.tests.test_services import counts, report_rows, run_import
from leads.imports.validation import ParsedRow, parse_row
from leads.layout import CONSENT_COLUMNS, Target
from leads.models import Lead
from leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
LEVELS = "none, express, express-written, existing-relationship"


@pytest.fixture
def campaign():
    return make_campaign(assistant=make_assistant(variables=[{"name": "customer_name", "required": True}]))


def lead_of(phone: str) -> Lead:
    return Lead.objects.get(contacts__phone=phone, contacts__position=0)


def consent_of(lead: Lead) -> tuple:
    return (lead.consent, lead.consent_at, lead.consent_source, lead.consent_certificate)


def test_the_columns_are_found_by_their_names_under_the_header_rules():
    header = ["Phone", "Consent", "Consent At", "consent-source", " CONSENT_CERTIFICATE ", "Consent date"]
    keys = suggest_mapping(header, [])
    assert keys == ["phone", *CONSENT_COLUMNS, "var:consent_date"]  # other spellings are variables
    # A column the assistant declares as a variable: the consent column wins, as timezone does.
    assert suggest_mapping(["phone", "consent"], ["consent"]) == ["phone", "consent"]


def test_a_rows_consent_is_read_and_every_bad_value_named_by_its_column(settings):
    settings.TIME_ZONE = "UTC"
    mapping = check_mapping(["phone", "Consent", "When", "From", "Cert"], ["phone", *CONSENT_COLUMNS])
    row, errors = parse_row(
        mapping,
        2,
        ["+14155550101", "Express Written", "2026-03-01 14:30", "<b>web form</b>", "cert.example.com/1"],
        region=None,
    )
    assert errors == []
    assert row.consent == {
        "consent": "express-written",
        "consent_at": "2026-03-01T14:30:00+00:00",
        "consent_source": "<b>web form</b>",  # text, stored as it is and shown escaped
        "consent_certificate": "https://cert.example.com/1",
    }
    assert ParsedRow.from_json(row.as_json()) == row

    row, errors = parse_row(mapping, 3, ["+14155550102", "yes", "next week", "ok", "javascript:alert(1)"], region=None)
    assert [str(error) for error in errors] == [
        f"Consent: “yes” is not one of {LEVELS}",
        "When: “next week” is not a date and time: write it as 2026-03-01 14:30 (or 2026-03-01T14:30+01:00)",
        "Cert: “javascript:alert(1)” is not an http(s) address",
    ]
    # A NUL (an .xls cell may hold one; a CSV with one is refused as binary).
    _, errors = parse_row(mapping, 4, ["+14155550103", "express", "", "a\x00b", ""], region=None)
    assert [str(error) for error in errors] == ["From: holds a NUL character, which is not text"]
    row, errors = parse_row(mapping, 4, ["+14155550103", "", "", "", ""], region=None)
    assert (errors, row.consent) == ([], {})  # empty cells: nothing given


def test_a_row_validated_before_the_consent_columns_existed_still_reads():
    old = {"row": 2, "phone": "+14155550101", "variables": {}, "secondaries": [], "timezone": ""}
    assert ParsedRow.from_json(old).consent == {}


def test_every_bad_consent_value_is_in_the_error_report_and_the_good_rows_import(tmp_path, campaign):
    huge = "x" * 1001
    rows = [
        ["phone_number", "customer_name", "consent", "consent_at", "consent_source", "consent_certificate"],
        ["+14155550101", "Ana", "express", "2026-01-15T09:00:00-05:00", "https://forms.example.com", ""],  # 2 ok
        ["+14155550102", "Ben", "yes", "", "", ""],  # 3
        ["+14155550103", "Cy", "express", "2999-01-01", "", ""],  # 4: far future
        ["+14155550104", "Di", "express", "0001-01-01", "", ""],  # 5: ancient
        ["+14155550105", "Ed", "express", "15/01/2026", "", ""],  # 6: not ISO
        ["+14155550106", "Fa", "express", "", huge, ""],  # 7: too long
        ["+14155550107", "Gu", "express", "", "", "javascript:alert(1)"],  # 8
        ["+14155550108", "Ha", "express", "", "", "https://bad host.example/"],  # 9: not an address
        ["+14155550109", "Io", "<script>alert(1)</script>", "", "", ""],  # 10: HTML
        ["+14155550110", "Jo", "express", "1" * 400, "", ""],  # 11: a huge number
        ["+14155550111", "Ka", "express", "", "", "data:text/html,<b>x</b>"],  # 12
    ]
    record = run_import(campaign, write_csv(tmp_path / "consent.csv", rows))
    assert counts(record) == (1, 0, 0, 10)
    reasons = {int(r["row"]): r["errors"] for r in report_rows(record)}
    assert reasons[3] == f"consent: “yes” is not one of {LEVELS}"
    assert reasons[4] == "consent_at: “2999-01-01” is in the future: consent is recorded once it has been given"
    assert reasons[5].startswith("consent_at: “0001-01-01” is before 1970")
    assert reasons[6].startswith("consent_at: “15/01/2026” is not a date and time")
    assert reasons[7] == "consent_source: longer than 1,000 characters"
    assert reasons[8] == "consent_certificate: “javascript:alert(1)” is not an http(s) address"
    assert reasons[9].startswith("consent_certificate: ")
    assert reasons[10] == f"consent: “<script>alert(1)</script>” is not one of {LEVELS}"
    assert reasons[11].startswith("consent_at: “" + "1" * 39 + "…” is ")  # read as the year 1111: refused
    assert reasons[12].startswith("consent_certificate: “data:text/html,<b>x</b>” is not")
    ana = lead_of("+14155550101")
    assert consent_of(ana) == (
        "express",
        datetime.datetime(2026, 1, 15, 14, 0, tzinfo=UTC),
        "https://forms.example.com",
        "",
    )


def test_new_leads_without_consent_columns_have_none(tmp_path, campaign):
    run_import(campaign, write_csv(tmp_path / "a.csv", [["phone_number", "customer_name"], ["+14155550101", "Ana"]]))
    assert consent_of(lead_of("+14155550101")) == ("none", None, "", "")


def test_consent_imports_from_xlsx_date_cells(tmp_path, campaign, settings):
    settings.TIME_ZONE = "Europe/London"
    rows = [
        ["phone_number", "customer_name", "Consent", "Consent at"],
        ["+14155550101", "Ana", "EBR", datetime.datetime(2026, 7, 1, 10, 30)],  # a date cell: the site's time
        ["+14155550102", "Ben", "Express written", datetime.date(2026, 1, 2)],
    ]
    record = run_import(campaign, write_xlsx(tmp_path / "a.xlsx", rows))
    assert counts(record) == (2, 0, 0, 0)
    assert consent_of(lead_of("+14155550101"))[:2] == (
        "existing-relationship",
        datetime.datetime(2026, 7, 1, 9, 30, tzinfo=UTC),
    )
    assert consent_of(lead_of("+14155550102"))[:2] == ("express-written", datetime.datetime(2026, 1, 2, tzinfo=UTC))


def test_an_update_overwrites_with_filled_cells_and_keeps_the_rest(tmp_path, campaign):
    before = datetime.datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    kept = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    changed = make_lead(campaign=campaign, primary="+14155550102", variables={"customer_name": "Ben"})
    Lead.objects.filter(pk__in=[kept.pk, changed.pk]).update(
        consent="express", consent_at=before, consent_source="old form", consent_certificate="https://c.example/1"
    )
    rows = [
        ["phone_number", "consent", "consent_at", "consent_source", "consent_certificate"],
        ["+14155550101", "", "", "", ""],  # empty cells keep the old values
        ["+14155550102", "express-written", "2026-02-01T10:00:00Z", "new form", ""],
        ["+14155550103", "express", "", "", ""],  # new: required variable missing
    ]
    record = run_import(campaign, write_csv(tmp_path / "u.csv", rows), on_duplicate="update")
    assert counts(record) == (0, 2, 0, 1)
    assert consent_of(lead_of("+14155550101")) == ("express", before, "old form", "https://c.example/1")
    assert consent_of(lead_of("+14155550102")) == (
        "express-written",
        datetime.datetime(2026, 2, 1, 10, 0, tzinfo=UTC),
        "new form",
        "https://c.example/1",
    )


def test_skipped_duplicates_keep_their_consent(tmp_path, campaign):
    make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    rows = [["phone_number", "customer_name", "consent"], ["+14155550101", "Ana", "express"]]
    record = run_import(campaign, write_csv(tmp_path / "s.csv", rows))
    assert counts(record) == (0, 0, 1, 0)
    assert lead_of("+14155550101").consent == "none"


def test_the_import_layout_and_the_mapping_page_offer_the_consent_columns():
    targets = layout_targets(["customer_name"])
    assert targets[-4:] == [Target.consent(name) for name in CONSENT_COLUMNS]
    assert [Target.from_key(t.key) for t in targets[-4:]] == targets[-4:]
