"""An import's life: validate a file once, write what validated, undo it.

The rows go through ``LeadImportResource`` (its header matching, its checks against
the campaign, its bulk write) a batch at a time. Validation reads the file once, in
bounded memory, and keeps two files beside the
upload: the error report (the refused rows with their reasons) and the valid rows,
already normalised, for the import to write without validating again (phone
numbers cost ~30 µs each to check). The import writes in batches, each in its own
transaction together with its mark (ImportBatch): a worker that dies mid-import
leaves whole batches only, and running the import again writes the ones missing.

Each start of an import's work (validating, running, undoing, cancelling) takes the
record over: ``ImportRecord.run`` goes up by one with the row locked. Every write of a
run (a batch, a progress or result save) is an UPDATE ... WHERE run = its own, in the
transaction of what it writes: a worker that was only slow, not dead, finds the import
taken over, rolls its batch back and stops without saving anything more.
"""

from __future__ import annotations

import csv
import io
import json
import logging
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
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from campaigns.models import Campaign
from leads.layout import PRIMARY, Target, neutralise, phone_columns
from leads.models import Contact, ImportBatch, ImportRecord, Lead, LeadStatus, SavedMapping, StatusChange
from leads.transitions import Actor

from . import workers as worker_processes
from .columns import Mapping, MappingProblem, check_mapping, normalize_header, suggest_mapping
from .files import FileProblem, LeadFile, LeadFileHead, estimate_rows, open_lead_file, read_head, unpacked_size
from .resources import INVALID, NEW, SKIP, UPDATE, LeadImportResource, batched
from .validation import ParsedRow, RowError, parse_rows

Progress = Callable[[ImportRecord], None]
logger = logging.getLogger(__name__)


class ImportProblem(ValueError):
    """The whole file or its options are wrong: one message, nothing imported."""


class RunLost(Exception):
    """The import was taken over (undone, cancelled, started again) while this run
    worked: it writes nothing more."""


# How long a takeover waits for a batch committing at that moment, on PostgreSQL; a
# worker stopped mid-commit holds the record's row until it goes on or dies.
TAKEOVER_LOCK_TIMEOUT = "5s"


