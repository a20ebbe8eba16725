import csv
import hashlib
import io
import json

import pytest
from django.core.files import File
from django.core.management import CommandError, call_command

from campaigns.tests.factories import make_assistant, make_campaign
from leads import services as lead_services
from leads import transitions
from leads.imports import services
from leads.imports.columns import suggest_mapping
from leads.imports.services import ImportProblem
from leads.imports.tests.filemakers import write_csv, write_xls, write_xlsx
from leads.models import Contact, ContactStatus, ImportRecord, Lead, LeadStatus, SavedMapping
from leads.tests.factories import make_lead, phone
from leads.transitions import Actor

pytestmark = pytest.mark.django_db
ACTOR = Actor(source="import")


@pytest.fixture
def campaign():
    assistant = make_assistant(
        variables=[
            {"name": "customer_name", "required": True},
            {"name": "appointment_type", "default_value": "check-up", "required": True},
        ]
    )
    return make_campaign(assistant=assistant)


def run_import(campaign, path, *, validate_only=False, **options):
    with path.open("rb") as handle:
        record = services.import_create(campaign=campaign, file=File(handle), file_name=path.name, **options)
    services.import_validate(record=record)
    if not validate_only and record.status == ImportRecord.Status.READY and not record.dry_run:
        services.import_run(record=record, actor=ACTOR)
    record.refresh_from_db()
    return record


def report_rows(record) -> list[dict]:
    with record.error_report.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8-sig"))))


def counts(record):
    return record.rows_new, record.rows_updated, record.rows_skipped, record.rows_rejected


def numbers(lead):
    return list(lead.contacts.order_by("position").values_list("phone", flat=True))


def test_a_valid_csv_imports_leads_numbers_and_variables(tmp_path, campaign):
    path = write_csv(
        tmp_path / "leads.csv",
        [
            ["Phone", "Customer Name", "City", "secondary_phone_1", "secondary_1_contact_name", "timezone"],
            ["+14155550101", "Ana", "Austin", "+12125550102", "Luis", "America/Chicago"],
            ["+14155550103", "Ben", "", "", "", ""],
        ],
    )
    record = run_import(campaign, path)
    assert record.status == ImportRecord.Status.DONE
    assert counts(record) == (2, 0, 0, 0)
    ana = Lead.objects.get(contacts__phone="+14155550101")
    assert (ana.campaign, ana.timezone, ana.status, ana.import_record) == (
        campaign,
        "America/Chicago",
        LeadStatus.CREATED,
        record,
    )
    assert list(ana.contacts.order_by("position").values_list("phone", "variables")) == [
        ("+14155550101", {"customer_name": "Ana", "city": "Austin"}),
        ("+12125550102", {"contact_name": "Luis"}),
    ]
    assert report_rows(record) == []


def test_every_rejection_reason_is_named_by_column(tmp_path, campaign):
    lead_services.do_not_call_add(phones=["+14155550109"], actor=ACTOR)
    rows = [
        ["phone_number", "customer_name", "secondary_phone_1", "secondary_phone_2", "timezone", "notes"],
        ["", "Missing", "", "", "", ""],  # 2: no number
        ["call me", "Words", "", "", "", ""],  # 3: not a number
        ["+10005550100", "Invalid", "", "", "", ""],  # 4: not a valid number
        ["+14155550104", "Sec bad", "12", "", "", ""],  # 5: invalid secondary
        ["+14155550105", "Sec same", "+14155550105", "", "", ""],  # 6: secondary = primary
        ["+14155550106", "Sec twice", "+12125550100", "+12125550100", "", ""],  # 7: repeats
        ["+14155550107", "", "", "", "", ""],  # 8: required missing
        ["+14155550108", "Long", "", "", "", "x" * 1001],  # 9: too long
        ["+14155550110", "Zone", "", "", "Europe/Nowhere", ""],  # 10: timezone
        ["+14155550111", "First", "", "", "", ""],  # 11: ok
        ["+1 (415) 555-0111", "Again", "", "", "", ""],  # 12: duplicate of 11
        ["+14155550109", "Listed", "", "", "", ""],  # 13: do not call
    ]
    record = run_import(campaign, write_csv(tmp_path / "bad.csv", rows))
    assert counts(record) == (1, 0, 0, 11)
    reasons = {int(r["row"]): r["errors"] for r in report_rows(record)}
    assert "phone_number: the phone number is missing" in reasons[2]
    assert "phone_number: “call me” is not a phone number" in reasons[3]
    assert "phone_number: “+10005550100” is not a valid phone number" in reasons[4]
    assert "secondary_phone_1: “12” has 2 digits" in reasons[5]
    assert "secondary_phone_1: +14155550105 repeats the primary number" in reasons[6]
    assert "secondary_phone_2: +12125550100 repeats the number in secondary_phone_1" in reasons[7]
    assert reasons[8] == "customer_name: required, and the assistant has no default"
    assert "notes: longer than 1,000 characters" in reasons[9]
    assert "timezone: “Europe/Nowhere” is not a time zone name" in reasons[10]
    assert reasons[12] == "phone_number: duplicate of row 11"
    assert reasons[13] == "phone_number: +14155550109 is on the do-not-call list"
    assert Lead.objects.count() == 1


