"""An import's life: validate a file once, write what validated, undo it.

Validation reads the file once, in bounded memory, and keeps two files beside the
upload: the error report (the refused rows with their reasons) and the valid rows,
already normalised, for the import to write without validating again (phone
numbers cost ~30 µs each to check). The import writes in batches, each in its own
transaction together with its progress mark: a worker that dies mid-import leaves
whole batches only, and running the import again carries on after the last one.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import tempfile
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign
from leads import transitions
from leads.models import Contact, DoNotCallNumber, ImportRecord, Lead, LeadStatus, SavedMapping, StatusChange
from leads.transitions import Actor

from .columns import MappingProblem, check_mapping, normalize_header, suggest_mapping
from .files import FileProblem, LeadFile, estimate_rows, open_lead_file
from . import workers as worker_processes
from .validation import FORMULA_STARTS, ParsedRow, parse_rows

Progress = Callable[[ImportRecord], None]


class ImportProblem(ValueError):
    """The whole file or its options are wrong: one message, nothing imported."""


def read_lead_file(record: ImportRecord) -> LeadFile:
    """The import's file, opened for reading rows (limits checked first)."""
    path = Path(record.file.path)
    if path.stat().st_size > settings.LEADS_IMPORT_MAX_BYTES:
        raise ImportProblem(
            f"The file is larger than the limit of {settings.LEADS_IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it."
        )
    try:
        return open_lead_file(path, record.file_name)
    except FileProblem as problem:
        raise ImportProblem(str(problem)) from None


def import_create(
    *,
    campaign: Campaign,
    file: File,
    file_name: str,
    user=None,
    number_format: str = ImportRecord.NumberFormat.INTERNATIONAL,
    country: str = "",
    on_duplicate: str = ImportRecord.OnDuplicate.SKIP,
    mapping: list[str] | None = None,
    dry_run: bool = False,
) -> ImportRecord:
    """Keep the upload and read its header; suggest a mapping when none is given.

    Raises ImportProblem for a file that cannot be imported at all.
    """
    if number_format == ImportRecord.NumberFormat.NATIONAL and not country:
        raise ImportProblem("National numbers need the country they are from.")
    record = ImportRecord(
        campaign=campaign, created_by=user, file_name=Path(file_name).name[:255], number_format=number_format,
        country=country.upper() if number_format == ImportRecord.NumberFormat.NATIONAL else "",
        on_duplicate=on_duplicate, dry_run=dry_run,
    )
    record.save()
    record.file.save(record.file_name, file, save=False)
    try:
        lead_file = read_lead_file(record)
    except ImportProblem:
        record.file.delete(save=False)
        record.delete()
        raise
    record.header = lead_file.header
    # Rows estimated without reading cells: this runs in the upload's request.
    record.rows_expected = estimate_rows(Path(record.file.path), record.file_name)
    if mapping is None:
        saved = SavedMapping.objects.filter(campaign=campaign, headers=_headers_key(lead_file.header)).first()
        names = campaign.assistant.variables.values_list("name", flat=True)
        mapping = saved.mapping if saved else suggest_mapping(lead_file.header, names)
    record.mapping = mapping
    record.save()
    return record


def _headers_key(header: list[str]) -> str:
    return "\n".join(normalize_header(h) for h in header)


def mapping_save(*, record: ImportRecord, targets: list[str], remember: bool) -> ImportRecord:
    """Set the import's mapping (checked) before its validation, and keep it for the
    campaign's next file with the same headers when asked to."""
    check_mapping(record.header, targets)
    record.mapping = targets
    # Validation starts now (here or in the worker): from now on, no progress for a
    # while means no worker took it up (ImportRecord.stalled).
    record.progress_at = timezone.now()
    record.save(update_fields=["mapping", "progress_at"])
    if remember:
        SavedMapping.objects.update_or_create(
            campaign=record.campaign, headers=_headers_key(record.header), defaults={"mapping": targets}
        )
    return record


def _neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading ' (numbers keep +)."""
    if value.startswith(FORMULA_STARTS) and not _looks_like_phone(value):
        return "'" + value
    return value


def _looks_like_phone(value: str) -> bool:
    return value.startswith("+") and all(c.isdigit() or c in " ()-." for c in value[1:]) and any(c.isdigit() for c in value)


