"""An import's life: validate a file once, write what validated, undo it.

The rows go through ``LeadImportResource`` (its header matching, its checks against
the campaign, its bulk write) a batch at a time. Validation reads the file once, in
bounded memory, and keeps two files beside the
upload: the error report (the refused rows with their reasons) and the valid rows,
already normalised, for the import to write without validating again (phone
numbers cost ~30 µs each to check). The import writes in batches, each in its own
transaction together with its mark (ImportBatch): a worker that dies mid-import
leaves whole batches only, and running the import again writes the ones missing.
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
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from campaigns.models import Campaign
from leads.models import Contact, ImportBatch, ImportRecord, Lead, LeadStatus, SavedMapping, StatusChange
from leads.transitions import Actor

from .columns import MappingProblem, check_mapping, normalize_header, suggest_mapping
from .files import FileProblem, LeadFile, LeadFileHead, estimate_rows, open_lead_file, read_head, unpacked_size
from . import workers as worker_processes
from .resources import INVALID, NEW, SKIP, UPDATE, LeadImportResource, batched
from .validation import FORMULA_STARTS, ParsedRow, parse_rows

Progress = Callable[[ImportRecord], None]


class ImportProblem(ValueError):
    """The whole file or its options are wrong: one message, nothing imported."""


NO_ROWS = "The file has a header but no rows."
SAMPLE_ROWS = 3  # the first rows the mapping page shows beside each column


def _checked_path(record: ImportRecord) -> Path:
    path = Path(record.file.path)
    if path.stat().st_size > settings.LEADS_IMPORT_MAX_BYTES:
        raise ImportProblem(
            f"The file is larger than the limit of {settings.LEADS_IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it."
        )
    return path


def read_lead_file(record: ImportRecord) -> LeadFile:
    """The import's file, opened for reading rows (limits checked first)."""
    try:
        return open_lead_file(_checked_path(record), record.file_name)
    except FileProblem as problem:
        raise ImportProblem(str(problem)) from None


def file_head(*, record: ImportRecord) -> LeadFileHead:
    """The import's header and the rows the mapping page shows, reading no more of
    the file: this runs in requests."""
    try:
        return read_head(_checked_path(record), record.file_name, rows=SAMPLE_ROWS)
    except FileProblem as problem:
        raise ImportProblem(str(problem)) from None


