"""An uploaded file on its way to becoming leads, its written batches, and the column
mappings kept for the next file with the same headers."""

import datetime
import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from campaigns.models import Campaign


def import_upload_path(record: "ImportRecord", filename: str) -> str:
    return f"imports/{record.created_at:%Y/%m}/{uuid.uuid4().hex}/{filename}"


class ImportRecord(models.Model):
    """One lead file brought in: who, when, what, with which options, and how it went."""

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for its columns"
        VALIDATING = "validating", "Validating"
        READY = "ready", "Validated, ready to import"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        UNDOING = "undoing", "Undoing"
        UNDONE = "undone", "Undone"
        CANCELLED = "cancelled", "Cancelled"

    class NumberFormat(models.TextChoices):
        INTERNATIONAL = "international", "International (+country code)"
        NATIONAL = "national", "National, in one country"

    class OnDuplicate(models.TextChoices):
        SKIP = "skip", "Skip leads the campaign has already"
        UPDATE = "update", "Update leads the campaign has already"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(upload_to=import_upload_path, max_length=300)
    file_name = models.CharField(max_length=255)
    number_format = models.CharField(max_length=16, choices=NumberFormat.choices, default=NumberFormat.INTERNATIONAL)
    country = models.CharField(max_length=2, blank=True, help_text="For national numbers.")
    on_duplicate = models.CharField(max_length=8, choices=OnDuplicate.choices, default=OnDuplicate.SKIP)
    header = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=list, blank=True, help_text="One target per column of the file.")
    dry_run = models.BooleanField(default=False)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.MAPPING)
    # The fence of the import's work: validating, running, undoing or cancelling takes
    # the next number (the row locked), and a worker still holding an older one (slow,
    # not dead) writes nothing more: its batches roll back, its status is not saved.
    run = models.PositiveIntegerField(default=0, help_text="Which start of its work holds the import now.")
    message = models.TextField(blank=True, help_text="Why the import failed, or what undo could not remove.")
    rows_expected = models.PositiveIntegerField(default=0, help_text="Rows counted on upload, for the progress bar.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_new = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # Progress: rows read while validating; rows written while importing.
    rows_validated = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    progress_at = models.DateTimeField(null=True, blank=True, help_text="When the work last moved on.")
    validation_seconds = models.FloatField(null=True, blank=True)
    import_seconds = models.FloatField(null=True, blank=True)
    error_report = models.FileField(upload_to=import_upload_path, max_length=300, blank=True)
    valid_rows = models.FileField(upload_to=import_upload_path, max_length=300, blank=True)
    leads_removed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "import"

    def __str__(self) -> str:
        return f"{self.file_name} → {self.campaign}"

    # Seconds without progress before an import counts as stopped: its page then offers
    # to start its work again or drop it. Every batch (of validation, writing or undo)
    # moves progress on; a worker that is only slow is fenced off by the takeover (run).
    STALLED_AFTER = 120

    @property
    def working(self) -> bool:
        """Validating, importing or undoing, by its status (its worker may have died: stalled)."""
        return self.status in (self.Status.VALIDATING, self.Status.IMPORTING, self.Status.UNDOING)

    @property
    def stalled(self) -> bool:
        """Working, by its status, but its worker has made no progress for a while."""
        if not self.working or self.progress_at is None:
            return False
        return timezone.now() - self.progress_at > datetime.timedelta(seconds=self.STALLED_AFTER)

    @property
    def stopped_half_way(self) -> bool:
        """The import began and did not finish: it failed, or its worker died."""
        return self.status == self.Status.FAILED or (self.status == self.Status.IMPORTING and self.stalled)

    @property
    def can_map(self) -> bool:
        """Its columns may be matched (again): it waits for them, or its validation stopped."""
        return self.status == self.Status.MAPPING or (self.status == self.Status.VALIDATING and self.stalled)

    @property
    def can_validate_again(self) -> bool:
        """Its validation stopped (the worker died): it may start again, as it was mapped."""
        return self.status == self.Status.VALIDATING and self.stalled

    @property
    def can_run(self) -> bool:
        """Someone may start the import now: validated and not written yet, or
        stopped half-way (running again writes the batches missing)."""
        if self.dry_run or not self.valid_rows:
            return False
        return self.status == self.Status.READY or self.stopped_half_way

    @property
    def can_undo(self) -> bool:
        """Done, or stopped half-way after writing something, or an undo that stopped."""
        if self.status == self.Status.UNDOING:
            return self.stalled
        return self.status == self.Status.DONE or (self.stopped_half_way and self.batches.exists())

    @property
    def can_cancel(self) -> bool:
        """Nothing written and not finished: the import may be dropped (a validation
        still going is fenced off; an import that wrote batches is undone instead)."""
        if self.status == self.Status.READY:
            return not self.dry_run  # a dry run validated is finished: it is its report
        if self.status in (self.Status.MAPPING, self.Status.VALIDATING):
            return True
        return self.stopped_half_way and bool(self.valid_rows) and not self.batches.exists()


class ImportBatch(models.Model):
    """A written batch of an import's valid rows, committed together with its rows: a
    run that stopped half-way is carried on by writing exactly the batches missing,
    and two runs never write the same one (the second waits for the first's mark)."""

    record = models.ForeignKey(ImportRecord, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "number"], name="import_batch_unique")]

    def __str__(self) -> str:
        return f"{self.record} batch {self.number}"


class SavedMapping(models.Model):
    """A column mapping kept for a campaign, offered again for a file with the same
    headers."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="saved_mappings")
    # The file's headers, normalised, joined with newlines.
    headers = models.TextField()
    # sha256 of headers: the key. The headers themselves can be longer than an index
    # entry may be (a B-tree row holds ~2,700 bytes on PostgreSQL: ~200 columns).
    headers_digest = models.CharField(max_length=64)
    mapping = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "headers_digest"], name="saved_mapping_unique")]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.headers.replace(chr(10), ', ')[:80]}"

    @staticmethod
    def digest(headers: str) -> str:
        return hashlib.sha256(headers.encode("utf-8")).hexdigest()