class _Spool:
    """A text file on disk that becomes one of the import's files: memory stays flat
    whatever the size of the import."""

    def __init__(self, *, bom: bool = False):
        self.binary = tempfile.TemporaryFile()
        self.text = io.TextIOWrapper(self.binary, encoding="utf-8-sig" if bom else "utf-8", newline="")

    def save_to(self, field, name: str) -> None:
        self.text.flush()
        self.binary.seek(0)
        field.save(name, File(self.binary), save=False)
        self.text.close()


class _ErrorReport(_Spool):
    """The refused rows as CSV: the file's own columns, then row and errors."""

    def __init__(self, header: list[str]):
        super().__init__(bom=True)  # Excel reads UTF-8 only with a BOM
        # A re-imported error report brings its own row/errors columns: not twice.
        self.keep = [i for i, name in enumerate(header) if name.strip().lower() not in ("row", "errors")]
        self.writer = csv.writer(self.text)
        self.writer.writerow([_neutralise(header[i]) for i in self.keep] + ["row", "errors"])

    def add(self, row: int, cells: list[str], errors: list[str]) -> None:
        values = [cells[i] if i < len(cells) else "" for i in self.keep]
        self.writer.writerow([_neutralise(v) for v in values] + [row, "; ".join(errors)])


def _parse_batches(batches: Iterator[list], mapping, region: str | None, *, parallel: bool):
    """Yield (batch, parse results) in file order.

    Checking numbers is pure CPU (~30 µs each), so a large file is parsed by one
    process per core. They are spawned, not forked: a forked child would share this
    process's database connection, and closing it there would close it here. At most
    two batches per worker are in flight, so memory stays flat for any file size.
    """
    if not parallel:
        for batch in batches:
            yield batch, parse_rows(mapping, batch, region)
        return
    workers = os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=worker_processes.start) as pool:
        in_flight: deque = deque()
        for batch in batches:
            in_flight.append((batch, pool.submit(worker_processes.parse_rows, mapping, batch, region)))
            if len(in_flight) >= 2 * workers:
                done_batch, future = in_flight.popleft()
                yield done_batch, future.result()
        while in_flight:
            done_batch, future = in_flight.popleft()
            yield done_batch, future.result()


def _batched(iterator: Iterator, size: int) -> Iterator[list]:
    while batch := list(islice(iterator, size)):
        yield batch


def import_validate(*, record: ImportRecord, progress: Progress | None = None) -> ImportRecord:
    """Check every row; count new, updated, skipped and rejected; keep the error
    report and the valid rows. Writes no lead."""
    started = time.monotonic()
    record.status = ImportRecord.Status.VALIDATING
    record.save(update_fields=["status"])
    try:
        lead_file = read_lead_file(record)
        mapping = check_mapping(lead_file.header, record.mapping)
        _validate_rows(record, lead_file, mapping, progress)
    except (ImportProblem, MappingProblem) as problem:
        return _fail(record, str(problem))
    record.validation_seconds = round(time.monotonic() - started, 3)
    record.status = ImportRecord.Status.READY
    record.save()
    return record


def _fail(record: ImportRecord, message: str) -> ImportRecord:
    record.status = ImportRecord.Status.FAILED
    record.message = message
    record.rows_new = record.rows_updated = record.rows_skipped = record.rows_rejected = 0
    record.save()
    return record