def import_in_background(*, record: ImportRecord) -> bool:
    """Whether the task worker validates and writes this import: by the bytes there
    are to read, a workbook's unzipped (never a zip's bytes alone)."""
    return unpacked_size(Path(record.file.path), record.file_name) > settings.LEADS_IMPORT_BACKGROUND_ABOVE


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
        # The rows the mapping page shows are read here, so a row the reader cannot
        # read among them is a whole-file problem now rather than an error there.
        head = file_head(record=record)
        if not head.samples:
            raise ImportProblem(NO_ROWS)
    except ImportProblem:
        record.file.delete(save=False)
        record.delete()
        raise
    record.header = head.header
    # Rows estimated without reading cells: this runs in the upload's request.
    record.rows_expected = estimate_rows(Path(record.file.path), record.file_name)
    if mapping is None:
        saved = SavedMapping.objects.filter(
            campaign=campaign, headers_digest=SavedMapping.digest(_headers_key(head.header))
        ).first()
        names = campaign.assistant.variables.values_list("name", flat=True)
        mapping = saved.mapping if saved else suggest_mapping(head.header, names)
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
        headers = _headers_key(record.header)
        SavedMapping.objects.update_or_create(
            campaign=record.campaign, headers_digest=SavedMapping.digest(headers),
            defaults={"headers": headers, "mapping": targets},
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


def import_validate(*, record: ImportRecord, progress: Progress | None = None) -> ImportRecord:
    """Check every row; count new, updated, skipped and rejected; keep the error
    report and the valid rows. Writes no lead."""
    started = time.monotonic()
    record.status = ImportRecord.Status.VALIDATING
    record.save(update_fields=["status"])
    try:
        _validate_rows(record, read_lead_file(record), progress)
    except (ImportProblem, MappingProblem, FileProblem) as problem:  # FileProblem: a row the reader cannot read
        return _fail(record, str(problem))
    record.validation_seconds = round(time.monotonic() - started, 3)
    record.status = ImportRecord.Status.READY
    record.save()
    return record


def import_validation_stopped(*, record: ImportRecord, error: Exception) -> ImportRecord:
    """The worker's validation failed: nothing was written; the reason is on the page."""
    return _fail(record, f"The validation stopped: {error}.")


def _fail(record: ImportRecord, message: str) -> ImportRecord:
    record.status = ImportRecord.Status.FAILED
    record.message = message
    record.rows_new = record.rows_updated = record.rows_skipped = record.rows_rejected = 0
    record.save()
    return record


def _validate_rows(record: ImportRecord, lead_file: LeadFile, progress: Progress | None) -> None:
    resource = LeadImportResource.for_record(record)
    mapping = resource.read_header(lead_file.header)
    report = _ErrorReport(lead_file.header)
    valid = _Spool()
    counts = {"total": 0, NEW: 0, UPDATE: 0, SKIP: 0, INVALID: 0}
    batches = batched(lead_file.rows, settings.LEADS_IMPORT_BATCH_ROWS)
    # A workbook may not declare its size (rows_expected 0): then its bytes decide.
    large = record.rows_expected > settings.LEADS_IMPORT_PARALLEL_ABOVE or (
        not record.rows_expected
        and unpacked_size(Path(record.file.path), record.file_name) > settings.LEADS_IMPORT_BACKGROUND_ABOVE * 4
    )
    for batch, parsed in _parse_batches(batches, mapping, resource.region, parallel=large):
        counts["total"] += len(batch)
        if counts["total"] > settings.LEADS_IMPORT_MAX_ROWS:
            raise ImportProblem(
                f"The file has more than {settings.LEADS_IMPORT_MAX_ROWS:,} rows, the most one import takes; split it."
            )
        for (row, errors), (_, cells), outcome in zip(parsed, batch, resource.check_batch(parsed)):
            counts[outcome] += 1
            if outcome == INVALID:
                report.add(row.row, cells, errors)
            elif outcome != SKIP:
                valid.text.write(json.dumps(row.as_json(), ensure_ascii=False) + "\n")
        record.rows_validated = counts["total"]
        if progress:
            progress(record)

    if not counts["total"]:  # the file changed since its upload, or came another way
        raise ImportProblem(NO_ROWS)
    record.rows_total = counts["total"]
    record.rows_new, record.rows_updated = counts[NEW], counts[UPDATE]
    record.rows_skipped, record.rows_rejected = counts[SKIP], counts[INVALID]
    report.save_to(record.error_report, "errors.csv")
    valid.save_to(record.valid_rows, "valid.jsonl")


# --- Writing ---------------------------------------------------------------------


def import_run(*, record: ImportRecord, actor: Actor, progress: Progress | None = None) -> ImportRecord:
    """Write the validated rows, batch by batch; carries on with the batches missing
    if a previous run stopped half-way."""
    # IMPORTING: queued by import_queue, or a second run after a worker was thought
    # dead (each batch is marked, so they never write the same one).
    if not (record.can_run or record.status == ImportRecord.Status.IMPORTING):
        raise _cannot_run(record)
    started = time.monotonic()
    record.status = ImportRecord.Status.IMPORTING
    record.progress_at = timezone.now()
    record.save(update_fields=["status", "progress_at"])
    resource = LeadImportResource.for_record(record)
    resource.read_header(record.header)
    written = set(record.batches.values_list("number", flat=True))
    with record.valid_rows.open("rb") as handle:
        lines = (json.loads(line) for line in io.TextIOWrapper(handle, encoding="utf-8"))
        batches = (
            (number, batch)
            for number, batch in enumerate(batched(lines, settings.LEADS_IMPORT_BATCH_ROWS), start=1)
            if number not in written
        )
        for rows in _write_batches(record, resource, batches, actor):
            record.rows_written += rows
            if progress:
                progress(record)
    record.refresh_from_db(fields=["rows_written"])
    record.import_seconds = round((record.import_seconds or 0) + time.monotonic() - started, 3)
    record.status = ImportRecord.Status.DONE
    record.save(update_fields=["status", "import_seconds"])
    return record


def _write_batches(record: ImportRecord, resource: LeadImportResource, batches, actor: Actor) -> Iterator[int]:
    """Write (number, rows) batches; yield the rows of each batch written, in order.

    On PostgreSQL LEADS_IMPORT_WRITERS batches are written side by side, each on its
    own connection: most of a batch's time is the database updating the numbers'
    indexes, one core per connection (measured on 2 cores: 40,000 rows in 6.0 s with
    two writers against 9.2-10.0 s with one). Not when the caller holds a transaction,
    whose rows the other connections could not see (tests do), nor on SQLite, which
    has one writer at a time.
    """
    writers = settings.LEADS_IMPORT_WRITERS
    if connection.vendor != "postgresql" or connection.in_atomic_block or writers < 2:
        for number, rows in batches:
            yield _write_batch(record, resource, number, rows, actor)
        return
    with ThreadPoolExecutor(max_workers=writers) as pool:
        in_flight: deque = deque()
        for number, rows in batches:
            in_flight.append(pool.submit(_on_own_connection, _write_batch, record, resource, number, rows, actor))
            if len(in_flight) >= 2 * writers:  # bounded: memory stays flat
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


def _on_own_connection(function, *args):
    try:
        return function(*args)
    finally:
        connection.close()  # this thread's


def _write_batch(record: ImportRecord, resource: LeadImportResource, number: int, batch: list[dict], actor: Actor) -> int:
    """Write one batch and its mark in one transaction; 0 if another run wrote it."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                # Another run writing this batch holds this mark until it commits; then
                # this insert fails and the batch is left alone.
                ImportBatch.objects.create(record=record, number=number)
        except IntegrityError:
            return 0
        resource.write_rows([ParsedRow.from_json(d) for d in batch], actor=actor)
        ImportRecord.objects.filter(pk=record.pk).update(
            rows_written=F("rows_written") + len(batch), progress_at=timezone.now()
        )
    return len(batch)


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
