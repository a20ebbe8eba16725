"""LeadImportResource: django-import-export's import_data on a Dataset, checked and
written as a file's rows are."""

import pytest
import tablib
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import connection
from django.test.utils import CaptureQueriesContext
from import_export.exceptions import ImportError as RowImportError

from campaigns.tests.factories import make_assistant, make_campaign
from leads.imports import services
from leads.imports.resources import LeadImportResource, layout
from leads.models import Contact, DoNotCallNumber, ImportRecord, Lead, LeadStatus
from leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return make_campaign(assistant=make_assistant(variables=[{"name": "customer_name", "required": True}]))


def dataset(header, *rows):
    data = tablib.Dataset(headers=header)
    for row in rows:
        data.append(row)
    return data


def test_the_fields_are_the_spec_layout_for_the_campaign(campaign):
    resource = LeadImportResource(campaign)
    names = [field.column_name for field in resource.get_import_fields()]
    assert names[:2] == ["phone_number", "customer_name"]
    assert names[-5:] == ["timezone", "consent", "consent_at", "consent_source", "consent_certificate"]
    assert {"secondary_phone_10", "secondary_10_contact_name", "secondary_3_customer_name"} <= set(names)
    assert names == layout(["customer_name"])
    shown = [field.column_name for field in resource.get_user_visible_fields()]
    assert "secondary_phone_10" in shown and "secondary_1_contact_name" not in shown


def test_a_dataset_imports_leads_with_their_numbers_and_variables(campaign, admin_user):
    data = dataset(
        ["Phone Number", "Customer Name", "secondary_phone_1", "secondary_1_contact_name", "timezone", "Plan"],
        ["+14155550101", "Ana", "+12125550102", "Office", "America/New_York", "gold"],
        ["+14155550103", "Cy", "", "", "", ""],
    )
    result = LeadImportResource(campaign).import_data(data, user=admin_user)
    assert (result.totals["new"], result.totals["invalid"], result.has_errors()) == (2, 0, False)
    ana = Contact.objects.get(phone="+14155550101").lead
    assert ana.campaign == campaign and ana.timezone == "America/New_York" and ana.status == LeadStatus.CREATED
    numbers = {c.position: (c.phone, c.variables) for c in ana.contacts.all()}
    assert numbers == {
        0: ("+14155550101", {"customer_name": "Ana", "plan": "gold"}),
        1: ("+12125550102", {"contact_name": "Office"}),
    }


def test_a_dry_run_counts_and_writes_nothing(campaign):
    data = dataset(["phone_number", "customer_name"], ["+14155550101", "Ana"], ["nope", "Bob"])
    result = LeadImportResource(campaign).import_data(data, dry_run=True)
    assert (result.totals["new"], result.totals["invalid"]) == (1, 1)
    assert not Lead.objects.exists() and not Contact.objects.exists()


def test_refused_rows_give_their_reasons_by_column_and_the_others_are_written(campaign):
    DoNotCallNumber.objects.create(phone="+14155550109")
    data = dataset(
        ["Mobile", "customer_name", "timezone"],
        ["+14155550101", "Ana", ""],  # row 2: imported
        ["call me", "Bob", ""],  # row 3: not a number
        ["+14155550101", "Ana again", ""],  # row 4: duplicate of row 2
        ["+14155550105", "", ""],  # row 5: required variable missing
        ["+14155550109", "Dee", ""],  # row 6: do-not-call list
        ["", "", ""],  # row 7: blank, no lead, no error
        ["+14155550111", "Eve", "Mars/Base"],  # row 8: not a time zone
    )
    result = LeadImportResource(campaign).import_data(data)
    refused = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(refused) == {3, 4, 5, 6, 8}
    assert "is not a phone number" in refused[3]["Mobile"][0]
    assert refused[4] == {"Mobile": ["duplicate of row 2"]}
    assert refused[5] == {"customer_name": ["required, and the assistant has no default"]}
    assert refused[6] == {"Mobile": ["+14155550109 is on the do-not-call list"]}
    assert "is not a time zone name" in refused[8]["timezone"][0]
    assert result.invalid_rows[0].values == ("call me", "Bob", "")
    assert (result.totals["new"], result.totals["invalid"], result.has_validation_errors()) == (1, 5, True)
    assert list(Contact.objects.values_list("phone", flat=True)) == ["+14155550101"]


def test_a_reason_about_no_column_is_a_row_error(campaign):
    lead = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.PROCESSING)
    data = dataset(["phone_number", "customer_name"], ["+14155550101", "Ana B"])
    result = LeadImportResource(campaign, on_duplicate=ImportRecord.OnDuplicate.UPDATE).import_data(data)
    assert result.invalid_rows[0].error_dict == {
        NON_FIELD_ERRORS: ["a call to this lead is in progress; import the row again later"]
    }