def test_a_row_with_several_problems_lists_them_all(tmp_path, campaign):
    record = run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["phone_number", "customer_name", "timezone"],
                ["nope", "", "Mars/Base"],
            ],
        ),
    )
    (row,) = report_rows(record)
    assert row["errors"].count("; ") == 2
    assert row["phone_number"] == "nope" and row["row"] == "2"


def test_fixing_the_error_report_and_importing_it_again(tmp_path, campaign):
    record = run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["phone_number", "customer_name", "status"],
                ["+14155550101", "", "completed"],
                ["+14155550102", "Ok", ""],
            ],
        ),
    )
    assert counts(record) == (1, 0, 0, 1)
    rows = [list(report_rows(record)[0].keys())] + [list(r.values()) for r in report_rows(record)]
    rows[1][1] = "Fixed"  # customer_name
    again = run_import(campaign, write_csv(tmp_path / "fixed.csv", rows))
    assert counts(again) == (1, 0, 0, 0)
    assert Lead.objects.get(contacts__phone="+14155550101").contacts.get().variables == {"customer_name": "Fixed"}


def test_duplicates_in_the_campaign_are_skipped_by_default(tmp_path, campaign):
    make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Old"})
    record = run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["phone_number", "customer_name"],
                ["1 415 555 0101", "New"],
                ["+14155550102", "Other"],
            ],
        ),
    )
    assert counts(record) == (1, 0, 1, 0)
    assert Lead.objects.get(contacts__phone="+14155550101").contacts.get().variables == {"customer_name": "Old"}


def test_update_policy_overwrites_non_empty_cells_and_keeps_status(tmp_path, campaign):
    lead = make_lead(
        campaign=campaign,
        primary="+14155550101",
        secondaries=["+12125550102"],
        variables={"customer_name": "Old", "city": "Austin"},
    )
    transitions.complete(Lead.objects.filter(pk=lead.pk), actor=ACTOR)
    record = run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["phone_number", "customer_name", "city", "company"],
                ["+14155550101", "New", "", "Acme"],
            ],
        ),
        on_duplicate="update",
    )
    assert counts(record) == (0, 1, 0, 0)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.COMPLETED
    assert lead.contacts.get(position=0).variables == {"customer_name": "New", "city": "Austin", "company": "Acme"}
    assert numbers(lead) == ["+14155550101", "+12125550102"]  # no secondary columns: kept


def test_update_policy_replaces_secondary_numbers_when_the_file_has_them(tmp_path, campaign):
    lead = make_lead(
        campaign=campaign,
        primary="+14155550101",
        secondaries=["+12125550102", "+13055550103"],
        variables={"customer_name": "Old"},
    )
    Contact.objects.filter(lead=lead, phone="+13055550103").update(attempts=2, status=ContactStatus.RESCHEDULED)
    run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["phone_number", "secondary_phone_1", "secondary_phone_2"],
                ["+14155550101", "+13055550103", "+16175550104"],
            ],
        ),
        on_duplicate="update",
    )
    assert numbers(lead) == ["+14155550101", "+13055550103", "+16175550104"]
    assert lead.contacts.get(phone="+13055550103").attempts == 2  # a kept number keeps its state
    lead.refresh_from_db()
    assert lead.attempts == 2


