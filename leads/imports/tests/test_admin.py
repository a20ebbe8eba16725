import csv
import io
import re

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import NoReverseMatch, resolve, reverse

from campaigns.tests.factories import make_assistant, make_campaign
from leads import transitions
from leads.imports.tests.filemakers import csv_bytes, write_xlsx_shared
from leads.models import ImportRecord, Lead, SavedMapping
from leads.tests.factories import make_lead
from leads.transitions import Actor

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:leads_lead_import")
ROWS = [
    ["Phone Number", "Customer Name", "secondary_phone_1"],
    ["+14155550101", "Ana", "+12125550102"],
    ["not a phone", "Bob", ""],
    ["+14155550103", "Cy", ""],
]


def url(name, record):
    return reverse(f"admin:leads_importrecord_{name}", args=[record.pk])


@pytest.fixture
def campaign():
    return make_campaign(assistant=make_assistant(variables=[{"name": "customer_name", "required": True}]))


def upload(client, campaign, /, rows=ROWS, name="leads.csv", **fields):
    data = {
        "campaign": campaign.pk,
        "number_format": "international",
        "on_duplicate": "skip",
        "resource": "0",
        "import_file": SimpleUploadedFile(name, csv_bytes(rows)),
        **fields,
    }
    return client.post(IMPORT, data)


def mapping_post(record, **changes):
    data = {f"column_{i}": t for i, t in enumerate(record.mapping)} | {"remember": "on"}
    data.update(changes)
    return data


def test_the_wizard_uploads_maps_validates_imports_and_undoes(admin_client_logged, campaign):
    response = upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    assert response.url == url("mapping", record)
    assert record.mapping == ["phone", "var:customer_name", "secondary:1"]
    page = admin_client_logged.get(url("mapping", record))
    assert "+14155550101" in page.content.decode()  # first values shown beside each column

    response = admin_client_logged.post(url("mapping", record), mapping_post(record))
    assert response.url == url("detail", record)
    record.refresh_from_db()
    assert (record.status, record.rows_new, record.rows_rejected) == (ImportRecord.Status.READY, 2, 1)
    detail = admin_client_logged.get(url("detail", record)).content.decode()
    assert "is not a phone number" in detail and "Import 2 new and 0 updated leads" in detail
    assert not Lead.objects.exists()

    admin_client_logged.post(url("confirm", record))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.DONE and Lead.objects.count() == 2

    report = admin_client_logged.get(url("errors", record))
    assert report["Content-Disposition"].startswith('attachment; filename="leads-errors.csv"')
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Phone Number", "Customer Name", "secondary_phone_1", "row", "errors"]
    assert rows[1][:2] == ["not a phone", "Bob"] and rows[1][3] == "3"

    response = admin_client_logged.post(url("undo", record), follow=True)
    assert "Removed 2 leads this import created." in [str(m) for m in response.context["messages"]]
    assert not Lead.objects.exists()


def imported(client, campaign, rows=ROWS) -> ImportRecord:
    upload(client, campaign, rows=rows)
    record = ImportRecord.objects.get()
    client.post(url("mapping", record), mapping_post(record))
    client.post(url("confirm", record))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.DONE
    return record