def _take_over(
    record: ImportRecord,
    *,
    status: str,
    allowed: Callable[[ImportRecord], bool],
    refused: Callable[[ImportRecord], str],
    **fields,
) -> int:
    """Make ``record`` the next run's, in ``status`` (with ``fields`` saved too), when
    ``allowed`` says so of the row as locked; the run's number. Copies the new state
    onto ``record``.

    The row lock taken is FOR NO KEY UPDATE: it does not wait for batches being
    written (their leads only hold key-share locks on it), which find the fence moved
    when they save their progress, and roll back."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{TAKEOVER_LOCK_TIMEOUT}'")
            locked = ImportRecord.objects.select_for_update(no_key=True).get(pk=record.pk)
            if not allowed(locked):
                raise ImportProblem(refused(locked))
            changes = {"run": locked.run + 1, "status": status, "progress_at": timezone.now(), **fields}
            for name, value in changes.items():
                setattr(locked, name, value)
            locked.save(update_fields=list(changes))
    except OperationalError:
        raise ImportProblem("The import's worker is saving a batch right now; try again in a moment.") from None
    for name in (
        "run",
        "status",
        "progress_at",
        "message",
        "mapping",
        "rows_written",
        "rows_validated",
        "leads_removed",
    ):
        setattr(record, name, getattr(locked, name))
    return locked.run


def _lost(record: ImportRecord) -> ImportRecord:
    """A run that lost its import stops here: the record as its new holder keeps it."""
    logger.info("Import %s was taken over while this run worked on it; it stops and writes nothing more.", record.pk)
    record.refresh_from_db()
    return record


def _status_of(record: ImportRecord) -> str:
    return record.get_status_display().lower()


def _fenced_save(record: ImportRecord, run: int, **fields) -> None:
    """Save ``fields`` of the import if ``run`` still holds it, else raise RunLost (one
    UPDATE: it locks the row and checks the fence at once)."""
    if not ImportRecord.objects.filter(pk=record.pk, run=run).update(**fields):
        raise RunLost(f"import {record.pk} was taken over from run {run}")


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
        campaign=campaign,
        created_by=user,
        file_name=Path(file_name).name[:255],
        number_format=number_format,
        country=country.upper() if number_format == ImportRecord.NumberFormat.NATIONAL else "",
        on_duplicate=on_duplicate,
        dry_run=dry_run,
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
    # Validation starts now (here or in the worker), as a run of its own: one that
    # stopped (its worker died or is stuck) writes nothing more. From now on, no
    # progress for a while means no worker took it up (ImportRecord.stalled).
    _take_over(
        record,
        status=ImportRecord.Status.VALIDATING,
        allowed=lambda r: r.can_map,
        refused=lambda r: f"This import is {_status_of(r)}; its columns cannot change now.",
        mapping=targets,
        rows_validated=0,
    )
    if remember:
        headers = _headers_key(record.header)
        SavedMapping.objects.update_or_create(
            campaign=record.campaign,
            headers_digest=SavedMapping.digest(headers),
            defaults={"headers": headers, "mapping": targets},
        )
    return record


class _Spool:
    """A text file on disk that becomes one of the import's files: memory stays flat
    whatever the size of the import."""

    def __init__(self, *, bom: bool = False):
        self.binary = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the writer)
        self.text = io.TextIOWrapper(self.binary, encoding="utf-8-sig" if bom else "utf-8", newline="")

    def save_to(self, field, name: str) -> None:
        self.text.flush()
        self.binary.seek(0)
        field.save(name, File(self.binary), save=False)
        self.text.close()


class _ErrorReport(_Spool):
    """The refused rows as CSV: the file's own columns, then row and errors. Cells are
    neutralised as in an export (leads.layout): the columns mapped to a number are phone
    columns; the errors quote the file's headers, so they are neutralised too."""

    def __init__(self, header: list[str], mapping: Mapping):
        super().__init__(bom=True)  # Excel reads UTF-8 only with a BOM
        # A re-imported error report brings its own row/errors columns: not twice.
        self.keep = [i for i, name in enumerate(header) if name.strip().lower() not in ("row", "errors")]
        self.phones = phone_columns(mapping.targets[i] if i < len(mapping.targets) else None for i in self.keep)
        self.writer = csv.writer(self.text)
        self.writer.writerow([neutralise(header[i]) for i in self.keep] + ["row", "errors"])

    def add(self, row: int, cells: list[str], errors: list[RowError]) -> None:
        values = [cells[i] if i < len(cells) else "" for i in self.keep]
        reasons = "; ".join(map(str, errors))
        self.writer.writerow([neutralise(v, phone=p) for v, p in zip(values, self.phones)] + [row, neutralise(reasons)])


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
    # They die with this process (workers.start): a worker killed mid-validation
    # leaves none behind.
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=worker_processes.start, initargs=(os.getpid(),)
    ) as pool:
        in_flight: deque = deque()
        for batch in batches:
            in_flight.append((batch, pool.submit(worker_processes.parse_rows, mapping, batch, region)))
            if len(in_flight) >= 2 * workers:
                done_batch, future = in_flight.popleft()
                yield done_batch, future.result()
        while in_flight:
            done_batch, future = in_flight.popleft()
            yield done_batch, future.result()


def import_validate(*, record: ImportRecord, progress: Progress | None = None, run: int | None = None) -> ImportRecord:
    """Check every row; count new, updated, skipped and rejected; keep the error
    report and the valid rows. Writes no lead.

    ``run`` is the run that mapping_save or import_validate_again started; without
    it (the command line) the validation takes the import over itself. A run that
    lost the import stops at its next batch and saves nothing."""
    if run is None:
        run = _take_over(
            record,
            status=ImportRecord.Status.VALIDATING,
            allowed=lambda r: r.status in (ImportRecord.Status.MAPPING, ImportRecord.Status.VALIDATING),
            refused=lambda r: f"This import is {_status_of(r)}; it cannot be validated now.",
        )
    try:
        return _validate(record, progress, run)
    except RunLost:
        return _lost(record)