def test_updating_a_lead_in_a_call_is_refused_for_now(tmp_path, campaign):
    lead = make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Old"})
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.PROCESSING)
    record = run_import(
        campaign,
        write_csv(tmp_path / "a.csv", [["phone", "customer_name"], ["+14155550101", "New"]]),
        on_duplicate="update",
    )
    assert counts(record) == (0, 0, 0, 1)
    assert "in progress" in report_rows(record)[0]["errors"]


def test_national_numbers_are_read_in_the_chosen_country(tmp_path, campaign):
    record = run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["mobile", "customer_name"],
                ["07911 123456", "Ann"],
                ["+33 6 12 34 56 78", "Zoé"],
            ],
        ),
        number_format="national",
        country="gb",
    )
    assert counts(record) == (2, 0, 0, 0)
    assert set(Contact.objects.values_list("phone", flat=True)) == {"+447911123456", "+33612345678"}


def test_national_format_needs_a_country(tmp_path, campaign):
    with pytest.raises(ImportProblem, match="need the country"):
        run_import(campaign, write_csv(tmp_path / "a.csv", [["phone"], ["07911 123456"]]), number_format="national")


def test_xlsx_with_numeric_phone_cells_and_ten_secondary_numbers(tmp_path, campaign):
    header = ["telephone", "customer_name"] + [f"secondary_phone_{n}" for n in range(1, 11)]
    row = [14155550100, "Ana"] + [14155550100 + n for n in range(1, 11)]
    record = run_import(campaign, write_xlsx(tmp_path / "a.xlsx", [header, row]))
    assert counts(record) == (1, 0, 0, 0)
    assert numbers(Lead.objects.get()) == [f"+1415555{100 + n:04d}" for n in range(0, 11)]


def test_xls_imports(tmp_path, campaign):
    record = run_import(
        campaign, write_xls(tmp_path / "a.xls", [["Phone Number", "Customer Name"], [14155550101.0, "Ana"]])
    )
    assert counts(record) == (1, 0, 0, 0)


def test_empty_secondary_columns_leave_no_gap(tmp_path, campaign):
    run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["phone", "customer_name", "secondary_phone_1", "secondary_phone_2", "secondary_2_contact_name"],
                ["+14155550101", "Ana", "", "+12125550102", "Luis"],
            ],
        ),
    )
    lead = Lead.objects.get()
    assert list(lead.contacts.order_by("position").values_list("position", "phone", "variables")) == [
        (0, "+14155550101", {"customer_name": "Ana"}),
        (1, "+12125550102", {"contact_name": "Luis"}),
    ]


def test_secondary_numbers_on_the_do_not_call_list_start_blocked(tmp_path, campaign):
    lead_services.do_not_call_add(phones=["+12125550102"], actor=ACTOR)
    run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["phone", "customer_name", "secondary_phone_1"],
                ["+14155550101", "Ana", "+12125550102"],
            ],
        ),
    )
    lead = Lead.objects.get()
    assert lead.status == LeadStatus.CREATED
    assert lead.contacts.get(position=1).status == ContactStatus.BLACKLISTED


def test_formula_cells_are_neutralised_in_the_report_and_restored_on_import(tmp_path, campaign):
    record = run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["phone", "customer_name", "note"],
                ["bad", "=HYPERLINK(1)", "@sum"],
                ["+14155550102", "'=1+1", "'-x"],
            ],
        ),
    )
    row = report_rows(record)[0]
    assert (row["customer_name"], row["note"]) == ("'=HYPERLINK(1)", "'@sum")
    assert Lead.objects.get().contacts.get().variables == {"customer_name": "=1+1", "note": "-x"}


def test_the_report_neutralises_by_column_as_an_export_does(tmp_path, campaign):
    """Only the number columns keep a leading +; the errors, which quote headers, are
    neutralised too."""
    record = run_import(
        campaign,
        write_csv(
            tmp_path / "a.csv",
            [
                ["=phone", "customer_name", "secondary_phone_1", "note"],
                ["+1 555 0101", "+10", "+1 (212) 555", "+1 555 0101"],
            ],
        ),
        mapping=["phone", "var:customer_name", "secondary:1", "var:note"],
    )
    row = report_rows(record)[0]
    assert (row["'=phone"], row["customer_name"], row["secondary_phone_1"], row["note"]) == (
        "+1 555 0101",
        "'+10",
        "+1 (212) 555",
        "'+1 555 0101",
    )
    assert row["errors"].startswith("'=phone: ")


