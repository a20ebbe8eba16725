"""An export written in the background, and the file it leaves for download."""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def export_upload_path(record: "ExportRecord", filename: str) -> str:
    return f"exports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}/{filename}"


class ExportRecord(models.Model):
    """One download of leads: who, when, which list (its filters and search), how
    many rows, in which format. A CSV streams while it is written; an XLSX is written
    by the task worker into ``file``, with progress, then downloaded from its page."""

    class Status(models.TextChoices):
        WRITING = "writing", "Being written"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        # A streamed download whose reader stopped before its end (a closed tab, a
        # dropped connection, `| head`): nothing failed, but nobody has the whole file.
        ABORTED = "aborted", "Stopped before its end"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file_format = models.CharField(max_length=8)
    filters = models.TextField(blank=True, help_text="The list's filters and search, as in its address.")
    # The order the list showed (leads.selectors.lead_list's field names): its address
    # names columns by their place on the page, which only the admin can read.
    ordering = models.JSONField(default=list, blank=True)
    columns = models.JSONField(default=list)
    rows = models.PositiveIntegerField(null=True, blank=True, help_text="Empty until the download has finished.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WRITING)
    # For exports the worker writes (``columns`` says what): how far it got, the result.
    rows_expected = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    progress_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=export_upload_path, max_length=300, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "export"

    def __str__(self) -> str:
        return f"{self.file_format} export of {self.rows if self.rows is not None else '?'} leads"

    # Seconds without progress before a record being written counts as stopped. The
    # task worker notes progress every 5,000 rows of an XLSX (a second or two). A CSV
    # streams in the request that asked for it, which ends its record however it ends
    # (exports.Recorded) unless its process is killed, and notes nothing on the way:
    # an hour lets a slow link take a million leads (75 MB at 20 KB/s).
    STALLED_AFTER = 300
    STREAM_STALLED_AFTER = 3600

    @property
    def stalled(self) -> bool:
        """Being written, by its status, but its writer has made no progress for a
        while (a killed worker, a web process killed while it streamed)."""
        if self.status != self.Status.WRITING:
            return False
        since = self.progress_at or self.created_at
        limit = self.STALLED_AFTER if self.file_format == "xlsx" else self.STREAM_STALLED_AFTER
        return since is not None and timezone.now() - since > datetime.timedelta(seconds=limit)

    @property
    def can_retry(self) -> bool:
        """The task worker writes the export page's large XLSX files: one that failed,
        was stopped or stalled can be written again from its page. A CSV streams to
        whoever asked, and export_leads writes its own file (no one asked for it in
        the admin): those are asked for again where they were."""
        return (
            self.file_format == "xlsx"
            and self.created_by_id is not None
            and (self.status in (self.Status.FAILED, self.Status.ABORTED) or self.stalled)
        )