def _validate(record: ImportRecord, progress: Progress | None, run: int) -> ImportRecord:
    started = time.monotonic()
    _fenced_save(record, run, status=ImportRecord.Status.VALIDATING, progress_at=timezone.now())
    try:
        _validate_rows(record, read_lead_file(record), progress, run)
    except (ImportProblem, MappingProblem, FileProblem) as problem:  # FileProblem: a row the reader cannot read
        return _fail(record, str(problem), run)
    record.validation_seconds = round(time.monotonic() - started, 3)
    record.status = ImportRecord.Status.READY
    try:
        _fenced_save(
            record,
            run,
            status=record.status,
            validation_seconds=record.validation_seconds,
            rows_validated=record.rows_validated,
            rows_total=record.rows_total,
            rows_new=record.rows_new,
            rows_updated=record.rows_updated,
            rows_skipped=record.rows_skipped,
            rows_rejected=record.rows_rejected,
            error_report=record.error_report.name,
            valid_rows=record.valid_rows.name,
            progress_at=timezone.now(),
        )
    except RunLost:
        # Its files were kept for nothing: the import is another run's now.
        record.error_report.delete(save=False)
        record.valid_rows.delete(save=False)
        raise
    return record


def import_validation_stopped(*, record: ImportRecord, run: int, error: Exception) -> ImportRecord:
    """The worker's validation failed: nothing was written; the reason is on the page.
    Nothing is saved if the import is another run's by now."""
    try:
        return _fail(record, f"The validation stopped: {error}.", run)
    except RunLost:
        return _lost(record)


def _fail(record: ImportRecord, message: str, run: int) -> ImportRecord:
    record.status = ImportRecord.Status.FAILED
    record.message = message
    record.rows_new = record.rows_updated = record.rows_skipped = record.rows_rejected = 0
    _fenced_save(
        record,
        run,
        status=record.status,
        message=message,
        rows_new=0,
        rows_updated=0,
        rows_skipped=0,
        rows_rejected=0,
        rows_total=record.rows_total,
        rows_validated=record.rows_validated,
    )
    return record


def _validate_rows(record: ImportRecord, lead_file: LeadFile, progress: Progress | None, run: int) -> None:
    resource = LeadImportResource.for_record(record)
    mapping = resource.read_header(lead_file.header)
    report = _ErrorReport(lead_file.header, mapping)
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
        # Progress for the page, and the fence: a validation taken over stops here.
        _fenced_save(record, run, rows_validated=record.rows_validated, progress_at=timezone.now())
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


def import_run(
    *, record: ImportRecord, actor: Actor, progress: Progress | None = None, run: int | None = None
) -> ImportRecord:
    """Write the validated rows, batch by batch; carries on with the batches missing
    if a previous run stopped half-way.

    ``run`` is the run import_queue started; without it (the command line) the import
    is taken over here, also from a run still going (its worker thought dead), which
    then writes nothing more. A run that lost the import stops before its next batch
    commits, and saves no status."""
    if run is None:
        run = _take_over(
            record,
            status=ImportRecord.Status.IMPORTING,
            allowed=lambda r: r.can_run or r.status == ImportRecord.Status.IMPORTING,
            refused=lambda r: str(_cannot_run(r)),
        )
    try:
        return _run(record, actor, progress, run)
    except RunLost:
        return _lost(record)