def test_undo_says_how_many_leads_it_removed_in_the_message_and_on_the_page(admin_client_logged, campaign):
    rows = [["phone", "customer_name"]] + [[f"+1415{5_000_000 + i}", f"Lead {i}"] for i in range(1234)]
    record = imported(admin_client_logged, campaign, rows)

    response = admin_client_logged.post(url("undo", record), follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Removed 1,234 leads this import created."]
    html = response.content.decode()
    assert re.search(r'id="count-removed">1,234 leads<', html)
    assert "Undone: removed 1,234 leads this import created." in html
    assert not Lead.objects.exists()


def test_undo_with_nothing_left_to_remove_says_so_and_what_it_kept(admin_client_logged, campaign):
    record = imported(admin_client_logged, campaign)
    transitions.complete(Lead.objects.all(), actor=Actor.system())  # dialled meanwhile: undo keeps them

    response = admin_client_logged.post(url("undo", record), follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Nothing to remove. Kept 2 already dialled or in a call."]
    html = response.content.decode()
    assert 'id="count-removed">nothing to remove<' in html
    assert "Undone: nothing to remove. Kept: 2 already dialled or in a call." in html
    assert Lead.objects.count() == 2


def test_undo_of_an_import_that_only_updated_leads_says_it_had_nothing_to_remove(admin_client_logged, campaign):
    make_lead(campaign=campaign, primary="+14155550101")
    make_lead(campaign=campaign, primary="+14155550103")
    upload(admin_client_logged, campaign, on_duplicate="update")
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    admin_client_logged.post(url("confirm", record))

    response = admin_client_logged.post(url("undo", record), follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Nothing to remove: this import created no leads (leads it updated are not changed back)."
    ]
    assert Lead.objects.count() == 2


@pytest.mark.parametrize(
    ("fields", "error_field", "message"),
    [
        ({"import_file": SimpleUploadedFile("leads.pdf", b"%PDF")}, "import_file", "not a CSV, XLSX or XLS"),
        ({"import_file": SimpleUploadedFile("leads.csv", b"")}, "import_file", "empty"),
        ({"import_file": SimpleUploadedFile("leads.xlsx", b"not a zip")}, "import_file", "not a valid XLSX"),
        ({"import_file": SimpleUploadedFile("leads.csv", b"\n\n")}, "import_file", "empty"),
        (
            {"import_file": SimpleUploadedFile("leads.csv", b"phone_number,name\n\n")},
            "import_file",
            "The file has a header but no rows.",
        ),
        ({"number_format": "national"}, "country", "need the country"),
        ({"number_format": "national", "country": "ZZ"}, "country", "not a two-letter country"),
        ({"number_format": "sideways"}, "number_format", "Select a valid choice"),
        ({"on_duplicate": "merge"}, "on_duplicate", "Select a valid choice"),
        ({"campaign": "999999"}, "campaign", "Select a valid choice"),
    ],
)
def test_malformed_uploads_say_why_and_keep_nothing(admin_client_logged, campaign, fields, error_field, message):
    response = upload(admin_client_logged, campaign, **fields)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[error_field])
    assert not ImportRecord.objects.exists()


def test_an_upload_over_the_size_limit_is_refused(admin_client_logged, campaign, settings):
    settings.LEADS_IMPORT_MAX_BYTES = 10
    response = upload(admin_client_logged, campaign)
    assert "larger than the limit" in " ".join(response.context["form"].errors["import_file"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"column_0": ""}, "No column holds the primary phone number"),
        ({"column_2": "var:customer_name"}, "both go to variable customer_name"),
        ({"column_1": "var:Robert'); DROP"}, "Select a valid choice"),
        ({"column_2": "secondary:11"}, "Select a valid choice"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused_on_the_page(admin_client_logged, campaign, changes, message):
    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    response = admin_client_logged.post(url("mapping", record), mapping_post(record, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    record.refresh_from_db()
    assert record.rows_validated == 0 and record.status == ImportRecord.Status.MAPPING


def test_a_saved_mapping_is_offered_for_the_next_file_with_the_same_columns(admin_client_logged, campaign):
    rows = [["Fon", "Who"], ["+14155550101", "Ana"]]  # no name the import knows for a number
    upload(admin_client_logged, campaign, rows=rows)
    first = ImportRecord.objects.get()
    assert first.mapping == ["var:fon", "var:who"]
    admin_client_logged.post(url("mapping", first), mapping_post(first, column_0="phone", column_1="var:customer_name"))
    assert SavedMapping.objects.get(campaign=campaign).mapping == ["phone", "var:customer_name"]
    upload(admin_client_logged, campaign, rows=[["fon", " WHO "], ["+14155550102", "Bo"]])
    assert ImportRecord.objects.latest("pk").mapping == ["phone", "var:customer_name"]


@pytest.mark.django_db(transaction=True)
def test_large_files_are_validated_and_imported_by_the_task_worker(admin_client_logged, campaign, settings):
    settings.LEADS_IMPORT_BACKGROUND_ABOVE = 0
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.VALIDATING and record.rows_validated == 0  # queued, not done
    progress = admin_client_logged.get(url("progress", record)).json()
    assert progress == {"status": "validating", "status_display": "Validating", "done": 0, "total": 3, "percent": 0}

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.READY and record.rows_new == 2

    admin_client_logged.post(url("confirm", record))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.IMPORTING and not Lead.objects.exists()
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.DONE and Lead.objects.count() == 2
    assert admin_client_logged.get(url("progress", record)).json()["percent"] == 100


def test_confirm_and_undo_refuse_what_cannot_happen(admin_client_logged, campaign):
    upload(admin_client_logged, campaign, dry_run="on")
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    response = admin_client_logged.post(url("confirm", record), follow=True)
    assert any("dry run" in str(m) for m in response.context["messages"])
    response = admin_client_logged.post(url("undo", record), follow=True)
    assert any("nothing to undo" in str(m) for m in response.context["messages"])
    assert admin_client_logged.get(url("confirm", record)).status_code == 405
    assert admin_client_logged.get(reverse("admin:leads_importrecord_detail", args=[999999])).status_code == 404
    assert not Lead.objects.exists()


def test_sample_files_follow_the_campaigns_variables(admin_client_logged, campaign):
    sample = admin_client_logged.get(reverse("admin:leads_importrecord_sample", args=[campaign.pk, "csv"]))
    header, example = list(csv.reader(io.StringIO(sample.content.decode("utf-8-sig"))))
    assert header == ["phone_number", "customer_name", "secondary_phone_1", "timezone"]
    xlsx = admin_client_logged.get(reverse("admin:leads_importrecord_sample", args=[campaign.pk, "xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]] == header
    assert (
        admin_client_logged.get(reverse("admin:leads_importrecord_sample", args=[campaign.pk, "pdf"])).status_code
        == 404
    )
    assert admin_client_logged.get(reverse("admin:leads_importrecord_sample", args=[999999, "csv"])).status_code == 404


def test_the_sample_file_imports_as_it_is(admin_client_logged, campaign):
    sample = admin_client_logged.get(reverse("admin:leads_importrecord_sample", args=[campaign.pk, "csv"]))
    admin_client_logged.post(
        IMPORT,
        {
            "campaign": campaign.pk,
            "number_format": "international",
            "on_duplicate": "skip",
            "resource": "0",
            "import_file": SimpleUploadedFile("sample.csv", sample.content),
        },
    )
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    admin_client_logged.post(url("confirm", record))
    record.refresh_from_db()
    assert (record.rows_new, record.rows_rejected) == (1, 0)


def test_view_only_staff_sees_imports_but_cannot_import_or_undo(
    client, django_user_model, admin_client_logged, campaign
):
    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_importrecord", "view_lead"]))
    client.force_login(viewer)
    assert client.get(url("detail", record)).status_code == 200
    assert client.get(IMPORT).status_code == 403
    assert client.post(url("confirm", record)).status_code == 403
    assert client.post(url("undo", record)).status_code == 403
    assert client.get(url("mapping", record)).status_code == 403
    assert "import_link" not in client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert not Lead.objects.exists()


def test_an_import_whose_worker_died_can_be_run_again_from_its_page(admin_client_logged, campaign, settings):
    import datetime

    from django.utils import timezone

    from leads.imports import services
    from leads.transitions import Actor

    settings.LEADS_IMPORT_BATCH_ROWS = 1
    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))

    def killed(current):
        raise SystemExit("worker killed")

    with pytest.raises(SystemExit):  # the worker dies after its first batch
        services.import_run(record=ImportRecord.objects.get(), actor=Actor(source="import"), progress=killed)
    assert Lead.objects.count() == 1
    page = admin_client_logged.get(url("detail", record)).content.decode()
    assert 'id="stalled"' not in page and "Run the import again" not in page  # still fresh: maybe working

    ImportRecord.objects.filter(pk=record.pk).update(progress_at=timezone.now() - datetime.timedelta(minutes=10))
    page = admin_client_logged.get(url("detail", record)).content.decode()
    assert 'id="stalled"' in page and "Run the import again" in page and "Undo this import" in page

    admin_client_logged.post(url("confirm", record))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.DONE and Lead.objects.count() == 2 and record.rows_written == 2


@pytest.mark.parametrize("page", ["abc", "-1", "0", "99999", "1e9", ""])
def test_any_page_number_of_the_rejected_rows_shows_a_page(admin_client_logged, campaign, page):
    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    response = admin_client_logged.get(url("detail", record), {"page": page})
    assert response.status_code == 200
    assert "is not a phone number" in response.content.decode()


def test_an_import_no_worker_takes_up_shows_as_stopped(admin_client_logged, campaign):
    import datetime

    from django.utils import timezone

    from leads.imports import services

    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    services.import_queue(record=ImportRecord.objects.get())  # queued; no worker ever runs it
    assert 'id="stalled"' not in admin_client_logged.get(url("detail", record)).content.decode()

    ImportRecord.objects.filter(pk=record.pk).update(progress_at=timezone.now() - datetime.timedelta(minutes=10))
    page = admin_client_logged.get(url("detail", record)).content.decode()
    assert (
        'id="stalled"' in page and "Run the import again" in page and "Undo this import" not in page
    )  # nothing written


def test_a_validation_no_worker_takes_up_offers_to_start_again(admin_client_logged, campaign):
    import datetime

    from django.utils import timezone

    from leads.imports import services

    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    services.mapping_save(record=record, targets=record.mapping, remember=False)  # then queued; no worker
    assert 'id="stalled"' not in admin_client_logged.get(url("detail", record)).content.decode()
    ImportRecord.objects.filter(pk=record.pk).update(progress_at=timezone.now() - datetime.timedelta(minutes=10))
    page = admin_client_logged.get(url("detail", record)).content.decode()
    assert 'id="stalled"' in page and "match the columns again" in page and "Validate again" in page
    assert admin_client_logged.get(url("mapping", record)).status_code == 200


# django-import-export's Import page: the wizard's first step --------------------


def test_the_import_page_is_django_import_exports_with_the_campaigns_layout(admin_client_logged, campaign):
    response = admin_client_logged.get(IMPORT + f"?campaign={campaign.pk}")
    assert response.status_code == 200
    assert {"admin/import_export/import.html", "admin/leads/lead/import.html"} <= {t.name for t in response.templates}
    ((resource_name, columns),) = response.context["fields_list"]
    assert resource_name == "Leads"
    assert (
        columns[:2] == ["phone_number", "customer_name"]
        and "secondary_phone_10" in columns
        and columns[-5:] == ["timezone", "consent", "consent_at", "consent_source", "consent_certificate"]
    )
    assert response.context["form"].initial["campaign"] == campaign.pk
    formats = [label for _, label in response.context["form"].fields["format"].choices]
    assert formats == ["---", "csv", "xlsx", "xls"]


@pytest.mark.parametrize("value", ["abc", "999999", "1\x00", "-1", ""])
def test_an_odd_campaign_in_the_import_address_opens_the_page_with_none_chosen(admin_client_logged, value):
    response = admin_client_logged.get(IMPORT, {"campaign": value})
    assert response.status_code == 200
    assert "campaign" not in response.context["form"].initial
    assert response.context["fields_list"][0][1] == [
        "phone_number",
        *[f"secondary_phone_{n}" for n in range(1, 11)],
        "timezone",
        "consent",
        "consent_at",
        "consent_source",
        "consent_certificate",
    ]


def test_the_import_buttons_open_the_page_for_their_campaign(admin_client_logged):
    for _ in range(10):
        campaign = make_campaign()  # an id of two digits or more (a template once kept only its first)
    listed = admin_client_logged.get(
        reverse("admin:leads_lead_changelist") + f"?campaign={campaign.pk}"
    ).content.decode()
    assert f"href='{IMPORT}?campaign={campaign.pk}' class=\"import_link\"" in listed
    page = admin_client_logged.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert f'href="{IMPORT}?campaign={campaign.pk}" class="import_link"' in page
    response = admin_client_logged.get(reverse("admin:leads_importrecord_add") + f"?campaign={campaign.pk}")
    assert response.url == f"{IMPORT}?campaign={campaign.pk}"


@pytest.mark.parametrize(
    ("name", "format_index", "message"),
    [
        ("leads.csv", "1", "The file's name says CSV, not XLSX"),
        ("leads.xlsx", "0", "The file's name says XLSX, not CSV"),
        ("leads.csv", "9", "Select a valid choice"),
        ("leads.csv", "x", "Select a valid choice"),
    ],
)
def test_a_format_that_is_not_the_files_is_refused(admin_client_logged, campaign, name, format_index, message):
    response = upload(admin_client_logged, campaign, name=name, format=format_index)
    assert message in " ".join(response.context["form"].errors["format"])
    assert not ImportRecord.objects.exists()


@pytest.mark.parametrize("format_index", ["", "0"])
def test_the_format_is_taken_from_the_name_or_as_chosen(admin_client_logged, campaign, format_index):
    response = upload(admin_client_logged, campaign, format=format_index)
    assert response.url == url("mapping", ImportRecord.objects.get())


def test_an_excel_file_goes_through_the_import_page(admin_client_logged, campaign, tmp_path):
    from leads.imports.tests.filemakers import write_xlsx

    path = write_xlsx(tmp_path / "leads.xlsx", [["phone_number", "customer_name"], [14155550101, "Ana"]])
    admin_client_logged.post(
        IMPORT,
        {
            "campaign": campaign.pk,
            "number_format": "international",
            "on_duplicate": "skip",
            "resource": "0",
            "format": "1",
            "import_file": SimpleUploadedFile("leads.xlsx", path.read_bytes()),
        },
    )
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    admin_client_logged.post(url("confirm", record))
    record.refresh_from_db()
    assert (record.status, record.rows_new) == (ImportRecord.Status.DONE, 1)
    assert Lead.objects.get().contacts.get().phone == "+14155550101"


def test_django_import_exports_own_confirm_step_is_not_served():
    # The wizard confirms on the import's own page; this address would import a
    # temporary file the request names, in the request.
    with pytest.raises(NoReverseMatch):
        reverse("admin:leads_lead_process_import")
    assert resolve("/admin/leads/lead/process_import/").url_name != "leads_lead_process_import"


def test_the_sample_file_holds_no_live_formula(admin_client_logged):
    """A variable's default is the assistant's text: in the sample it stays text."""
    campaign = make_campaign(
        assistant=make_assistant(
            variables=[
                {"name": "link", "default_value": '=HYPERLINK("http://example.com","open")'},
                {"name": "code", "default_value": "+10"},
                {"name": "total", "default_value": "@SUM(1)"},
            ]
        )
    )
    xlsx = admin_client_logged.get(reverse("admin:leads_importrecord_sample", args=[campaign.pk, "xlsx"]))
    header, example = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(max_row=2)
    assert not [cell.coordinate for row in (header, example) for cell in row if cell.data_type == "f"]
    by_name = {name.value: cell.value for name, cell in zip(header, example)}
    assert by_name["link"] == '\'=HYPERLINK("http://example.com","open")'
    assert (by_name["code"], by_name["total"]) == ("'+10", "'@SUM(1)")
    assert (by_name["phone_number"], by_name["secondary_phone_1"]) == ("+14155550123", "+12125550123")
    csv_sample = admin_client_logged.get(reverse("admin:leads_importrecord_sample", args=[campaign.pk, "csv"]))
    assert list(csv.reader(io.StringIO(csv_sample.content.decode("utf-8-sig"))))[1] == [c.value for c in example]


# An import left at the mapping step ------------------------------------------------


def test_an_import_left_at_the_mapping_step_says_so_links_to_it_and_can_be_cancelled(admin_client_logged, campaign):
    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    page = admin_client_logged.get(url("detail", record)).content.decode()
    assert "waits for its columns" in page and url("mapping", record) in page
    assert "Validating" not in page and 'id="import-progress"' not in page and "Cancel this import" in page
    progress = admin_client_logged.get(url("progress", record)).json()
    assert progress["status"] == "mapping" and progress["status_display"] == "Waiting for its columns"

    admin_client_logged.post(url("cancel", record))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.CANCELLED
    assert admin_client_logged.get(url("mapping", record)).url == url("detail", record)  # no way back in
    page = admin_client_logged.get(url("detail", record)).content.decode()
    assert "Cancelled by admin" in page and "Cancel this import" not in page
    response = admin_client_logged.post(url("cancel", record), follow=True)
    assert any("cannot be cancelled" in str(m) for m in response.context["messages"])


def test_an_import_validating_in_the_background_cannot_be_mapped_again_until_it_stalls(
    admin_client_logged, campaign, settings
):
    settings.LEADS_IMPORT_BACKGROUND_ABOVE = 0
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # queued, never run
    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    response = admin_client_logged.post(url("mapping", record), mapping_post(record), follow=True)
    assert response.redirect_chain[-1][0] == url("detail", record)
    response = admin_client_logged.post(url("validate", record), follow=True)
    assert any("cannot start again now" in str(m) for m in response.context["messages"])


# Permissions, step by step -----------------------------------------------------------

STEPS = ["upload", "mapping", "confirm", "undo", "cancel", "validate", "errors", "sample", "progress", "detail", "list"]
# What the README says: *add import* runs the wizard (and sees the imports it needs
# to); *view import* (or *change*, which includes viewing in Django) only looks.
LOOK = {"errors", "sample", "progress", "detail", "list"}
PERMISSIONS = {
    "nothing": ([], set()),
    "view": (["view_importrecord"], LOOK),
    "change": (["change_importrecord"], LOOK),
    "add": (["add_importrecord"], set(STEPS)),
    "add and view": (["add_importrecord", "view_importrecord"], set(STEPS)),
    "add and change": (["add_importrecord", "change_importrecord"], set(STEPS)),
}


def step_response(client, step, record, campaign):
    if step == "upload":
        return client.get(IMPORT)
    if step == "sample":
        return client.get(reverse("admin:leads_importrecord_sample", args=[campaign.pk, "csv"]))
    if step == "list":
        return client.get(reverse("admin:leads_importrecord_changelist"))
    if step in ("confirm", "undo", "cancel", "validate"):
        return client.post(url(step, record))
    return client.get(url(step, record))


@pytest.mark.parametrize("who", PERMISSIONS)
@pytest.mark.parametrize("step", STEPS)
def test_each_step_of_the_wizard_needs_the_permission_the_readme_names(
    client, django_user_model, admin_client_logged, campaign, who, step
):
    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    if step not in ("mapping",):
        admin_client_logged.post(url("mapping", record), mapping_post(record))  # validated: ready
    if step == "undo":
        admin_client_logged.post(url("confirm", record))
    codenames, allowed = PERMISSIONS[who]
    user = django_user_model.objects.create_user("someone", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    status_before = ImportRecord.objects.get().status

    response = step_response(client, step, record, campaign)

    if step in allowed:
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302:
            assert "/login/" not in response.url
    else:
        assert response.status_code == 403
        assert ImportRecord.objects.get().status == status_before


def test_add_import_alone_runs_the_whole_wizard(client, django_user_model, campaign):
    user = django_user_model.objects.create_user("importer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_importrecord"))
    client.force_login(user)
    response = upload(client, campaign)
    record = ImportRecord.objects.get()
    assert response.url == url("mapping", record)
    assert client.get(url("mapping", record)).status_code == 200
    assert client.post(url("mapping", record), mapping_post(record)).url == url("detail", record)
    assert "Import 2 new and 0 updated leads" in client.get(url("detail", record)).content.decode()
    client.post(url("confirm", record))
    assert Lead.objects.count() == 2
    assert client.get(url("errors", record)).status_code == 200
    client.post(url("undo", record))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.UNDONE and not Lead.objects.exists()


# A cell past the CSV reader's field limit (131,072 characters) on line 7, below the
# rows the mapping page shows.
DEEP_BAD_ROWS = ROWS + [["+14155550104", "Di", ""], ["+14155550105", "x" * 200_000, ""], ["+14155550106", "Ed", ""]]


def test_a_row_the_reader_cannot_read_fails_the_validation_in_the_request(admin_client_logged, campaign):
    upload(admin_client_logged, campaign, rows=DEEP_BAD_ROWS)
    record = ImportRecord.objects.get()
    response = admin_client_logged.post(url("mapping", record), mapping_post(record))
    assert response.url == url("detail", record)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.FAILED
    assert "line 6" in record.message and "field larger than field limit" in record.message
    assert record.message in admin_client_logged.get(url("detail", record)).content.decode()
    assert not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_row_the_reader_cannot_read_fails_the_validation_in_the_worker(admin_client_logged, campaign, settings):
    settings.LEADS_IMPORT_BACKGROUND_ABOVE = 0
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    upload(admin_client_logged, campaign, rows=DEEP_BAD_ROWS)
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.FAILED and "field larger than field limit" in record.message
    assert record.message in admin_client_logged.get(url("detail", record)).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_validation_that_breaks_in_the_worker_ends_failed_with_its_reason(admin_client_logged, campaign, settings):
    settings.LEADS_IMPORT_BACKGROUND_ABOVE = 0
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    upload(admin_client_logged, campaign)
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    record.file.storage.delete(record.file.name)  # the uploads folder lost it
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.FAILED
    assert record.message.startswith("The validation stopped:") and "No such file" in record.message


def test_a_file_wider_than_the_limit_is_refused_at_upload(admin_client_logged, campaign, settings):
    settings.LEADS_IMPORT_MAX_COLUMNS = 40
    response = upload(admin_client_logged, campaign, rows=[["phone"] + [f"c{n}" for n in range(40)], ["+14155550101"]])
    assert "more than 40 columns, the most one import takes (LEADS_IMPORT_MAX_COLUMNS)" in " ".join(
        response.context["form"].errors["import_file"]
    )
    assert not ImportRecord.objects.exists()


def test_the_mapping_page_grows_with_the_number_of_columns_not_its_square(admin_client_logged, campaign):
    sizes = {}
    for width in (100, 200):
        upload(admin_client_logged, campaign, rows=[["phone"] + [f"c{n}" for n in range(width - 1)], ["+14155550101"]])
        record = ImportRecord.objects.latest("pk")
        page = admin_client_logged.get(url("mapping", record))
        assert page.content.decode().count("<select") == width
        sizes[width] = len(page.content)
    # Each column used to list every other column's variable: 891 KB, then 2,844 KB.
    assert sizes[200] < 2.1 * sizes[100]


def test_a_column_goes_to_its_own_variable_or_where_its_saved_mapping_sends_it(admin_client_logged, campaign):
    upload(admin_client_logged, campaign, rows=[["phone", "City", "Zip"], ["+14155550101", "Oslo", "0150"]])
    record = ImportRecord.objects.get()
    page = admin_client_logged.get(url("mapping", record)).content.decode()
    assert '<option value="var:city" selected>' in page and '<option value="var:zip" selected>' in page
    # A column offers its own extra variable, not another column's.
    response = admin_client_logged.post(url("mapping", record), mapping_post(record, column_1="var:zip"))
    assert "Select a valid choice. var:zip is not one of the available choices." in response.content.decode()
    response = admin_client_logged.post(
        url("mapping", record), mapping_post(record, column_2="secondary:3:customer_name")
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.mapping == ["phone", "var:city", "secondary:3:customer_name"]


def upload_file(client, campaign, path):
    with path.open("rb") as handle:
        return client.post(
            IMPORT,
            {
                "campaign": campaign.pk,
                "number_format": "international",
                "on_duplicate": "skip",
                "resource": "0",
                "import_file": SimpleUploadedFile(path.name, handle.read()),
            },
        )


@pytest.mark.django_db(transaction=True)
def test_a_small_workbook_of_many_rows_is_validated_by_the_worker(admin_client_logged, campaign, settings, tmp_path):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    rows = [["phone", "customer_name"]] + [["+14155550101", "Ana"]] * 100_000
    path = write_xlsx_shared(tmp_path / "many.xlsx", rows, references=False)
    assert path.stat().st_size < settings.LEADS_IMPORT_BACKGROUND_ABOVE / 4  # its bytes alone said "in the request"
    upload_file(admin_client_logged, campaign, path)
    record = ImportRecord.objects.get()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.VALIDATING and record.rows_validated == 0  # queued, not done
    assert DBTaskResult.objects.filter(status="READY").count() == 1


def test_the_upload_reads_a_workbooks_header_and_first_rows_only(admin_client_logged, campaign, tmp_path):
    # Texts past the first rows' break the table: the upload and the mapping page never
    # reach them; the validation does, and fails with its reason.
    broken = b"".join(b"<si><t>text %d</t></si>" % n for n in range(5000)) + b"<si><broken>"
    rows = [["phone", "customer_name"], ["+14155550101", "Ana"], ["+14155550102", "Bob"]]
    path = write_xlsx_shared(tmp_path / "a.xlsx", rows, more_strings=broken)
    response = upload_file(admin_client_logged, campaign, path)
    record = ImportRecord.objects.get()
    assert response.url == url("mapping", record)
    assert "Bob" in admin_client_logged.get(url("mapping", record)).content.decode()
    admin_client_logged.post(url("mapping", record), mapping_post(record))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.FAILED and "XLSX workbook cannot be read" in record.message


def test_a_shared_strings_bomb_is_refused_at_upload(admin_client_logged, campaign, tmp_path):
    bomb = (b"<si><t>" + b"a" * 200 + b"</t></si>") * 50_000
    path = write_xlsx_shared(tmp_path / "bomb.xlsx", [["phone"], ["+14155550101"]], more_strings=bomb)
    response = upload_file(admin_client_logged, campaign, path)
    assert "made to fill memory" in " ".join(response.context["form"].errors["import_file"])
    assert not ImportRecord.objects.exists()
