import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import openpyxl
import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from campaigns.tests.factories import make_assistant, make_campaign
from leads import tasks, transitions
from leads.exports import services as exports
from leads.exports import writing
from leads.filters import FilterProblem
from leads.imports import services as imports
from leads.layout import CONSENT_COLUMNS, RESULT_COLUMNS
from leads.models import Contact, ExportRecord, Lead
from leads.tests.factories import bulk_leads, make_lead, phone, set_results
from leads.transitions import Actor

pytestmark = pytest.mark.django_db

LIST = reverse("admin:leads_lead_changelist")
EXPORT = reverse("admin:leads_lead_export")


@pytest.fixture
def campaign():
    return make_campaign(
        assistant=make_assistant(variables=[{"name": "customer_name", "required": True}, {"name": "city"}])
    )


FORMATS = {"csv": "0", "xlsx": "1"}


def post_export(
    client, query: dict | None = None, *, fmt: str = "csv", columns: list[str] | None = None, bom: bool = False, **extra
):
    """Submit django-import-export's export page as an operator would: the format, the
    columns ticked (all of them unless ``columns``), for the list at ``query``."""
    url = EXPORT + ("?" + urlencode(query or {}, doseq=True) if query else "")
    form = client.get(url).context["form"]
    names = form.resources[0]().get_export_order()
    data = {"format": FORMATS.get(fmt, fmt), "resource": "0", **extra}
    for name in names:
        if columns is None or name in columns:
            data[f"leadresource_{name}"] = "on"
    if bom:
        data["bom"] = "on"
    return client.post(url, data)


def download(client, query: dict | None = None, *, fmt: str = "csv", **choices) -> list[list[str]]:
    response = post_export(client, query, fmt=fmt, **choices)
    if response.status_code == 302:
        # A large XLSX: the worker writes it (inline in tests); its page offers it.
        record = ExportRecord.objects.latest("pk")
        assert response["Location"] == reverse("admin:leads_exportrecord_change", args=[record.pk])
        assert 'id="export-download"' in client.get(response["Location"]).content.decode()
        response = client.get(reverse("admin:leads_exportrecord_download", args=[record.pk]))
    assert response.status_code == 200, getattr(response, "context", None) and response.context["form"].errors
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(body)).active
        return [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_export_is_exactly_the_filtered_and_searched_list_in_its_order(admin_client_logged, campaign):
    other = make_campaign()
    leads = [make_lead(campaign=campaign, variables={"customer_name": f"Ana {i}"}) for i in range(5)]
    make_lead(campaign=campaign, variables={"customer_name": "Bob"})
    make_lead(campaign=other, variables={"customer_name": "Ana elsewhere"})
    transitions.complete(Lead.objects.filter(pk=leads[0].pk), actor=Actor.system())
    query = {"campaign": campaign.pk, "q": "ana", "o": "-8"}

    shown = [
        lead.contacts.get(position=0).phone for lead in admin_client_logged.get(LIST, query).context["cl"].result_list
    ]
    rows = download(admin_client_logged, query)

    assert [row[0] for row in rows[1:]] == shown
    assert len(shown) == 5


def test_an_empty_selection_gives_a_header_only_file(admin_client_logged, campaign):
    make_lead(campaign=campaign)
    rows = download(admin_client_logged, {"q": "nobody at all"})
    assert rows == [rows[0]] and rows[0][0] == "phone_number"


def test_exported_leads_import_unchanged_into_another_campaign(admin_client_logged, campaign, tmp_path):
    lead = make_lead(
        campaign=campaign,
        primary="+14155550101",
        secondaries=["+12125550102", "+13055550103"],
        variables={"customer_name": "Zoë Müller", "city": "Köln", "note": "=SUM(A1)"},
        timezone="Europe/Berlin",
    )
    # What its calls found out goes out in the file and is not read back in.
    set_results(
        lead,
        results={"appointment_booked": True, "city": "Bonn", "note": "-2"},
        goal_achieved=True,
        disposition="booked",
        summary="Booked for Tuesday.",
        duration_seconds=74,
        opted_out_at=timezone.now(),
    )
    make_lead(campaign=campaign, primary="+14155550104", variables={"customer_name": "李雷 🎉"})
    # What a spreadsheet would read as a formula or a number comes back as it was.
    for index, value in enumerate(["+10", "-5", "@x", "'=x", "''+1", "'tis", "+1 555 0101", "=1+1"]):
        make_lead(
            campaign=campaign,
            primary=f"+1415555012{index}",
            secondaries=[f"+1212555012{index}"],
            variables={"customer_name": value, "city": value},
        )
        Contact.objects.filter(phone=f"+1212555012{index}").update(variables={"contact_name": value})
    rows = download(admin_client_logged, {"campaign": campaign.pk})
    assert {*RESULT_COLUMNS, "result_appointment_booked", "result_city", "result_note"} <= set(rows[0])
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)

    target = make_campaign(assistant=campaign.assistant)
    with path.open("rb") as handle:
        record = imports.import_create(campaign=target, file=File(handle), file_name=path.name)
    imports.import_validate(record=record)
    imports.import_run(record=record, actor=Actor(source="import"))

    def snapshot(c):
        return sorted(
            (lead.timezone, [(x.phone, x.variables) for x in lead.contacts.order_by("position")])
            for lead in Lead.objects.filter(campaign=c)
        )

    assert snapshot(target) == snapshot(campaign)
    # The result columns were ignored: the new leads have no results of their own.
    found = Lead.objects.filter(campaign=target).values_list("results", "goal_achieved", "summary", "opted_out_at")
    assert {(str(r), g, summary, o) for r, g, summary, o in found} == {("{}", None, "", None)}


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
@pytest.mark.parametrize("in_memory_max", [0, 5000])  # XLSX by the worker, or django-import-export's own
def test_formula_cells_are_neutralised_but_phone_numbers_keep_their_plus(
    admin_client_logged, campaign, start, in_memory_max, settings
):
    settings.LEADS_EXPORT_IN_MEMORY_MAX = in_memory_max
    make_lead(campaign=campaign, variables={"customer_name": f"{start}cmd"})
    for fmt in ("csv", "xlsx"):
        header, row = download(admin_client_logged, fmt=fmt)
        # XML turns a carriage return in XLSX cell text into a newline; the ' stays.
        expected = f"'{start}cmd" if not (fmt == "xlsx" and start == "\r") else "'\ncmd"
        assert row[header.index("customer_name")] == expected
        assert row[0].startswith("+1")