def _run(record: ImportRecord, actor: Actor, progress: Progress | None, run: int) -> ImportRecord:
    started = time.monotonic()
    _fenced_save(record, run, status=ImportRecord.Status.IMPORTING, progress_at=timezone.now())
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
        for rows in _write_batches(record, resource, batches, actor, run):
            record.rows_written += rows
            if progress:
                progress(record)
    record.refresh_from_db(fields=["rows_written"])
    record.import_seconds = round((record.import_seconds or 0) + time.monotonic() - started, 3)
    record.status = ImportRecord.Status.DONE
    _fenced_save(record, run, status=record.status, import_seconds=record.import_seconds)
    return record


def _write_batches(
    record: ImportRecord, resource: LeadImportResource, batches, actor: Actor, run: int
) -> Iterator[int]:
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
            yield _write_batch(record, resource, number, rows, actor, run)
        return
    with ThreadPoolExecutor(max_workers=writers) as pool:
        in_flight: deque = deque()
        for number, rows in batches:
            in_flight.append(pool.submit(_on_own_connection, _write_batch, record, resource, number, rows, actor, run))
            if len(in_flight) >= 2 * writers:  # bounded: memory stays flat
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


def _on_own_connection(function, *args):
    try:
        return function(*args)
    finally:
        connection.close()  # this thread's


def _write_batch(
    record: ImportRecord, resource: LeadImportResource, number: int, batch: list[dict], actor: Actor, run: int
) -> int:
    """Write one batch and its mark in one transaction; 0 if another run wrote it.
    Raises RunLost, with nothing written, if the import was taken over from ``run``."""
    if not ImportRecord.objects.filter(pk=record.pk, run=run).exists():
        raise RunLost(f"import {record.pk} was taken over from run {run}")  # before doing the batch's work
    with transaction.atomic():
        try:
            with transaction.atomic():
                # Another run writing this batch holds this mark until it commits; then
                # this insert fails and the batch is left alone.
                ImportBatch.objects.create(record=record, number=number)
        except IntegrityError:
            return 0
        resource.write_rows([ParsedRow.from_json(d) for d in batch], actor=actor)
        # The fence, in the batch's transaction: taken over meanwhile (this UPDATE
        # waits for a takeover committing, then sees it), the batch rolls back whole.
        _fenced_save(record, run, rows_written=F("rows_written") + len(batch), progress_at=timezone.now())
    return len(batch)


def _cannot_run(record: ImportRecord) -> ImportProblem:
    if record.dry_run:
        return ImportProblem("This was a dry run: it validates and writes nothing.")
    return ImportProblem(f"This import is {record.get_status_display().lower()}; it cannot run now.")


def import_queue(*, record: ImportRecord) -> ImportRecord:
    """Hand the import to the worker: it shows as importing from now on, and as
    stopped (ImportRecord.stalled) if no worker takes it up."""
    # Taken over as a new run (the one the worker gets): a run that stopped, or whose
    # worker is only slow, writes nothing more.
    _take_over(
        record, status=ImportRecord.Status.IMPORTING, allowed=lambda r: r.can_run, refused=lambda r: str(_cannot_run(r))
    )
    return record


def import_stopped(*, record: ImportRecord, run: int, error: Exception) -> ImportRecord:
    """The worker's import failed: whole batches only were written. Nothing is saved
    if the import is another run's by now."""
    message = f"The import stopped: {error}. Run it again to carry on where it stopped, or undo it."
    try:
        _fenced_save(record, run, status=ImportRecord.Status.FAILED, message=message)
    except RunLost:
        return _lost(record)
    record.status, record.message = ImportRecord.Status.FAILED, message
    return record


def import_validate_again(*, record: ImportRecord) -> int:
    """Start a validation that stopped again, as it was mapped; the new run's number
    (the one that stopped, if its worker is only slow, saves nothing more)."""
    return _take_over(
        record,
        status=ImportRecord.Status.VALIDATING,
        allowed=lambda r: r.can_validate_again,
        refused=lambda r: f"This import is {_status_of(r)}; its validation cannot start again now.",
        rows_validated=0,
    )