def _validate_rows(record: ImportRecord, lead_file: LeadFile, mapping, progress: Progress | None) -> None:
    campaign = record.campaign
    region = record.country or None
    update = record.on_duplicate == ImportRecord.OnDuplicate.UPDATE
    required = [v.name for v in campaign.assistant.variables.all() if v.required and not v.default_value]
    phone_column = mapping.column_name(mapping.phone_index)
    # A missing required value is named by its column when the file has one.
    required_column = {name: name for name in required} | {
        t[4:]: mapping.column_name(i) for i, t in enumerate(mapping.targets) if t.startswith("var:") and t[4:] in required
    }
    report = _ErrorReport(lead_file.header)
    valid = _Spool()
    accepted: dict[str, int] = {}  # primary number -> the row that first had it
    counts = {"total": 0, "new": 0, "updated": 0, "skipped": 0, "rejected": 0}

    def reject(row: int, cells: list[str], errors: list[str]) -> None:
        counts["rejected"] += 1
        report.add(row, cells, errors)

    batches = _batched(lead_file.rows, settings.LEADS_IMPORT_BATCH_ROWS)
    # A workbook may not declare its size (rows_expected 0): then its bytes decide.
    large = record.rows_expected > settings.LEADS_IMPORT_PARALLEL_ABOVE or (
        not record.rows_expected and record.file.size > settings.LEADS_IMPORT_BACKGROUND_ABOVE * 4
    )
    for batch, results in _parse_batches(batches, mapping, region, parallel=large):
        counts["total"] += len(batch)
        if counts["total"] > settings.LEADS_IMPORT_MAX_ROWS:
            raise ImportProblem(
                f"The file has more than {settings.LEADS_IMPORT_MAX_ROWS:,} rows, the most one import takes; split it."
            )
        parsed_rows = [(result, cells) for result, (_, cells) in zip(results, batch)]
        primaries = [parsed.phone for (parsed, _), _ in parsed_rows if parsed.phone]
        listed = set(DoNotCallNumber.objects.filter(phone__in=primaries).values_list("phone", flat=True))
        existing = dict(
            Contact.objects.filter(campaign=campaign, position=0, phone__in=primaries).values_list("phone", "lead__status")
        )
        for (parsed, errors), cells in parsed_rows:
            phone = parsed.phone
            if phone in accepted:
                errors.append(f"{phone_column}: duplicate of row {accepted[phone]}")
            if phone in listed:
                errors.append(f"{phone_column}: {phone} is on the do-not-call list")
            if phone in existing and update and existing[phone] == LeadStatus.PROCESSING:
                errors.append("a call to this lead is in progress; import the row again later")
            if not (phone in existing and update):  # an update keeps the values it has
                errors.extend(
                    f"{required_column[name]}: required, and the assistant has no default"
                    for name in required
                    if name not in parsed.variables
                )
            if errors:
                reject(parsed.row, cells, errors)
                continue
            accepted[phone] = parsed.row
            if phone in existing and not update:
                counts["skipped"] += 1
                continue
            counts["updated" if phone in existing else "new"] += 1
            valid.text.write(json.dumps(parsed.as_json(), ensure_ascii=False) + "\n")
        record.rows_validated = counts["total"]
        if progress:
            progress(record)

    record.rows_total = counts["total"]
    record.rows_new, record.rows_updated = counts["new"], counts["updated"]
    record.rows_skipped, record.rows_rejected = counts["skipped"], counts["rejected"]
    report.save_to(record.error_report, "errors.csv")
    valid.save_to(record.valid_rows, "valid.jsonl")


# --- Writing ---------------------------------------------------------------------


def import_run(*, record: ImportRecord, actor: Actor, progress: Progress | None = None) -> ImportRecord:
    """Write the validated rows, batch by batch; carries on after the last batch
    written if a previous run stopped half-way."""
    # IMPORTING: queued by import_queue, or a second run after a worker was thought
    # dead (each batch is locked, so they never write the same one).
    if not (record.can_run or record.status == ImportRecord.Status.IMPORTING):
        raise _cannot_run(record)
    started = time.monotonic()
    record.status = ImportRecord.Status.IMPORTING
    record.progress_at = timezone.now()
    record.save(update_fields=["status", "progress_at"])
    mapping = check_mapping(record.header, record.mapping)
    update = record.on_duplicate == ImportRecord.OnDuplicate.UPDATE
    with record.valid_rows.open("rb") as handle:
        lines = (json.loads(line) for line in io.TextIOWrapper(handle, encoding="utf-8"))
        for index, batch in enumerate(_batched(lines, settings.LEADS_IMPORT_BATCH_ROWS), start=1):
            with transaction.atomic():
                # Locked and read again: a second run (after a worker was thought dead)
                # waits here, then skips what the first one wrote.
                current = ImportRecord.objects.select_for_update().get(pk=record.pk)
                if index <= current.batches_written:
                    continue
                _write_batch(record, [ParsedRow.from_json(d) for d in batch], update, mapping.has_secondary_columns, actor)
                record.batches_written = index
                record.rows_written = current.rows_written + len(batch)
                record.progress_at = timezone.now()
                record.save(update_fields=["batches_written", "rows_written", "progress_at"])
            if progress:
                progress(record)
    record.import_seconds = round((record.import_seconds or 0) + time.monotonic() - started, 3)
    record.status = ImportRecord.Status.DONE
    record.save(update_fields=["status", "import_seconds"])
    return record


def _cannot_run(record: ImportRecord) -> ImportProblem:
    if record.dry_run:
        return ImportProblem("This was a dry run: it validates and writes nothing.")
    return ImportProblem(f"This import is {record.get_status_display().lower()}; it cannot run now.")