@pytest.mark.parametrize(("fmt", "in_memory_max"), [("csv", 0), ("xlsx", 0), ("xlsx", 5000)])
def test_utf8_names_survive(admin_client_logged, campaign, fmt, in_memory_max, settings):
    settings.LEADS_EXPORT_IN_MEMORY_MAX = in_memory_max
    make_lead(campaign=campaign, variables={"customer_name": "Chloé 王 👋"})
    header, row = download(admin_client_logged, fmt=fmt)
    assert row[header.index("customer_name")] == "Chloé 王 👋"


def test_csv_for_excel_starts_with_a_bom(admin_client_logged, campaign):
    make_lead(campaign=campaign)
    response = post_export(admin_client_logged, bom=True)
    assert b"".join(response.streaming_content).startswith("\ufeff".encode())
    response = post_export(admin_client_logged)
    assert b"".join(response.streaming_content).startswith(b"phone_number")


@pytest.mark.parametrize(("fmt", "in_memory_max"), [("csv", 0), ("xlsx", 0), ("xlsx", 5000)])
def test_columns_can_be_chosen(admin_client_logged, campaign, fmt, in_memory_max, settings):
    settings.LEADS_EXPORT_IN_MEMORY_MAX = in_memory_max
    secondary = phone()
    make_lead(campaign=campaign, secondaries=[secondary], variables={"customer_name": "Ana", "city": "Austin"})
    rows = download(admin_client_logged, fmt=fmt, columns=["city", writing.SECONDARY_NUMBERS, "status"])
    assert rows[0] == ["city", "secondary_phone_1", "status"]  # in the layout's order
    assert rows[1] == ["Austin", secondary, "created"]


@pytest.fixture
def found(campaign):
    """A lead as its calls left it, and one never reached."""
    lead = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    set_results(
        lead,
        results={"appointment_booked": True, "budget": -5, "notes": "=HYPERLINK(x)", "details": {"a": 1}, "gone": None},
        goal_achieved=True,
        disposition="booked",
        summary="@Booked Tuesday, 15:00",
        duration_seconds=74,
        recording_url="https://recordings.example.com/1.mp3",
        callback_at=timezone.now() + timedelta(days=1),
    )
    make_lead(campaign=campaign, primary="+14155550102", variables={"customer_name": "Ben"})
    lead.refresh_from_db()
    return lead


