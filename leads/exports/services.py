"""An export record's life: created for a list, written (streamed in the request, or by
the task worker for a large XLSX), then done, failed or aborted; given up or written
again from its page. The file itself is leads.exports.writing's."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator

from django.contrib.admin.views.main import ERROR_FLAG, IGNORED_PARAMS, PAGE_VAR, SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from leads.models import ExportRecord, Lead
from leads.selectors import lead_list

from .writing import ExportTooLarge, export_header, export_rows, xlsx_write


def export_create(
    *,
    user,
    file_format: str,
    filters: str,
    ordering: list[str],
    columns: list[str],
    file_name: str,
    rows_expected: int = 0,
) -> ExportRecord:
    """The record of an export about to be written: who asked, for which list
    (``filters``: the list's address; ``ordering``: the order it showed), which
    columns, under which name."""
    return ExportRecord.objects.create(
        created_by=user,
        file_format=file_format,
        filters=filters,
        ordering=ordering,
        columns=columns,
        file_name=file_name,
        rows_expected=rows_expected,
        progress_at=timezone.now(),
    )


def export_leads_of(record: ExportRecord) -> QuerySet[Lead]:
    """The rows the record's list showed, as the person who asked for it may see them
    now: for work done after the request (the task worker)."""
    user = record.created_by
    if user is None:
        raise PermissionDenied("The person who asked for this export no longer exists.")
    if not user.has_perm("leads.export_lead"):
        raise PermissionDenied("The person who asked for this export may no longer export leads.")
    query = QueryDict(record.filters, mutable=True)
    search = query.get(SEARCH_VAR, "")
    # The record keeps the list's address: the admin's own parameters (search, order,
    # page, ...) are not filters, anything else must be one.
    for name in (*IGNORED_PARAMS, PAGE_VAR, ERROR_FLAG):
        query.pop(name, None)
    return lead_list(filters=query, search=search, ordering=record.ordering)


def export_xlsx_run(*, record: ExportRecord, leads: QuerySet[Lead]) -> None:
    """Write an XLSX export the export page queued (the task worker runs this): the
    record's columns, progress as it goes, then the file on the record. A run whose
    record was ended meanwhile (given up, retried as another) writes nothing more."""

    def progress(written: int) -> None:
        if not _writing(record).update(rows_written=written, progress_at=timezone.now()):
            raise ExportEnded("This export was ended while it was being written.")

    try:
        header = export_header(leads, record.columns)
        if not _writing(record).update(columns=header, progress_at=timezone.now()):
            return
        with tempfile.TemporaryFile() as handle:
            written = xlsx_write(export_rows(leads, header), handle, progress=progress)
            handle.seek(0)
            record.file.save(record.file_name, File(handle), save=False)
    except ExportTooLarge as problem:
        export_failed(record=record, message=str(problem))
        return
    except ExportEnded:
        return
    if not _writing(record).update(
        status=ExportRecord.Status.DONE,
        rows=written,
        rows_written=written,
        progress_at=timezone.now(),
        file=record.file.name,
    ):
        record.file.delete(save=False)  # ended meanwhile: its file belongs to nobody


class ExportEnded(Exception):
    """The record was ended by someone else while its writer was still at it."""


def _writing(record: ExportRecord) -> QuerySet[ExportRecord]:
    # Every ending is written only over a record still being written: the first
    # ending stays, and a writer that comes back after it changes nothing.
    return ExportRecord.objects.filter(pk=record.pk, status=ExportRecord.Status.WRITING)


def export_done(*, record: ExportRecord, rows: int) -> None:
    _writing(record).update(status=ExportRecord.Status.DONE, rows=rows, rows_written=rows, progress_at=timezone.now())


def export_failed(*, record: ExportRecord, message: str) -> None:
    _writing(record).update(status=ExportRecord.Status.FAILED, message=message[:2000], progress_at=timezone.now())


def export_aborted(*, record: ExportRecord, message: str) -> None:
    _writing(record).update(status=ExportRecord.Status.ABORTED, message=message[:2000], progress_at=timezone.now())


def export_give_up(*, record: ExportRecord, user) -> None:
    """End a record its writer left being written (a killed worker, a request that
    died): failed, saying who gave up on it."""
    since = timezone.localtime(record.progress_at or record.created_at)
    export_failed(
        record=record,
        message=f"Given up by {user} after no progress since {since:%Y-%m-%d %H:%M}: its writer had stopped.",
    )


def export_again(*, record: ExportRecord, user) -> ExportRecord:
    """A new record for the same list and columns, written anew by the task worker
    (the caller queues it); the old one, if still being written, ends failed."""
    again = export_create(
        user=user,
        file_format=record.file_format,
        filters=record.filters,
        ordering=record.ordering,
        columns=record.columns,
        file_name=record.file_name,
        rows_expected=record.rows_expected,
    )
    export_failed(record=record, message=f"Written again as export {again.pk}.")
    return again


class Recorded:
    """An export's bytes on their way to the reader, ending its record with how they
    went: failed with the reason when writing them raises; once the reader is done
    with them (Django closes a streaming response when its request ends, however it
    ends; the command when it has written its file), done if every byte was handed
    on, else aborted. ``chunks_for`` makes the bytes, given the function that is told
    the number of leads at their end."""

    def __init__(self, chunks_for: Callable[[Callable[[int], object]], Iterator[bytes]], *, record: ExportRecord):
        self.record = record
        self.rows: list[int] = []
        self.chunks = chunks_for(self.rows.append)
        self.sent = 0
        self.finished = self.over = False

    def __iter__(self) -> Iterator[bytes]:
        # No progress is noted on the way: on PostgreSQL the connection is busy with
        # the COPY until its end (ExportRecord.stalled allows for that).
        try:
            for chunk in self.chunks:
                yield chunk
                self.sent += len(chunk)
        except Exception as error:
            self.fail(error)
            raise
        self.finished = True

    def fail(self, error: BaseException) -> None:
        """The export could not be written: its record says why."""
        if not self.over:
            self.over = True
            self.chunks.close()
            export_failed(record=self.record, message=f"The export stopped: {error}")

    def close(self, reason: str = "the reader closed it") -> None:
        """The reader is done with it: done if it had every byte, else stopped."""
        if self.over:
            return
        self.over = True
        if self.finished:
            export_done(record=self.record, rows=self.rows[0] if self.rows else 0)
            return
        self.chunks.close()  # unwinds the database's side first (a COPY, its transaction)
        export_aborted(
            record=self.record, message=f"The download stopped before its end ({reason}) after {self.sent:,} bytes."
        )