def test_a_dry_run_counts_like_the_import_and_writes_nothing(tmp_path, campaign):
    path = write_csv(tmp_path / "a.csv", [["phone", "customer_name"], ["+14155550101", "Ana"], ["x", "Bad"]])
    dry = run_import(campaign, path, dry_run=True)
    assert counts(dry) == (1, 0, 0, 1)
    assert not Lead.objects.exists()
    with pytest.raises(ImportProblem, match="dry run"):
        services.import_run(record=dry, actor=ACTOR)
    assert counts(run_import(campaign, path)) == counts(dry)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["name", "email"], ["Ana", "a@example.com"]], "No column holds the primary phone number"),
    ],
)
def test_whole_file_problems(tmp_path, campaign, rows, message):
    record = run_import(campaign, write_csv(tmp_path / "a.csv", rows), validate_only=True)
    assert record.status == ImportRecord.Status.FAILED
    assert message in record.message


@pytest.mark.parametrize("rows", [[["phone_number", "customer_name"]], [["phone_number"], [], [" ", ""]]])
@pytest.mark.parametrize("write", [write_csv, write_xlsx, write_xls])
def test_a_header_only_file_is_refused_at_upload(tmp_path, campaign, rows, write):
    path = write(tmp_path / f"a.{write.__name__.split('_')[1]}", rows)
    with pytest.raises(ImportProblem, match="header but no rows"):
        run_import(campaign, path)
    assert not ImportRecord.objects.exists()


def test_a_file_that_lost_its_rows_after_its_upload_fails_its_validation(tmp_path, campaign):
    path = write_csv(tmp_path / "a.csv", [["phone_number"], ["+14155550101"]])
    with path.open("rb") as handle:
        record = services.import_create(campaign=campaign, file=File(handle), file_name=path.name)
    with open(record.file.path, "w") as stored:
        stored.write("phone_number\n")
    services.import_validate(record=record)
    assert (record.status, record.message) == (ImportRecord.Status.FAILED, "The file has a header but no rows.")


def test_import_leads_command_fails_on_a_header_only_file(tmp_path, campaign, capsys):
    path = write_csv(tmp_path / "a.csv", [["phone_number", "customer_name"]])
    with pytest.raises(CommandError, match="The file has a header but no rows"):
        call_command("import_leads", str(path), "--campaign", campaign.name)
    assert capsys.readouterr().out == ""


def test_row_and_size_limits(tmp_path, campaign, settings):
    path = write_csv(tmp_path / "a.csv", [["phone", "customer_name"]] + [[f"+1415555{n:04d}", "x"] for n in range(20)])
    settings.LEADS_IMPORT_MAX_ROWS = 10
    record = run_import(campaign, path, validate_only=True)
    assert record.status == ImportRecord.Status.FAILED and "more than 10 rows" in record.message
    assert not Lead.objects.exists()
    settings.LEADS_IMPORT_MAX_BYTES = 100
    with pytest.raises(ImportProblem, match="larger than the limit"):
        run_import(campaign, path)
    assert not ImportRecord.objects.filter(file_name="a.csv", status=ImportRecord.Status.VALIDATING).exists()


def test_an_import_that_stopped_half_way_carries_on_without_duplicates(tmp_path, campaign, settings):
    settings.LEADS_IMPORT_BATCH_ROWS = 3
    path = write_csv(tmp_path / "a.csv", [["phone", "customer_name"]] + [[f"+1415555{n:04d}", "x"] for n in range(8)])
    record = run_import(campaign, path, validate_only=True)

    def die_after_first_batch(current):
        raise SystemExit("worker killed")

    with pytest.raises(SystemExit):
        services.import_run(record=record, actor=ACTOR, progress=die_after_first_batch)
    record.refresh_from_db()
    assert (record.status, record.batches.count(), Lead.objects.count()) == (ImportRecord.Status.IMPORTING, 1, 3)

    services.import_run(record=record, actor=ACTOR)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.DONE
    assert Lead.objects.count() == 8 and record.rows_written == 8


