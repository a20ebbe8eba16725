"""The consent columns of an export (results-and-compliance.md §2b): after the results,
on every path (CSV by COPY on PostgreSQL or by Python, XLSX), and read back by the
import: export, then import, gives the same consent."""

import csv
import datetime

import pytest
from django.core.files import File
from django.core.management import call_command
from django.utils import timezone

from campaigns.tests.factories import make_assistant, make_campaign
from leads.imports import services as imports
from leads.imports.tests.filemakers import write_xlsx
from leads.layout import CONSENT_COLUMNS
from leads.models import Lead
from leads.tests.factories import make_lead
from leads.tests.test_exports import download
from leads.transitions import Actor

pytestmark = pytest.mark.django_db
HOSTILE = '=HYPERLINK("http://evil.example","<b>click</b>")'


@pytest.fixture
def campaign():
    return make_campaign(assistant=make_assistant(variables=[{"name": "customer_name", "required": True}]))


@pytest.fixture
def leads(campaign):
    given = datetime.datetime(2026, 1, 15, 9, 30, 12, tzinfo=datetime.UTC)
    ana = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    ben = make_lead(campaign=campaign, primary="+14155550102", variables={"customer_name": "Ben"})
    cy = make_lead(campaign=campaign, primary="+14155550103", variables={"customer_name": "Cy"})
    Lead.objects.filter(pk=ana.pk).update(
        consent="express-written",
        consent_at=given,
        consent_source=HOSTILE,
        consent_certificate="https://cert.trustedform.com/abc",
    )
    Lead.objects.filter(pk=ben.pk).update(consent="existing-relationship", consent_source="-a call in 2024\nline 2")
    return ana, ben, cy


def consents(campaign) -> list[tuple]:
    return sorted(
        Lead.objects.filter(campaign=campaign).values_list(
            "contacts__phone", "consent", "consent_at", "consent_source", "consent_certificate"
        )
    )


@pytest.mark.parametrize(("fmt", "in_memory_max"), [("csv", 0), ("xlsx", 0), ("xlsx", 5000)])
def test_the_consent_columns_come_last_on_every_path(admin_client_logged, leads, fmt, in_memory_max, settings):
    settings.LEADS_EXPORT_IN_MEMORY_MAX = in_memory_max
    settings.TIME_ZONE = "America/New_York"
    header, *rows = download(admin_client_logged, fmt=fmt)
    assert header[-4:] == list(CONSENT_COLUMNS)
    by_phone = {row[0]: dict(zip(header, row)) for row in rows}
    ana = by_phone["+14155550101"]
    assert [ana[name] for name in CONSENT_COLUMNS] == [
        "express-written",
        "2026-01-15T04:30:12-05:00",  # the operator's zone, with its offset
        "'" + HOSTILE,  # a formula is neutralised, as any text
        "https://cert.trustedform.com/abc",
    ]
    assert [by_phone["+14155550103"][name] for name in CONSENT_COLUMNS] == ["none", "", "", ""]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_gives_the_same_consent(admin_client_logged, campaign, leads, tmp_path, fmt, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # an offset of +05:30 on the way
    rows = download(admin_client_logged, {"campaign": campaign.pk}, fmt=fmt)
    if fmt == "csv":
        path = tmp_path / "export.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    else:
        path = write_xlsx(tmp_path / "export.xlsx", rows)
    target = make_campaign(assistant=campaign.assistant)
    with path.open("rb") as handle:
        record = imports.import_create(campaign=target, file=File(handle), file_name=path.name)
    imports.import_validate(record=record)
    imports.import_run(record=record, actor=Actor(source="import"))
    record.refresh_from_db()
    assert record.rows_new == 3 and record.rows_rejected == 0
    assert consents(target) == consents(campaign)


def test_export_leads_filters_by_consent(campaign, leads, tmp_path):
    path = tmp_path / "out.csv"
    call_command("export_leads", "--filter", "consent=express-written", "--filter", "consent=none", "-o", str(path))
    phones = [row[0] for row in csv.reader(path.open(encoding="utf-8"))][1:]
    assert sorted(phones) == ["+14155550101", "+14155550103"]
    day = timezone.localdate(datetime.datetime(2026, 1, 15, 9, 30, tzinfo=datetime.UTC)).isoformat()
    call_command("export_leads", "--filter", f"consent_from={day}", "--filter", f"consent_to={day}", "-o", str(path))
    assert [row[0] for row in csv.reader(path.open(encoding="utf-8"))][1:] == ["+14155550101"]