def import_queue(*, record: ImportRecord) -> ImportRecord:
    """Hand the import to the worker: it shows as importing from now on, and as
    stopped (ImportRecord.stalled) if no worker takes it up."""
    if not record.can_run:
        raise _cannot_run(record)
    record.status = ImportRecord.Status.IMPORTING
    record.progress_at = timezone.now()
    record.save(update_fields=["status", "progress_at"])
    return record


def import_stopped(*, record: ImportRecord, error: Exception) -> ImportRecord:
    """The worker's import failed: whole batches only were written."""
    record.status = ImportRecord.Status.FAILED
    record.message = f"The import stopped: {error}. Run it again to carry on where it stopped, or undo it."
    record.save(update_fields=["status", "message"])
    return record


def _write_batch(record: ImportRecord, rows: list[ParsedRow], update: bool, replace_secondaries: bool, actor: Actor) -> None:
    campaign = record.campaign
    # Checked again: leads may have arrived since validation (another import).
    in_campaign = {
        phone: (lead_id, status)
        for phone, lead_id, status in Contact.objects.filter(
            campaign=campaign, position=0, phone__in=[r.phone for r in rows]
        ).values_list("phone", "lead_id", "lead__status")
    }
    new_rows = [r for r in rows if r.phone not in in_campaign]
    new_ids = _insert_leads(record, [r.timezone for r in new_rows])
    _insert_contacts(
        campaign,
        ((lead_id, position, phone, values)
         for lead_id, r in zip(new_ids, new_rows)
         for position, (phone, values) in enumerate([(r.phone, r.variables), *r.secondaries])),
    )
    if new_ids:
        # Numbers on the do-not-call list start blocked (one listed since validation,
        # or a secondary): one join with the list over the batch's id range, which the
        # (lead, position) index serves. Another lead's number in that range that is on
        # the list is blocked too, which is only right.
        transitions.block_listed_numbers(
            Contact.objects.filter(lead_id__gte=min(new_ids), lead_id__lte=max(new_ids)), actor=actor
        )
    if update:
        existing = {phone: lead_id for phone, (lead_id, status) in in_campaign.items() if status != LeadStatus.PROCESSING}
        _update_existing(campaign, [r for r in rows if r.phone in existing], existing, replace_secondaries)