@pytest.mark.parametrize(("fmt", "in_memory_max"), [("csv", 0), ("xlsx", 0), ("xlsx", 5000)])
def test_the_result_columns_follow_created_at_on_every_path(admin_client_logged, found, fmt, in_memory_max, settings):
    settings.LEADS_EXPORT_IN_MEMORY_MAX = in_memory_max  # XLSX by the worker, or django-import-export's own
    header, *rows = download(admin_client_logged, fmt=fmt)
    found_columns = [
        *RESULT_COLUMNS,
        "result_appointment_booked",
        "result_budget",
        "result_details",
        "result_gone",
        "result_notes",
    ]
    assert header[header.index("created_at") + 1 :] == [*found_columns, *CONSENT_COLUMNS]
    ana, ben = (dict(zip(header, row)) for row in sorted(rows))
    callback = timezone.localtime(found.callback_at).isoformat(timespec="seconds")
    assert {name: ana[name] for name in found_columns} == {
        "goal_achieved": "true",
        "disposition": "booked",
        "summary": "'@Booked Tuesday, 15:00",  # neutralised as any text
        "duration_seconds": "74",
        "recording_url": "https://recordings.example.com/1.mp3",
        "callback_at": callback,
        "opted_out_at": "",
        "result_appointment_booked": "true",
        "result_budget": "'-5",
        "result_details": '{"a": 1}',
        "result_gone": "",
        "result_notes": "'=HYPERLINK(x)",
    }
    assert {ben[name] for name in found_columns} == {""}


def test_the_export_page_offers_the_result_columns_and_the_results_as_one_choice(admin_client_logged, found):
    order = admin_client_logged.get(EXPORT).context["form"].resources[0]().get_export_order()
    # Result names are read when the file is written.
    assert list(order[order.index("created_at") + 1 :]) == [*RESULT_COLUMNS, writing.RESULTS, *CONSENT_COLUMNS]
    header, _, _ = download(admin_client_logged, columns=["phone_number", "disposition", writing.RESULTS])
    assert header == [
        "phone_number",
        "disposition",
        "result_appointment_booked",
        "result_budget",
        "result_details",
        "result_gone",
        "result_notes",
    ]
    header, _, _ = download(admin_client_logged, columns=["phone_number", "summary"])
    assert header == ["phone_number", "summary"]


def test_a_variable_named_like_a_result_column_has_no_column_of_its_own(admin_client_logged, found):
    make_lead(campaign=found.campaign, variables={"customer_name": "Cy", "summary": "mine", "result_x": "y"})
    header, *rows = download(admin_client_logged)
    assert header.count("summary") == 1 and "result_x" not in header  # the lead's own columns are written


def test_every_export_is_recorded_with_its_filters_and_rows(admin_client_logged, campaign, admin_user):
    for _ in range(3):
        make_lead(campaign=campaign)
    download(admin_client_logged, {"campaign": campaign.pk})
    record = ExportRecord.objects.get()
    assert (record.created_by, record.rows, record.file_format) == (admin_user, 3, "csv")
    assert f"campaign={campaign.pk}" in record.filters


def test_the_file_name_says_campaign_filter_and_time(admin_client_logged, campaign):
    make_lead(campaign=campaign)
    for fmt in ("csv", "xlsx"):
        response = post_export(admin_client_logged, {"campaign": campaign.pk, "status": "created"}, fmt=fmt)
        name = response["Content-Disposition"]
        assert f"leads-{campaign.name.lower().replace(' ', '-')}-created-" in name and name.endswith(f'.{fmt}"')