def import_cancel(*, record: ImportRecord, user=None) -> ImportRecord:
    """Drop an import that wrote nothing: waiting for its columns, validating (a worker
    still at it is fenced off), validated, or stopped before its first batch."""
    who = f" by {user}" if user is not None else ""
    _take_over(
        record,
        status=ImportRecord.Status.CANCELLED,
        allowed=lambda r: r.can_cancel,
        refused=lambda r: (
            f"This import is {_status_of(r)}; it cannot be cancelled now"
            + (" (undo it instead)." if r.can_undo else ".")
        ),
        message=f"Cancelled{who}, {timezone.localtime():%Y-%m-%d %H:%M}.",
    )
    return record


# --- Undo ------------------------------------------------------------------------


@dataclass
class UndoResult:
    removed: int
    kept: dict[str, int]


def import_undo(*, record: ImportRecord) -> UndoResult:
    """Delete the leads this import created that have not been dialled yet. Leads it
    updated are not changed back."""
    # Taken over first: a run still writing (its worker only slow) writes nothing more,
    # and a batch it has in flight rolls back.
    run = _take_over(
        record,
        status=ImportRecord.Status.UNDOING,
        allowed=lambda r: r.can_undo,
        refused=lambda r: f"This import is {_status_of(r)}; there is nothing to undo now.",
    )
    try:
        return _undo(record, run)
    except RunLost:  # a second undo took over (this one was thought dead)
        _lost(record)
        raise ImportProblem("Another undo of this import took it over.") from None


def _undo(record: ImportRecord, run: int) -> UndoResult:
    created = Lead.objects.filter(import_record=record)
    untouched = Q(status=LeadStatus.CREATED, attempts=0, last_attempt_at__isnull=True)
    kept = {
        "already dialled or in a call": created.exclude(untouched).exclude(status=LeadStatus.BLACKLISTED).count(),
        "on the do-not-call list": created.filter(status=LeadStatus.BLACKLISTED).count(),
    }
    removed = 0
    while True:
        with transaction.atomic():
            # Locked, and still untouched once locked: the dialer (which skips locked
            # leads) cannot claim one whose numbers are being deleted.
            ids = list(
                created.filter(untouched)
                .select_for_update()
                .values_list("pk", flat=True)[: settings.LEADS_IMPORT_BATCH_ROWS]
            )
            if not ids:
                break
            Contact.objects.filter(lead_id__in=ids).delete()
            StatusChange.objects.filter(lead_id__in=ids).delete()
            _, deleted = Lead.objects.filter(pk__in=ids, status=LeadStatus.CREATED).delete()
            count = deleted.get(Lead._meta.label, 0)
            removed += count
            # Counted across undos (one that stopped half-way, then the next).
            _fenced_save(record, run, leads_removed=F("leads_removed") + count, progress_at=timezone.now())
    record.status = ImportRecord.Status.UNDONE
    kept = {reason: count for reason, count in kept.items() if count}
    record.message = "Kept: " + ", ".join(f"{count} {reason}" for reason, count in kept.items()) + "." if kept else ""
    _fenced_save(record, run, status=record.status, message=record.message)
    record.refresh_from_db(fields=["leads_removed"])
    return UndoResult(removed=removed, kept=kept)


# --- Sample file -------------------------------------------------------------------


def sample_rows(campaign: Campaign) -> list[list[str]]:
    """The header a file for this campaign has, and one example row, neutralised as an
    export's cells are (a default such as =HYPERLINK(…) is text, not a formula)."""
    variables = list(campaign.assistant.variables.all())
    targets = [PRIMARY, *[Target.variable(v.name) for v in variables], Target.phone(1), Target.timezone()]
    example = [
        "+14155550123",
        *[v.default_value or f"example {v.name}" for v in variables],
        "+12125550123",
        campaign.effective_timezone(),
    ]
    return [
        [neutralise(target.header) for target in targets],
        [neutralise(value, phone=phone) for value, phone in zip(example, phone_columns(targets))],
    ]