def _insert_leads(record: ImportRecord, timezones: list[str]) -> list[int]:
    """Insert one new lead per time zone given; return their ids, in order."""
    if not timezones:
        return []
    if connection.vendor != "postgresql":
        leads = Lead.objects.bulk_create(
            [Lead(campaign=record.campaign, timezone=tz, import_record=record) for tz in timezones], batch_size=2000
        )
        return [lead.pk for lead in leads]
    # Ids reserved from the sequence, then COPY: a multi-row INSERT of thousands of
    # leads spends more time parsing its parameters than writing.
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(timezones)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        now = timezone.now().isoformat()
        status = transitions.new_lead_status()
        text = "".join(
            f"{lead_id}\t{record.campaign_id}\t{status}\t{_copy_text(tz)}\t0\t\t{record.pk}\t{now}\t{now}\n"
            for lead_id, tz in zip(ids, timezones)
        )
        with cursor.cursor.copy(
            f"COPY {table} (id, campaign_id, status, timezone, attempts, last_outcome, import_record_id, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            copy.write(text)
    return ids


def _copy_text(value: str) -> str:
    """A value in PostgreSQL's COPY text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _insert_contacts(campaign: Campaign, contacts) -> None:
    """Insert (lead_id, position, phone, variables) rows as new numbers."""
    created = transitions.new_number_status(on_do_not_call_list=False)
    if connection.vendor == "postgresql":
        # COPY, several times faster than INSERT for hundreds of thousands of numbers,
        # sent in chunks formatted as text: PostgreSQL updates its indexes for one
        # chunk while the next is formatted here.
        lines = (
            f"{lead_id}\t{campaign.pk}\t{position}\t{_copy_text(phone)}\t{created}\t0\t\t{_copy_text(json.dumps(values))}\n"
            for lead_id, position, phone, values in contacts
        )
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY {Contact._meta.db_table} (lead_id, campaign_id, position, phone, status, attempts, last_outcome, variables) "
                "FROM STDIN"
            ) as copy:
                while chunk := "".join(islice(lines, 1000)):
                    copy.write(chunk)
    else:
        Contact.objects.bulk_create(
            [Contact(lead_id=lead_id, campaign=campaign, position=position, phone=phone, status=created, variables=values)
             for lead_id, position, phone, values in contacts],
            batch_size=2000,
        )


def _update_existing(campaign, rows: list[ParsedRow], existing: dict[str, int], replace_secondaries: bool) -> None:
    """Non-empty cells overwrite, empty cells keep the old value; secondary numbers are
    replaced only when the file has secondary columns; the status is untouched."""
    if not rows:
        return
    lead_ids = [existing[r.phone] for r in rows]
    primaries = {c.lead_id: c for c in Contact.objects.filter(lead_id__in=lead_ids, position=0)}
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=lead_ids)}
    for r in rows:
        contact = primaries[existing[r.phone]]
        contact.variables = {**contact.variables, **r.variables}
        if r.timezone:
            leads[contact.lead_id].timezone = r.timezone
    Contact.objects.bulk_update(primaries.values(), ["variables"], batch_size=1000)
    Lead.objects.bulk_update(leads.values(), ["timezone"], batch_size=1000)
    if replace_secondaries:
        # Kept numbers keep their state and attempts; others start fresh.
        old = {(c.lead_id, c.phone): c for c in Contact.objects.filter(lead_id__in=lead_ids, position__gt=0)}
        listed = set(
            DoNotCallNumber.objects.filter(phone__in=[p for r in rows for p, _ in r.secondaries]).values_list("phone", flat=True)
        )
        Contact.objects.filter(lead_id__in=lead_ids, position__gt=0).delete()
        fresh = []
        for r in rows:
            lead_id = existing[r.phone]
            for position, (phone, values) in enumerate(r.secondaries, start=1):
                before = old.get((lead_id, phone))
                fresh.append(Contact(
                    lead_id=lead_id, campaign=campaign, position=position, phone=phone, variables=values,
                    status=before.status if before else transitions.new_number_status(on_do_not_call_list=phone in listed),
                    attempts=before.attempts if before else 0,
                    last_outcome=before.last_outcome if before else "",
                ))
        Contact.objects.bulk_create(fresh, batch_size=2000)
        transitions.recount_attempts(Lead.objects.filter(pk__in=lead_ids))


# --- Undo ------------------------------------------------------------------------


@dataclass
class UndoResult:
    removed: int
    kept: dict[str, int]


def import_undo(*, record: ImportRecord) -> UndoResult:
    """Delete the leads this import created that have not been dialled yet. Leads it
    updated are not changed back."""
    if not record.can_undo:
        raise ImportProblem(f"This import is {record.get_status_display().lower()}; there is nothing to undo now.")
    created = Lead.objects.filter(import_record=record)
    untouched = Q(status=LeadStatus.CREATED, attempts=0, last_attempt_at__isnull=True)
    kept = {
        "already dialled or in a call": created.exclude(untouched).exclude(status=LeadStatus.BLACKLISTED).count(),
        "on the do-not-call list": created.filter(status=LeadStatus.BLACKLISTED).count(),
    }
    removed = 0
    while ids := list(created.filter(untouched).values_list("pk", flat=True)[: settings.LEADS_IMPORT_BATCH_ROWS]):
        with transaction.atomic():
            Contact.objects.filter(lead_id__in=ids).delete()
            StatusChange.objects.filter(lead_id__in=ids).delete()
            _, deleted = Lead.objects.filter(pk__in=ids, status=LeadStatus.CREATED).delete()
            removed += deleted.get(Lead._meta.label, 0)
    record.leads_removed = removed
    record.status = ImportRecord.Status.UNDONE
    kept = {reason: count for reason, count in kept.items() if count}
    record.message = (
        "Kept: " + ", ".join(f"{count} {reason}" for reason, count in kept.items()) + "." if kept else ""
    )
    record.save(update_fields=["leads_removed", "status", "message"])
    return UndoResult(removed=removed, kept=kept)


# --- Sample file -------------------------------------------------------------------


def sample_rows(campaign: Campaign) -> list[list[str]]:
    """The header a file for this campaign has, and one example row."""
    variables = list(campaign.assistant.variables.all())
    header = ["phone_number", *[v.name for v in variables], "secondary_phone_1", "timezone"]
    example = ["+14155550123", *[v.default_value or f"example {v.name}" for v in variables], "+12125550123",
               campaign.effective_timezone()]
    return [header, example]