@pytest.mark.parametrize(
    "data",
    [
        {"format": "7", "resource": "0", "leadresource_status": "on"},  # no such format
        {"format": "pdf", "resource": "0", "leadresource_status": "on"},
        {"format": "0", "resource": "3", "leadresource_status": "on"},  # no such resource
        {"format": "0", "resource": "0"},  # no column
        {"format": "0", "resource": "0", "leadresource_password": "on"},
    ],  # not a column: no column picked
)
def test_malformed_export_choices_show_the_form_again(admin_client_logged, campaign, data):
    make_lead(campaign=campaign)
    response = admin_client_logged.post(EXPORT, data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not ExportRecord.objects.exists()


def test_the_export_page_opens_with_csv_chosen_and_no_blank_format(admin_client_logged, campaign):
    make_lead(campaign=campaign)
    response = admin_client_logged.get(EXPORT)
    html = response.content.decode()
    select = re.search(r'<select name="format"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)
    assert options == [("0", " selected", "csv"), ("1", "", "xlsx")]


def test_an_export_posted_without_a_format_is_asked_again_not_guessed(admin_client_logged, campaign):
    make_lead(campaign=campaign)
    response = admin_client_logged.post(EXPORT, {"format": "", "resource": "0", "leadresource_phone_number": "on"})
    assert response.status_code == 200
    assert "format" in response.context["form"].errors
    assert not ExportRecord.objects.exists()


def test_malformed_list_filters_send_back_to_the_list(admin_client_logged, campaign):
    response = admin_client_logged.get(EXPORT, {"bogus__lookup": "1"})
    assert response.status_code == 302


def test_export_needs_the_export_permission(client, django_user_model, campaign):
    make_lead(campaign=campaign)
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(user)
    assert client.get(EXPORT).status_code == 403
    assert client.post(EXPORT, {"format": "0", "resource": "0", "leadresource_status": "on"}).status_code == 403
    assert "export_link" not in client.get(LIST).content.decode()
    user.user_permissions.add(Permission.objects.get(codename="export_lead"))
    user = django_user_model.objects.get(pk=user.pk)
    client.force_login(user)
    assert client.get(EXPORT).status_code == 200
    assert "export_link" in client.get(LIST).content.decode()


def test_more_leads_than_a_sheet_holds_are_refused_as_xlsx_with_a_way_out(admin_client_logged, campaign, monkeypatch):
    monkeypatch.setattr(writing, "XLSX_MAX_ROWS", 2)  # Excel's 1,048,575, made small
    for _ in range(3):
        make_lead(campaign=campaign)
    response = post_export(admin_client_logged, fmt="xlsx")
    assert response.status_code == 200 and any("choose CSV" in str(m) for m in response.context["messages"])
    assert not ExportRecord.objects.exists()
    assert download(admin_client_logged, fmt="csv")[3]  # CSV still goes, any size


def test_a_large_xlsx_export_is_written_by_the_worker_with_its_progress(admin_client_logged, campaign, settings):
    settings.LEADS_EXPORT_IN_MEMORY_MAX = 2  # django-import-export's in-memory export: two leads at most
    for _ in range(2):
        make_lead(campaign=campaign)
    make_lead(campaign=campaign, secondaries=[phone()], variables={"notes": "n"})
    assert post_export(admin_client_logged, fmt="xlsx").status_code == 302
    ExportRecord.objects.all().delete()
    header, *rows = download(admin_client_logged, fmt="xlsx")
    record = ExportRecord.objects.get()
    assert (record.status, record.rows, record.rows_expected, record.file_format) == ("done", 3, 3, "xlsx")
    # The worker turned the picked groups into the selection's own columns.
    assert record.columns == header and {"notes", "secondary_phone_1"} <= set(header)
    assert writing.OTHER_VARIABLES not in header and rows[0][header.index("notes")] == "n"
    progress = admin_client_logged.get(reverse("admin:leads_exportrecord_progress", args=[record.pk])).json()
    assert progress == {"status": "done", "status_display": "Done", "done": 3, "total": 3, "percent": 100}


def test_an_xlsx_export_whose_author_lost_the_permission_fails_with_a_reason(client, django_user_model, campaign):
    user = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_lead"),
        Permission.objects.get(codename="export_lead"),
        Permission.objects.get(codename="view_exportrecord"),
    )
    client.force_login(user)
    make_lead(campaign=campaign)
    record = ExportRecord.objects.create(
        created_by=user, file_format="xlsx", file_name="x.xlsx", columns=["phone_number"]
    )
    user.user_permissions.remove(Permission.objects.get(codename="export_lead"))
    with pytest.raises(PermissionDenied):
        tasks.export_xlsx.call(record.pk)
    record.refresh_from_db()
    assert record.status == "failed" and "may no longer export" in record.message
    page = client.get(reverse("admin:leads_exportrecord_change", args=[record.pk])).content.decode()
    assert "may no longer export" in page
    assert client.get(reverse("admin:leads_exportrecord_download", args=[record.pk])).status_code == 403


def test_an_export_not_written_yet_has_nothing_to_download(admin_client_logged):
    record = ExportRecord.objects.create(file_format="xlsx", file_name="x.xlsx")
    response = admin_client_logged.get(reverse("admin:leads_exportrecord_download", args=[record.pk]), follow=True)
    assert any("no file to download" in str(m) for m in response.context["messages"])
    assert admin_client_logged.get(reverse("admin:leads_exportrecord_download", args=[999999])).status_code == 404


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY is PostgreSQL's: elsewhere CSV is written by Python"
)
def test_postgresql_writes_the_same_cells_as_python(campaign, settings):
    """On PostgreSQL the CSV comes from COPY; it must match the rows Python writes for
    XLSX and on SQLite, cell for cell: dates in the operator's zone, empty cells,
    neutralised formulas, quotes, commas and line breaks inside cells."""
    settings.TIME_ZONE = "America/St_Johns"  # a half-hour offset, with DST
    make_lead(
        campaign=campaign,
        primary="+14155550101",
        secondaries=["+12125550102"],
        variables={"customer_name": 'O"Brien, Jr.', "city": "=cmd", "note": "two\nlines"},
        timezone="Asia/Kolkata",
    )
    lead = make_lead(campaign=campaign, primary="+14155550104", variables={"customer_name": "@x", "city": ""})
    transitions.reschedule(
        Lead.objects.filter(pk=lead.pk), at=timezone.now() + timedelta(days=200), actor=Actor.system()
    )
    make_lead(campaign=make_campaign(name="-minus"), primary="+14155550105", variables={"customer_name": "+1 (415)"})
    # Hostile values in every kind of column: one rule, decided by the column, both ways.
    hostile = ["=1+1", "+10", "-5", "@SUM(A1)", "\tx", "\rx", "+1 555 0101", "+14155550106", "'=x", "''+1", "'tis"]
    for index, value in enumerate(hostile):
        make_lead(
            campaign=make_campaign(name=value if index % 2 else f"c{index}"),
            primary=f"+1415555011{index}",
            secondaries=[f"+1212555011{index}"],
            variables={"customer_name": value, "city": value[::-1]},
        )
        Contact.objects.filter(phone=f"+1212555011{index}").update(variables={"contact_name": value})
    # What the calls found out, hostile values included, in every kind of JSON value.
    for index, lead in enumerate(Lead.objects.order_by("id")):
        value = hostile[index % len(hostile)]
        set_results(
            lead,
            results={"said": value, "count": index - 5, "flag": index % 2 == 0, "nested": {"k": [value]}, "none": None}
            if index % 3
            else {},
            goal_achieved=[True, False, None][index % 3],
            disposition=value[:64],
            summary=f'two\nlines, "{value}"',
            duration_seconds=index * 7 if index % 2 else None,
            recording_url=f"https://r.example.com/{index}.mp3" if index % 2 else "",
            callback_at=timezone.now() + timedelta(days=index) if index % 4 == 1 else None,
            opted_out_at=timezone.now() - timedelta(days=index) if index % 5 == 2 else None,
        )
        # And its consent, hostile texts too.
        Lead.objects.filter(pk=lead.pk).update(
            consent=["none", "express", "express-written", "existing-relationship"][index % 4],
            consent_at=timezone.now() - timedelta(days=index, minutes=7) if index % 2 else None,
            consent_source=f"{value}, two\nlines" if index % 3 else "",
            consent_certificate=f"https://c.example.com/{index}?a=1,b" if index % 2 else "",
        )
    leads = Lead.objects.order_by("-id")
    header = writing.default_columns(leads).header()
    assert header[header.index("created_at") + 1 :] == [
        *RESULT_COLUMNS,
        "result_count",
        "result_flag",
        "result_nested",
        "result_none",
        "result_said",
        *CONSENT_COLUMNS,
    ]
    # Any columns in any order: a variable nobody has, a number nobody has, the state first.
    header = ["campaign", "created_at", *header, "never_set", "secondary_phone_7", "secondary_3_contact_name"]
    counted: list[int] = []
    with timezone.override(settings.TIME_ZONE):
        copied = b"".join(writing.csv_export(leads, header, on_done=counted.append)).decode()
        written = [[str(cell) for cell in row] for row in writing.export_rows(leads, header)]
    assert list(csv.reader(io.StringIO(copied))) == written
    assert counted == [3 + len(hostile)]
    cells = {row[header.index("customer_name")] for row in written}
    assert {"'+10", "'+1 555 0101", "'+14155550106", "''=x", "'''+1", "'tis", "'\tx"} <= cells
    assert {row[header.index("phone_number")] for row in written} >= {"+14155550110", "+14155550111"}
    assert {row[header.index("result_count")] for row in written[1:]} >= {"'-4", "0", ""}
    assert {row[header.index("result_flag")] for row in written[1:]} == {"true", "false", ""}
    assert {row[header.index("goal_achieved")] for row in written[1:]} == {"true", "false", ""}


