"""Lead files under generated input (hypothesis): CSV, XLSX and XLS built from hostile
cells (NUL, formulas, HTML, huge fields, any unicode, many columns), CSV bytes in odd
encodings, with a BOM, any delimiter and line ending, blank lines first, cut short,
header-only, or random bytes under a lead file's name.

Whatever the file, through the reader, the import services and the wizard's pages:
the reader reads it or refuses it with a FileProblem; an import is refused whole, or
ends done, failed with its reason, or waiting for a person (its columns, its confirm);
it is never left validating or importing, never half-written; no page answers 500.

Database examples run in leadsite.testing.rolled_back: each starts from the fixture's
campaign with no leads."""

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from campaigns.tests.factories import make_assistant, make_campaign
from leads.imports import services
from leads.imports.files import FileProblem, estimate_rows, open_lead_file
from leads.imports.services import ImportProblem
from leads.models import ImportRecord, Lead
from leads.transitions import Actor
from leadsite.testing import rolled_back

ACTOR = Actor(source="import")
CSV_FIELD_LIMIT = 131_072  # Python's csv module refuses a longer field

# --- what files are made of ----------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file as a person uploads it. Shown by how it was made, its size and its ends:
    a falsifying example of 140 KB stays readable (the line hypothesis prints with
    @reproduce_failure gives back the exact bytes)."""

    name: str
    content: bytes
    made: str = ""

    def __repr__(self) -> str:
        ends = repr(self.content) if len(self.content) <= 160 else f"{self.content[:80]!r}…{self.content[-60:]!r}"
        return f"Upload({self.name!r}, {len(self.content):,} bytes, {self.made or 'as written'}: {ends})"

    def _repr_pretty_(self, printer, cycle) -> None:  # how hypothesis prints an example
        printer.text(repr(self))


def describe(table: list[list[str]]) -> str:
    width = max(len(row) for row in table)
    longest = max((len(cell) for row in table for cell in row), default=0)
    return f"{len(table) - 1} rows, {width} columns, longest cell {longest:,}"


HEADERS = [
    "phone_number",
    "Phone",
    "mobile",
    "customer_name",
    "Customer Name",
    "appointment_type",
    "notes",
    "secondary_phone_1",
    "secondary_1_contact_name",
    "alt_phone",
    "timezone",
    "status",
    "row",
    "errors",
    "",
]
HOSTILE = [
    "=cmd|' /C calc'!A0",
    "=1+1",
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "<script>alert(1)</script>",
    "<b>bold</b>",
    "\x00",
    "a\x00b",
    '"',
    '""',
    "x,y",
    "a;b|c\td",
    "\r",
    "\n",
    "line\nbreak",
    "Zoë",
    "İ",
    "🙂",
    "\ufeff",
    "\u202e",
    "NaN",
    "1e309",
    "0",
    "-0",
    " ",
    "Europe/Nowhere",
    "America/Chicago",
]
PHONES = st.integers(min_value=0, max_value=9999).map(lambda n: f"+1415556{n:04d}")
BAD_PHONES = st.sampled_from(
    ["", "12", "call me", "+10005550100", "+1 (415) 556-0001", "0044 20 7946 0000", "14155560002", "+", "++14155560003"]
)
HUGE = st.sampled_from([1001, 40_000, CSV_FIELD_LIMIT + 1]).map(lambda size: "x" * size)

cells = st.one_of(PHONES, PHONES, BAD_PHONES, st.sampled_from(HOSTILE), st.text(max_size=20), HUGE)
header_cells = st.sampled_from(HEADERS) | st.sampled_from(HOSTILE) | st.text(max_size=12)


@st.composite
def tables(draw) -> list[list[str]]:
    """A header and rows; now and then a header-only file, or one hundreds of columns wide."""
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        width = draw(st.sampled_from([120, 230]))
        header = [f"column_number_{i}" for i in range(width)]
        header[draw(st.integers(min_value=0, max_value=width - 1))] = "phone_number"
        rows = draw(st.lists(st.lists(cells, max_size=width), max_size=3))
        return [header, *rows]
    header = draw(st.lists(header_cells, min_size=1, max_size=8))
    rows = draw(st.lists(st.lists(cells, max_size=len(header) + 2), max_size=8))
    return [header, *rows]


def quoted(cell: str, delimiter: str) -> str:
    if any(c in cell for c in (delimiter, '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def csv_files(draw) -> Upload:
    table = draw(tables())
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    text = newline.join(delimiter.join(quoted(cell, delimiter) for cell in row) for row in table)
    blank_lines = draw(st.sampled_from([0, 0, 0, 1, 3, 70_000]))
    text = newline * blank_lines + text + draw(st.sampled_from(["", newline, newline * 3]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    cut = draw(st.none() | st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
    made = f"CSV {encoding} {delimiter!r} {newline!r}, {blank_lines:,} blank lines first, {describe(table)}" + (
        "" if cut is None else f", cut at byte {cut:,}"
    )
    return Upload("leads.csv", data if cut is None else data[:cut], made)


def _xlsx_text(cell: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", cell)[:32_767]  # what a workbook can hold


@st.composite
def xlsx_files(draw) -> Upload:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    table = draw(tables())
    for row in table:
        sheet.append(
            [
                int(cell[1:]) if re.fullmatch(r"\+\d{11}", cell) and draw(st.booleans()) else _xlsx_text(cell)
                for cell in row
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Upload("leads.xlsx", buffer.getvalue(), f"XLSX, {describe(table)}")


@st.composite
def xls_files(draw) -> Upload:
    import xlwt

    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("Leads")
    table = [row[:256] for row in draw(tables())]  # an XLS sheet's width
    for r, row in enumerate(table):
        for c, cell in enumerate(row):
            sheet.write(r, c, cell[:32_767])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Upload("leads.xls", buffer.getvalue(), f"XLS, {describe(table)}")


files = st.one_of(
    csv_files(),
    csv_files(),
    xlsx_files(),
    xls_files(),
    st.builds(
        Upload,
        st.sampled_from(["leads.csv", "leads.xlsx", "leads.xls"]),
        st.binary(max_size=600),
        st.just("random bytes"),
    ),
)

# What the probing found, kept as explicit examples (run first, every time).
NUL_DEEP_IN_THE_HEADER = Upload(
    "leads.csv",
    b"phone_number," + b"x" * 70_000 + b"\x00,name\n+14155560001,a\n",
    "a NUL in the header after its first 64 KB",
)
BAD_CELL_ON_LINE_7 = Upload(
    "leads.csv",
    b"phone_number,name\n" + b"+14155560001,a\n" * 5 + b"+14155560002," + b"x" * (CSV_FIELD_LIMIT + 1) + b"\n",
    "a cell over the CSV field limit on line 7",
)
BLANK_LINES_FIRST = Upload(
    "leads.csv",
    b"\n" * 70_000 + b"phone_number,customer_name\n+14155560001,Ana\n",
    "70,000 blank lines, then a header and a row",
)
HEADER_ONLY = Upload("leads.csv", b"phone_number,customer_name\n", "a header and no rows")
WHITESPACE = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"  # and the bytes of a BOM (UTF-8, UTF-16)


# --- the reader ---------------------------------------------------------------------


@given(file=files)
@example(file=NUL_DEEP_IN_THE_HEADER)
@example(file=BAD_CELL_ON_LINE_7)
@example(file=BLANK_LINES_FIRST)
def test_the_reader_reads_any_file_or_refuses_it_with_a_reason(tmp_path, file):
    name, content = file.name, file.content
    path = tmp_path / name
    path.write_bytes(content)
    assert estimate_rows(path, name) >= 0
    try:
        lead_file = open_lead_file(path, name)
        rows = list(lead_file.rows)
    except FileProblem as problem:
        assert str(problem)
        if "empty" in str(problem):
            has_text = bool(content.strip(WHITESPACE))
            assert not has_text, "a file with text in it is called empty"
        return
    assert all(isinstance(cell, str) for cell in lead_file.header)
    assert all(isinstance(cell, str) for _, row in rows for cell in row)
    assert [number for number, _ in rows] == sorted({number for number, _ in rows})


# --- the import, through its services --------------------------------------------------


@pytest.fixture
def campaign(db):
    return make_campaign(
        assistant=make_assistant(
            variables=[
                {"name": "customer_name", "required": True},
                {"name": "appointment_type", "default_value": "=check-up", "required": True},
            ]
        )
    )


WORKING = {ImportRecord.Status.VALIDATING, ImportRecord.Status.IMPORTING}


def imported(record: ImportRecord) -> int:
    return Lead.objects.filter(import_record=record).count()


@given(
    file=files,
    options=st.fixed_dictionaries(
        {},
        optional={
            "number_format": st.just(ImportRecord.NumberFormat.NATIONAL),
            "country": st.sampled_from(["US", "GB"]),
            "dry_run": st.booleans(),
        },
    ),
)
@example(file=BAD_CELL_ON_LINE_7, options={})
@example(file=HEADER_ONLY, options={})
def test_an_import_is_refused_whole_or_ends_done_or_failed_with_its_reason(campaign, settings, file, options):
    # Small batches, so a file of a few rows is written in several, as a large one is.
    settings.LEADS_IMPORT_BATCH_ROWS = 3
    name, content = file.name, file.content
    with rolled_back():
        try:
            record = services.import_create(campaign=campaign, file=ContentFile(content), file_name=name, **options)
        except ImportProblem as problem:
            assert str(problem) and not ImportRecord.objects.exists()
            return
        try:
            services.import_validate(record=record)
        finally:
            record.refresh_from_db()
            assert record.status not in WORKING, f"validation left the import {record.status}"
        assert not Lead.objects.exists(), "validation wrote leads"
        if record.status == ImportRecord.Status.FAILED:
            assert record.message
            return
        assert record.status == ImportRecord.Status.READY
        assert record.rows_new + record.rows_updated + record.rows_skipped + record.rows_rejected == record.rows_total
        if record.dry_run:
            return
        try:
            services.import_run(record=record, actor=ACTOR)
        finally:
            record.refresh_from_db()
            assert record.status not in WORKING, f"the run left the import {record.status}"
            # Whole batches only: what the record counts is what is in the table.
            assert imported(record) == record.rows_written
        assert record.status == ImportRecord.Status.DONE
        assert imported(record) == record.rows_new


# --- the import, through the wizard's pages -------------------------------------------------


def page(response, url: str):
    assert response.status_code < 500, url
    return response


@given(file=files, remember=st.booleans())
@example(file=NUL_DEEP_IN_THE_HEADER, remember=True)
@example(file=BAD_CELL_ON_LINE_7, remember=True)
@example(file=BLANK_LINES_FIRST, remember=True)
@example(file=HEADER_ONLY, remember=True)
def test_the_wizard_never_answers_500_and_never_leaves_an_import_working(admin_client_logged, campaign, file, remember):
    name, content = file.name, file.content
    client = admin_client_logged
    upload = reverse("admin:leads_lead_import")
    with rolled_back():
        response = page(
            client.post(
                upload,
                {
                    "campaign": campaign.pk,
                    "number_format": "international",
                    "on_duplicate": "skip",
                    "resource": "0",
                    "import_file": SimpleUploadedFile(Path(name).name, content),
                },
            ),
            upload,
        )
        record = ImportRecord.objects.first()
        if record is None:
            assert response.status_code == 200 and response.context["form"].errors, "refused without a reason"
            return
        mapping = reverse("admin:leads_importrecord_mapping", args=[record.pk])
        detail = reverse("admin:leads_importrecord_detail", args=[record.pk])
        page(client.get(mapping), mapping)
        choices = {f"column_{i}": target for i, target in enumerate(record.mapping)}
        page(client.post(mapping, {**choices, **({"remember": "on"} if remember else {})}), mapping)
        page(client.get(detail), detail)
        record.refresh_from_db()
        if record.status == ImportRecord.Status.READY:
            confirm = reverse("admin:leads_importrecord_confirm", args=[record.pk])
            page(client.post(confirm), confirm)
            page(client.get(detail), detail)
            record.refresh_from_db()
        waiting_for_columns = record.status == ImportRecord.Status.VALIDATING and record.progress_at is None
        assert waiting_for_columns or record.status not in WORKING, f"the import is left {record.status}"
        if record.status == ImportRecord.Status.FAILED:
            assert record.message
        assert imported(record) == (record.rows_new if record.status == ImportRecord.Status.DONE else 0)