@pytest.mark.parametrize(("policy", "totals", "name"), [("skip", (0, 0, 1), "Ana"), ("update", (0, 1, 0), "Ana B")])
def test_leads_the_campaign_has_follow_the_duplicate_policy(campaign, policy, totals, name):
    make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    data = dataset(["phone_number", "customer_name"], ["+14155550101", "Ana B"])
    result = LeadImportResource(campaign, on_duplicate=policy).import_data(data)
    assert (result.totals["new"], result.totals["update"], result.totals["skip"]) == totals
    assert Contact.objects.get(phone="+14155550101").variables["customer_name"] == name
    assert Lead.objects.count() == 1


def test_numeric_cells_and_national_numbers_are_read_as_a_spreadsheet_gives_them(campaign):
    # A spreadsheet's number cell arrives as a float; a national number needs its country.
    data = dataset(["phone", "customer_name"], [14155550101.0, "Ana"], ["(415) 555-0102", "Bob"])
    result = LeadImportResource(campaign, number_format="national", country="us").import_data(data)
    assert result.totals["new"] == 2
    assert set(Contact.objects.values_list("phone", flat=True)) == {"+14155550101", "+14155550102"}


def test_a_dataset_with_no_phone_column_is_refused_whole(campaign):
    data = dataset(["name", "customer_name"], ["Ana", "Ana"])
    result = LeadImportResource(campaign).import_data(data)
    assert result.has_errors() and "No column holds the primary phone number" in str(result.base_errors[0].error)
    assert not Lead.objects.exists()
    with pytest.raises(ValueError, match="No column holds the primary phone number"):
        LeadImportResource(campaign).import_data(data, raise_errors=True)


@pytest.mark.parametrize(
    "data", [tablib.Dataset(), tablib.Dataset(["+14155550101", "Ana"])], ids=["empty", "no header"]
)
def test_a_dataset_without_a_header_is_refused_whole(campaign, data):
    result = LeadImportResource(campaign).import_data(data)
    assert result.has_errors() and "No column holds the primary phone number" in str(result.base_errors[0].error)
    assert not Lead.objects.exists()


def test_a_header_only_dataset_imports_nothing_and_says_so_by_its_totals(campaign):
    result = LeadImportResource(campaign).import_data(dataset(["phone_number", "customer_name"]))
    assert not result.has_errors() and sum(result.totals.values()) == 0 and not Lead.objects.exists()


def test_rollback_on_validation_errors_writes_nothing_when_a_row_is_refused(campaign):
    data = dataset(["phone_number", "customer_name"], ["+14155550101", "Ana"], ["nope", "Bob"])
    result = LeadImportResource(campaign).import_data(data, rollback_on_validation_errors=True)
    assert result.has_validation_errors() and not Lead.objects.exists()


def test_raise_errors_stops_at_the_first_refused_row(campaign):
    data = dataset(["phone_number", "customer_name"], ["+14155550101", "Ana"], ["nope", "Bob"])
    with pytest.raises(RowImportError) as raised:
        LeadImportResource(campaign).import_data(data, raise_errors=True)
    assert raised.value.number == 3 and not Lead.objects.exists()


def test_national_numbers_need_their_country(campaign):
    with pytest.raises(ValueError, match="need the country"):
        LeadImportResource(campaign, number_format="national")


def test_writes_do_not_grow_with_the_rows(campaign, settings):
    settings.LEADS_IMPORT_BATCH_ROWS = 1000

    def queries(first: int, count: int) -> int:
        rows = [[f"+1415555{n:04d}", f"Name {n}", f"+1212555{n:04d}"] for n in range(first, first + count)]
        with CaptureQueriesContext(connection) as captured:
            result = LeadImportResource(campaign).import_data(
                dataset(["phone_number", "customer_name", "secondary_phone_1"], *rows)
            )
        assert result.totals["new"] == count
        return len(captured)

    # No query per row: 30 times the rows, not even three times the queries
    # (PostgreSQL writes with COPY, the same count for any size; SQLite's INSERTs are
    # split at its limit of 999 parameters per statement, about 40 leads each now that
    # a lead carries its call results).
    few, many = queries(0, 10), queries(100, 300)
    assert many < 3 * few if connection.vendor == "sqlite" else many == few
    assert Contact.objects.count() == 2 * 310


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="id sequences are PostgreSQL's (SQLite has none to reset)"
)
def test_the_id_sequence_is_never_reset(campaign):
    # django-import-export's ModelResource resets it after an import with new rows;
    # a lead inserted meanwhile by another transaction could then get a taken id.
    data = dataset(["phone_number", "customer_name"], ["+14155550101", "Ana"])
    with CaptureQueriesContext(connection) as captured:
        result = LeadImportResource(campaign).import_data(data)
    assert result.totals["new"] == 1
    assert not [q["sql"] for q in captured if "setval" in q["sql"].lower()]


def test_leads_imported_for_a_record_are_undone_with_it(campaign):
    record = ImportRecord.objects.create(campaign=campaign, file_name="api.csv", status=ImportRecord.Status.DONE)
    data = dataset(["phone_number", "customer_name"], ["+14155550101", "Ana"], ["+14155550102", "Bob"])
    LeadImportResource.for_record(record).import_data(data)
    assert Lead.objects.filter(import_record=record).count() == 2
    assert services.import_undo(record=record).removed == 2
    assert not Lead.objects.exists() and not Contact.objects.exists()