def test_csv_export_runs_with_debug_on_from_the_list_and_the_command(admin_client_logged, campaign, settings, tmp_path):
    """DEBUG on (``make run``, and manage.py's dev settings) puts Django's debug cursor
    under every query; on PostgreSQL the COPY runs through it as well."""
    settings.DEBUG = True  # pytest-django turns it off; the debug cursor follows the setting
    make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    assert connection.queries_logged

    header, row = download(admin_client_logged)
    assert (row[0], row[header.index("customer_name")]) == ("+14155550101", "Ana")
    call_command("export_leads", "-o", str(tmp_path / "leads.csv"))
    header, row = list(csv.reader((tmp_path / "leads.csv").open(encoding="utf-8")))
    assert (row[0], row[header.index("customer_name")]) == ("+14155550101", "Ana")
    assert list(ExportRecord.objects.values_list("status", "rows")) == [("done", 1), ("done", 1)]
    if connection.vendor == "postgresql":
        assert any(query["sql"].startswith("COPY (SELECT") for query in connection.queries)


# --- Every export ends its record -------------------------------------------------


def page_of(client, record) -> str:
    return client.get(reverse("admin:leads_exportrecord_change", args=[record.pk])).content.decode()


def test_a_download_stopped_before_its_end_ends_its_record_as_stopped(admin_client_logged, campaign):
    bulk_leads(campaign, 6000)  # more than one block of COPY_BLOCK: the COPY is cut mid-way
    response = post_export(admin_client_logged)
    next(iter(response.streaming_content))  # the first block reaches the browser…
    # …which goes away: the server closes what it was reading (the test client's
    # stream, which closes the response as a server does).
    response._iterator.close()
    record = ExportRecord.objects.get()
    assert record.status == "aborted" and "stopped before its end" in record.message
    assert "stopped before its end" in page_of(admin_client_logged, record)
    assert Lead.objects.count() == 6000  # the connection is fine after the COPY was cut short


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="locks another connection holds: PostgreSQL's")
def test_a_download_the_database_stops_ends_its_record_failed_with_the_reason(admin_client_logged, campaign):
    make_lead(campaign=campaign)
    response = post_export(admin_client_logged)  # the page's queries are done; the COPY runs as it is read
    db = connection.settings_dict
    with (
        psycopg.connect(
            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
        ) as other,
        connection.cursor() as cursor,
    ):
        other.execute("LOCK TABLE leads_contact IN ACCESS EXCLUSIVE MODE")  # e.g. a migration running
        cursor.execute("SET lock_timeout = '200ms'")
        try:
            with pytest.raises(OperationalError, match="lock timeout"):
                b"".join(response.streaming_content)
        finally:
            cursor.execute("RESET lock_timeout")
    record = ExportRecord.objects.get()
    assert record.status == "failed" and "lock timeout" in record.message
    page = page_of(admin_client_logged, record)
    assert "lock timeout" in page and 'id="export-again-link"' in page