def test_undo_removes_the_leads_not_dialled_yet_and_says_what_it_kept(tmp_path, campaign):
    record = run_import(
        campaign,
        write_csv(tmp_path / "a.csv", [["phone", "customer_name"]] + [[f"+1415555{n:04d}", "x"] for n in range(4)]),
    )
    other = make_lead(campaign=campaign, variables={"customer_name": "Not imported"})
    dialled = Lead.objects.filter(import_record=record).first()
    Lead.objects.filter(pk=dialled.pk).update(attempts=1, status=LeadStatus.RESCHEDULED)

    result = services.import_undo(record=record)

    record.refresh_from_db()
    assert result.removed == 3
    assert result.kept == {"already dialled or in a call": 1}
    assert set(Lead.objects.values_list("pk", flat=True)) == {dialled.pk, other.pk}
    assert record.status == ImportRecord.Status.UNDONE and "1 already dialled" in record.message
    with pytest.raises(ImportProblem, match="nothing to undo"):
        services.import_undo(record=record)


def test_suggested_mapping_follows_the_header_rules():
    header = [
        "Phone Number",
        "Customer-Name",
        "customer name",
        "alt_phone",
        "secondary_2_contact_name",
        "Status",
        "row",
        "errors",
        "TimeZone",
        "2nd try!",
    ]
    assert suggest_mapping(header, ["customer_name"]) == [
        "phone",
        "var:customer_name",
        "",
        "secondary:1",
        "secondary:2:contact_name",
        "",
        "",
        "",
        "timezone",
        "var:_2nd_try",
    ]


# --- the command ------------------------------------------------------------------


