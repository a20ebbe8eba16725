"""Writing leads to CSV or XLSX, in the layout the import reads, so an export imports
back unchanged (into the same or another campaign).

Rows are produced in bounded memory whatever the selection: leads in chunks of their
queryset's own order, each chunk's numbers in one more query.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.postgres.aggregates import JSONBAgg
from django.db import connection
from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

from campaigns.models import Variable

from .imports.validation import FORMULA_STARTS
from .models import MAX_SECONDARY_NUMBERS, Contact, Lead

CHUNK = 2000
# Excel's last row, less the header.
XLSX_MAX_ROWS = 1_048_575
STATE_COLUMNS = ["status", "attempts", "last_outcome", "last_attempt_at", "next_attempt_at", "campaign", "created_at"]


class ExportTooLarge(ValueError):
    """The selection does not fit the format (XLSX holds 1,048,575 rows)."""


@dataclass
class Columns:
    """Which columns an export has, in the spec's order."""

    variables: list[str] = field(default_factory=list)
    secondaries: int = 0
    secondary_variables: list[str] = field(default_factory=list)
    timezone: bool = True
    state: list[str] = field(default_factory=lambda: list(STATE_COLUMNS))

    def header(self) -> list[str]:
        names = ["phone_number", *self.variables]
        for n in range(1, self.secondaries + 1):
            names.append(f"secondary_phone_{n}")
            names.extend(f"secondary_{n}_{name}" for name in self.secondary_variables)
        if self.timezone:
            names.append("timezone")
        return names + self.state


def default_columns(leads: QuerySet[Lead]) -> Columns:
    """Every variable the campaigns' assistants declare plus the names used by the
    first leads of the selection, and as many secondary numbers as any lead has."""
    campaign_ids = leads.order_by().values("campaign_id").distinct()
    declared = list(
        Variable.objects.filter(assistant__campaigns__in=campaign_ids).order_by("position", "name").values_list("name", flat=True).distinct()
    )
    sample_ids = list(leads.prefetch_related(None).values_list("pk", flat=True)[:CHUNK])
    extra: set[str] = set()
    secondary_names: set[str] = set()
    for position, values in Contact.objects.filter(lead_id__in=sample_ids).values_list("position", "variables"):
        (extra if position == 0 else secondary_names).update(values)
    deepest = Contact.objects.filter(lead__in=leads.order_by().values("pk")).aggregate(deepest=Max("position"))["deepest"]
    # Declared variables in the assistant's order, then the others by name: the same
    # layout on every database (PostgreSQL keeps JSON keys in an order of its own).
    return Columns(variables=declared + sorted(extra - set(declared)),
                   secondaries=min(deepest or 0, MAX_SECONDARY_NUMBERS), secondary_variables=sorted(secondary_names))


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading '; numbers keep +."""
    if value and value[0] in _FORMULA_FIRST and not _is_phone(value):
        return "'" + value
    return value


def _is_phone(value: str) -> bool:
    return value.startswith("+") and value[1:].isdigit()


def _texter(zone):
    """A function writing a cell's value as text, dates in ``zone`` (looked up once:
    Django's current time zone is a thread-local, slow to read a million times)."""

    def text(value) -> str:
        if value.__class__ is str:
            return value
        if value is None:
            return ""
        if hasattr(value, "astimezone"):
            return value.astimezone(zone).isoformat(timespec="seconds")
        return str(value)

    return text


LEAD_FIELDS = ["pk", "timezone", "status", "attempts", "last_outcome", "last_attempt_at", "next_attempt_at",
               "campaign__name", "created_at"]


def _with_numbers(leads: QuerySet[Lead]) -> Iterator[tuple]:
    """(lead fields…, [(phone, variables), …] by position) for each lead, in order.

    PostgreSQL aggregates each lead's numbers into the same row, so a million leads
    are one streamed query; elsewhere, one more query per chunk of leads.
    """
    leads = leads.prefetch_related(None)  # the admin list prefetches for display only
    if connection.vendor == "postgresql":
        numbers = (
            Contact.objects.filter(lead=OuterRef("pk")).order_by().values("lead")
            .annotate(all=JSONBAgg(JSONObject(p="phone", v="variables"), order_by="position")).values("all")
        )
        for *fields, agg in leads.annotate(numbers=Subquery(numbers)).values_list(*LEAD_FIELDS, "numbers").iterator(chunk_size=CHUNK):
            yield (*fields, [(n["p"], n["v"]) for n in agg or []])
        return
    rows = leads.values_list(*LEAD_FIELDS).iterator(chunk_size=CHUNK)
    while chunk := [row for _, row in zip(range(CHUNK), rows)]:
        by_lead: dict[int, list[tuple[str, dict]]] = {}
        for lead_id, phone, values in (
            Contact.objects.filter(lead_id__in=[row[0] for row in chunk]).order_by("lead_id", "position")
            .values_list("lead_id", "phone", "variables")
        ):
            by_lead.setdefault(lead_id, []).append((phone, values))
        for row in chunk:
            yield (*row, by_lead.get(row[0], []))


def export_rows(leads: QuerySet[Lead], columns: Columns) -> Iterator[list[str]]:
    """The header, then one row per lead, in the queryset's order."""
    yield columns.header()
    _text = _texter(timezone.get_current_timezone())
    secondaries = range(1, columns.secondaries + 1)
    for pk, tz, status, attempts, outcome, last_at, next_at, campaign, created, contacts in _with_numbers(leads):
        phone, values = contacts[0] if contacts else ("", {})
        row = [phone, *(_text(values.get(name)) for name in columns.variables)]
        for n in secondaries:
            sphone, svalues = contacts[n] if n < len(contacts) else ("", {})
            row.append(sphone)
            row.extend(_text(svalues.get(name)) for name in columns.secondary_variables)
        if columns.timezone:
            row.append(tz)
        state = {"status": status, "attempts": attempts, "last_outcome": outcome, "last_attempt_at": last_at,
                 "next_attempt_at": next_at, "campaign": campaign, "created_at": created}
        row.extend(_text(state[name]) for name in columns.state)
        yield [neutralise(cell) for cell in row]


class Counted:
    """Export rows passed through, counting the leads (not the header) as they go;
    ``on_done`` gets the count when they run out (a streamed response ends later
    than the view that started it)."""

    def __init__(self, rows: Iterable[list[str]], on_done=None):
        self.rows, self.on_done, self.leads = rows, on_done, 0

    def __iter__(self) -> Iterator[list[str]]:
        for index, row in enumerate(self.rows):
            self.leads = index
            yield row
        if self.on_done is not None:
            self.on_done(self.leads)


class _Echo:
    """What csv.writer writes into, to hand each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]], *, bom: bool = False) -> Iterator[bytes]:
    """Encoded CSV, line by line (for a streaming response or a file)."""
    writer = csv.writer(_Echo())
    if bom:
        yield "\ufeff".encode()
    for row in rows:
        yield writer.writerow(row).encode("utf-8")


def xlsx_file(rows: Iterable[list[str]]):
    """The rows as an XLSX workbook in a temporary file (openpyxl's write-only mode
    keeps memory flat), rewound for reading."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Leads")
    for count, row in enumerate(rows):
        if count > XLSX_MAX_ROWS:
            raise ExportTooLarge(f"XLSX holds {XLSX_MAX_ROWS:,} rows; export this selection as CSV.")
        sheet.append(row)
    handle = tempfile.TemporaryFile()
    workbook.save(handle)
    handle.seek(0)
    return handle