def test_export_leads_that_cannot_write_its_file_exits_non_zero_and_records_why(campaign, tmp_path):
    make_lead(campaign=campaign)
    for fmt in ("csv", "xlsx"):
        with pytest.raises(CommandError, match="No space left on device"):
            call_command("export_leads", "--format", fmt, "-o", "/dev/full")  # a disk that is full
    assert list(ExportRecord.objects.values_list("status", flat=True)) == ["failed", "failed"]
    assert all("No space left on device" in m for m in ExportRecord.objects.values_list("message", flat=True))


def test_export_leads_refused_as_xlsx_records_why_and_leaves_no_file(campaign, tmp_path, monkeypatch):
    monkeypatch.setattr(writing, "XLSX_MAX_ROWS", 1)  # Excel's 1,048,575, made small
    bulk_leads(campaign, 3)
    with pytest.raises(CommandError, match="XLSX holds 1 rows"):
        call_command("export_leads", "--format", "xlsx", "-o", str(tmp_path / "leads.xlsx"))
    assert not (tmp_path / "leads.xlsx").exists()
    assert ExportRecord.objects.get().status == "failed"


def stalled(record: ExportRecord, minutes: int = 61) -> None:
    """As if ``minutes`` had passed since its writer last said anything."""
    ExportRecord.objects.filter(pk=record.pk).update(progress_at=timezone.now() - timedelta(minutes=minutes))