def test_import_leads_command_prints_json_and_writes_the_error_report(tmp_path, campaign, capsys):
    path = write_csv(tmp_path / "a.csv", [["Tel", "Name"], ["+14155550101", "Ana"], ["bad", "Bob"]])
    errors = tmp_path / "errors.csv"
    call_command(
        "import_leads",
        str(path),
        "--campaign",
        campaign.name,
        "--map",
        "Tel=phone_number",
        "--map",
        "Name=customer_name",
        "--errors",
        str(errors),
        "--json",
    )
    summary = json.loads(capsys.readouterr().out)
    assert {k: summary[k] for k in ("new", "updated", "skipped", "rejected")} == {
        "new": 1,
        "updated": 0,
        "skipped": 0,
        "rejected": 1,
    }
    assert "seconds" in summary
    assert "bad" in errors.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--campaign", "1"], "no such file"),
        (["{file}", "--campaign", "Nope"], "No campaign"),
        (["{file}", "--campaign", "{campaign}", "--map", "Nope=phone"], "no column “Nope”"),
        (["{file}", "--campaign", "{campaign}", "--map", "broken"], 'write "File column=target"'),
        (["{file}", "--campaign", "{campaign}", "--map", "phone=what ever!"], "not a place a column can go"),
        (["{file}", "--campaign", "{campaign}", "--map", "phone=ignore"], "No column holds the primary phone number"),
    ],
)
def test_import_leads_command_fails_clearly_on_whole_file_problems(tmp_path, campaign, args, message):
    path = write_csv(tmp_path / "a.csv", [["phone", "customer_name"], ["+14155550101", "Ana"]])
    args = [a.format(file=path, campaign=campaign.pk) for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("import_leads", *args)
    assert not Lead.objects.exists()


def test_large_files_are_validated_in_parallel_with_the_same_results(tmp_path, campaign, settings):
    rows = (
        [["phone", "customer_name"]]
        + [[f"+1415555{n:04d}", f"n{n}"] for n in range(30)]
        + [["bad", "x"], ["+14155550003", "dup"]]
    )
    path = write_csv(tmp_path / "a.csv", rows)
    settings.LEADS_IMPORT_BATCH_ROWS = 7
    serial = run_import(campaign, path, dry_run=True)
    settings.LEADS_IMPORT_PARALLEL_ABOVE = 0  # every file: spawned workers
    parallel = run_import(campaign, path, dry_run=True)
    assert counts(parallel) == counts(serial) == (30, 0, 0, 2)
    assert report_rows(parallel) == report_rows(serial)
    assert report_rows(parallel)[1]["errors"] == "phone: duplicate of row 5"


def test_a_nul_character_past_the_sniffed_start_rejects_its_row_only(tmp_path, campaign):
    # The first 64 KB are checked for binary data; a NUL later on is one row's problem.
    rows = [["phone_number", "customer_name", "notes"]]
    rows += [[phone(), f"Name {i}", "x" * 200] for i in range(400)]  # about 90 KB
    rows.append([phone(), "Nul", "a\x00b"])
    record = run_import(campaign, write_csv(tmp_path / "late-nul.csv", rows))
    assert counts(record) == (400, 0, 0, 1)
    (row,) = report_rows(record)
    assert row["row"] == "402" and row["errors"] == "notes: holds a NUL character, which is not text"


# Runs: every start of an import's work takes it over; a run that lost it writes nothing


def stalled(record):
    import datetime

    from django.utils import timezone

    ImportRecord.objects.filter(pk=record.pk).update(progress_at=timezone.now() - datetime.timedelta(minutes=10))
    return ImportRecord.objects.get(pk=record.pk)


def eight_rows(tmp_path, campaign, settings):
    settings.LEADS_IMPORT_BATCH_ROWS = 3
    path = write_csv(tmp_path / "a.csv", [["phone", "customer_name"]] + [[f"+1415555{n:04d}", "x"] for n in range(8)])
    return run_import(campaign, path, validate_only=True)


def test_a_run_undone_while_its_worker_was_slow_writes_nothing_more(tmp_path, campaign, settings):
    record = eight_rows(tmp_path, campaign, settings)
    undone = []

    def undo_after_the_first_batch(current):
        if not undone:  # the page offers Undo after minutes without progress
            undone.append(services.import_undo(record=stalled(record)))

    finished = services.import_run(record=record, actor=ACTOR, progress=undo_after_the_first_batch)
    assert undone[0].removed == 3
    assert (
        finished.status == ImportRecord.Status.UNDONE
        and ImportRecord.objects.get().status == ImportRecord.Status.UNDONE
    )
    assert not Lead.objects.exists() and record.batches.count() == 1


def test_a_run_taken_over_by_a_new_run_stops_and_the_new_one_finishes(tmp_path, campaign, settings):
    record = eight_rows(tmp_path, campaign, settings)
    taken_over = []

    def run_again_after_the_first_batch(current):
        if not taken_over:  # "Run the import again" while the first worker is slow
            taken_over.append(services.import_run(record=stalled(record), actor=ACTOR))

    services.import_run(record=record, actor=ACTOR, progress=run_again_after_the_first_batch)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.DONE and record.rows_written == 8
    assert Lead.objects.count() == 8 and record.batches.count() == 3  # every batch once


def test_a_stale_task_does_nothing_and_a_stale_failure_is_not_saved(tmp_path, campaign, settings):
    from leads import tasks

    record = eight_rows(tmp_path, campaign, settings)
    services.import_queue(record=record)
    services.import_cancel(record=stalled(record))  # it wrote nothing: dropped
    tasks.run_import.enqueue(record.pk, record.run - 1)  # the queued task, run at last (inline in tests)
    services.import_stopped(record=record, run=record.run - 1, error=RuntimeError("late"))
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.CANCELLED and not Lead.objects.exists()
    assert "late" not in record.message


@pytest.mark.parametrize("parallel", [False, True])
def test_a_validation_cancelled_on_its_way_saves_nothing(tmp_path, campaign, settings, parallel):
    settings.LEADS_IMPORT_BATCH_ROWS = 3
    settings.LEADS_IMPORT_PARALLEL_ABOVE = 1 if parallel else 1000  # the pool stops with it
    path = write_csv(tmp_path / "a.csv", [["phone", "customer_name"]] + [[f"+1415555{n:04d}", "x"] for n in range(8)])
    with path.open("rb") as handle:
        record = services.import_create(campaign=campaign, file=File(handle), file_name=path.name)
    seen = []

    def cancel_after_the_first_batch(current):
        seen.append(current.rows_validated)
        if len(seen) == 1:
            services.import_cancel(record=ImportRecord.objects.get(pk=record.pk))

    services.import_validate(record=record, progress=cancel_after_the_first_batch)
    assert seen == [3]  # it stopped at its next batch
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.CANCELLED
    assert (record.rows_new, record.rows_validated, record.valid_rows.name, record.error_report.name) == (0, 3, "", "")


@pytest.mark.parametrize(
    ("status", "stalled_for", "written", "exits"),
    [
        # Every status has an exit a person can take (or is final).
        ("mapping", None, False, {"map", "cancel"}),
        ("validating", None, False, {"cancel"}),  # and it moves on by itself
        ("validating", 10, False, {"map", "validate_again", "cancel"}),
        ("ready", None, False, {"run", "cancel"}),
        ("ready dry run", None, False, set()),  # final: the dry run is its report
        ("importing", None, True, set()),  # it moves on by itself; stalled after two minutes
        ("importing", 10, False, {"run", "cancel"}),
        ("importing", 10, True, {"run", "undo"}),
        ("failed", None, True, {"run", "undo"}),
        ("failed", None, False, {"run", "cancel"}),
        ("done", None, True, {"undo"}),
        ("undoing", 10, True, {"undo"}),
        ("undone", None, True, set()),  # final
        ("cancelled", None, False, set()),  # final
    ],
)
def test_what_a_person_may_do_with_an_import_in_each_state(
    tmp_path, campaign, settings, status, stalled_for, written, exits
):
    import datetime

    from django.utils import timezone

    from leads.models import ImportBatch

    record = eight_rows(tmp_path, campaign, settings)
    progress_at = timezone.now() - datetime.timedelta(minutes=stalled_for or 0)
    status, dry_run = status.split()[0], status.endswith("dry run")
    ImportRecord.objects.filter(pk=record.pk).update(status=status, progress_at=progress_at, dry_run=dry_run)
    if written:
        ImportBatch.objects.create(record=record, number=1)
    record.refresh_from_db()
    allowed = {
        name
        for name, may in [
            ("map", record.can_map),
            ("validate_again", record.can_validate_again),
            ("run", record.can_run),
            ("undo", record.can_undo),
            ("cancel", record.can_cancel),
        ]
        if may
    }
    assert allowed == exits
    assert {s for s, _ in ImportRecord.Status.choices} == {
        "mapping",
        "validating",
        "ready",
        "importing",
        "done",
        "failed",
        "undoing",
        "undone",
        "cancelled",
    }


def test_a_mapping_of_a_wide_file_with_long_headers_is_saved_and_offered_again(tmp_path, campaign):
    # 300 headers of ~40 characters that do not compress: their key is far past what
    # a B-tree index entry holds on PostgreSQL (~2,700 bytes).
    header = ["phone_number", "customer_name"] + [
        f"attribute {hashlib.sha256(str(n).encode()).hexdigest()[:30]}" for n in range(298)
    ]
    path = write_csv(tmp_path / "wide.csv", [header, ["+14155550101", "Ana"] + ["x"] * 298])
    with path.open("rb") as handle:
        first = services.import_create(campaign=campaign, file=File(handle), file_name=path.name)
    targets = ["phone", "var:customer_name"] + [""] * 298
    services.mapping_save(record=first, targets=targets, remember=True)
    with path.open("rb") as handle:
        second = services.import_create(campaign=campaign, file=File(handle), file_name=path.name)
    assert second.mapping == targets
    services.mapping_save(record=second, targets=targets, remember=True)  # saved again: the same entry
    assert SavedMapping.objects.get(campaign=campaign).headers.count("\n") == 299


@pytest.mark.parametrize(
    "write",
    [
        # Past the first 64 KB, which are checked for binary data.
        lambda path: write_csv(
            path.with_suffix(".csv"),
            [
                ["phone_number"] + [f"column {n} " + "x" * 500 for n in range(140)] + ["bad\x00name"],
                ["+14155550101"],
            ],
        ),
        lambda path: write_xls(path.with_suffix(".xls"), [["phone_number", "bad\x00name"], ["+14155550101", "Ana"]]),
    ],
    ids=["csv", "xls"],
)
def test_an_upload_whose_header_holds_a_nul_is_refused_with_a_reason(tmp_path, campaign, write):
    with pytest.raises(ImportProblem, match="holds a NUL character"):
        run_import(campaign, write(tmp_path / "a"))
    assert not ImportRecord.objects.exists()


def test_a_file_starting_with_70_000_blank_lines_imports(tmp_path, campaign):
    path = tmp_path / "a.csv"
    path.write_text("\n" * 70_000 + "phone_number;customer_name\n+14155550101;Ana\n")
    record = run_import(campaign, path)
    assert record.status == ImportRecord.Status.DONE and record.rows_new == 1
    assert Lead.objects.get().contacts.get().variables == {"customer_name": "Ana"}