def test_a_stalled_export_can_be_written_again_or_given_up_from_its_page(admin_client_logged, campaign, admin_user):
    make_lead(campaign=campaign)
    record = ExportRecord.objects.create(
        created_by=admin_user,
        file_format="xlsx",
        file_name="x.xlsx",
        columns=["phone_number"],
        progress_at=timezone.now(),
    )
    page = page_of(admin_client_logged, record)
    assert 'id="export-stalled"' not in page and 'id="export-again"' not in page  # fresh: maybe working
    give_up = reverse("admin:leads_exportrecord_give_up", args=[record.pk])
    admin_client_logged.post(give_up)
    assert ExportRecord.objects.get(pk=record.pk).status == "writing"  # not given up while fresh

    stalled(record, minutes=6)
    page = page_of(admin_client_logged, record)
    assert 'id="export-stalled"' in page and 'id="export-again"' in page and 'id="export-give-up"' in page
    response = admin_client_logged.post(reverse("admin:leads_exportrecord_again", args=[record.pk]))
    again = ExportRecord.objects.latest("pk")
    assert response["Location"] == reverse("admin:leads_exportrecord_change", args=[again.pk])
    assert (again.status, again.rows, again.columns) == ("done", 1, ["phone_number"])  # the worker runs inline here
    record.refresh_from_db()
    assert record.status == "failed" and f"export {again.pk}" in record.message

    streamed = ExportRecord.objects.create(
        created_by=admin_user, file_format="csv", filters="status=created", progress_at=timezone.now()
    )
    stalled(streamed, minutes=6)
    assert 'id="export-stalled"' not in page_of(admin_client_logged, streamed)  # a slow link streams for long
    stalled(streamed)
    page = page_of(admin_client_logged, streamed)
    assert 'id="export-give-up"' in page and f"{EXPORT}?status=created" in page  # asked for again from the list
    admin_client_logged.post(reverse("admin:leads_exportrecord_give_up", args=[streamed.pk]))
    streamed.refresh_from_db()
    assert streamed.status == "failed" and "Given up by admin" in streamed.message


def test_an_export_writer_that_comes_back_after_its_record_was_ended_writes_nothing(campaign, admin_user):
    """A worker stopped (SIGSTOP) and given up on, then woken: the ending stays."""
    make_lead(campaign=campaign)
    record = ExportRecord.objects.create(
        created_by=admin_user, file_format="xlsx", file_name="x.xlsx", columns=["phone_number"]
    )
    exports.export_give_up(record=record, user=admin_user)
    exports.export_xlsx_run(record=record, leads=Lead.objects.all())
    record.refresh_from_db()
    assert record.status == "failed" and not record.file
    assert not list((Path(settings.MEDIA_ROOT) / "exports").rglob("*.xlsx"))  # its file was not kept either


def test_an_export_the_worker_fails_ends_failed(admin_client_logged, campaign, admin_user):
    record = ExportRecord.objects.create(
        created_by=admin_user,
        file_format="xlsx",
        file_name="x.xlsx",
        columns=["phone_number"],
        filters="bogus__lookup=1",
    )
    with pytest.raises(FilterProblem, match="bogus__lookup"):  # not a filter of the list
        tasks.export_xlsx.call(record.pk)
    record.refresh_from_db()
    assert record.status == "failed" and record.message.startswith("The export stopped")
    assert 'id="export-again"' in page_of(admin_client_logged, record)


def start_worker() -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "leadsite.settings.dev",
        "DEBUG": "0",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.1"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a worker process shares PostgreSQL only")
def test_an_xlsx_export_whose_worker_is_stopped_or_killed_mid_file_has_a_way_out(
    admin_client_logged, campaign, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.LEADS_EXPORT_IN_MEMORY_MAX = 0
    bulk_leads(campaign, 20_000)

    # Ctrl-C twice (or SIGTERM, then SIGINT): db_worker exits from inside the task.
    assert post_export(admin_client_logged, fmt="xlsx").status_code == 302
    record = ExportRecord.objects.get()
    worker = start_worker()
    try:
        wait_for(lambda: ExportRecord.objects.get(pk=record.pk).rows_written > 0)
        worker.send_signal(signal.SIGINT)
        time.sleep(0.1)
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=60)
    finally:
        worker.kill()
    record.refresh_from_db()
    assert record.status == "failed" and "task worker was stopped" in record.message, record.message
    assert 'id="export-again"' in page_of(admin_client_logged, record)

    # SIGKILL: nothing ends the record; once it has stalled its page offers the ways out.
    ExportRecord.objects.all().delete()
    post_export(admin_client_logged, fmt="xlsx")
    record = ExportRecord.objects.get()
    worker = start_worker()
    try:
        wait_for(lambda: ExportRecord.objects.get(pk=record.pk).rows_written > 0)
        worker.kill()
        worker.communicate(timeout=60)
    finally:
        worker.kill()
    record.refresh_from_db()
    assert record.status == "writing"
    stalled(record, minutes=6)
    page = page_of(admin_client_logged, record)
    assert 'id="export-stalled"' in page and 'id="export-again"' in page and 'id="export-give-up"' in page
    admin_client_logged.post(reverse("admin:leads_exportrecord_again", args=[record.pk]))
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    again = ExportRecord.objects.latest("pk")
    assert (again.status, again.rows) == ("done", 20_000)
    assert ExportRecord.objects.get(pk=record.pk).status == "failed"


def test_columns_come_from_the_whole_selection_not_its_first_leads(admin_client_logged, campaign, tmp_path):
    """30,002 leads; only the oldest two (the last rows, newest first) carry `notes`,
    secondary numbers, and those numbers' own variables."""
    leads = bulk_leads(campaign, 30_002)
    oldest, second = sorted(leads, key=lambda lead: lead.pk)[:2]
    Contact.objects.filter(lead=oldest, position=0).update(variables={"customer_name": "Ana", "notes": "call at 9"})
    Contact.objects.filter(lead=second, position=0).update(variables={"notes": "=not a formula"})
    # A result only the last lead has, as the platform may name one.
    set_results(oldest, results={"Only Last": "=found"})
    Contact.objects.bulk_create(
        [
            Contact(
                lead=oldest,
                campaign=campaign,
                position=n,
                phone=f"+1212555013{n}",
                variables={"relation": f"cousin {n}"} if n == 3 else {},
            )
            for n in (1, 2, 3)
        ]
    )

    form = admin_client_logged.get(EXPORT).context["form"]
    assert writing.OTHER_VARIABLES in form.resources[0]().get_export_order()  # offered without reading 30,002 leads

    def check(rows):
        header = rows[0]
        assert {"notes", "secondary_phone_3", "secondary_3_relation", "secondary_1_relation"} <= set(header)
        assert header[-5:] == ["result_Only Last", *CONSENT_COLUMNS]
        assert len(rows) == 30_003
        last, before = (dict(zip(header, row)) for row in (rows[-1], rows[-2]))
        assert (last["notes"], last["secondary_phone_3"], last["secondary_3_relation"]) == (
            "call at 9",
            "+12125550133",
            "cousin 3",
        )
        assert before["notes"] == "'=not a formula"
        assert (last["result_Only Last"], before["result_Only Last"]) == ("'=found", "")

    check(download(admin_client_logged))
    call_command("export_leads", "-o", str(tmp_path / "all.csv"))
    check(list(csv.reader((tmp_path / "all.csv").open(encoding="utf-8"))))
