"""Leads, their phone numbers (contacts), their calls, the audit trail of status
changes and the do-not-call list.

Nobody assigns ``status`` here or anywhere else but ``leads.transitions``: the fields
are not editable in forms, and every change there writes its audit row.
"""

import datetime
import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.validators import validate_timezone

# The statuses from which the dialer takes a lead once it is due.
DIALABLE_LEAD_STATUSES = ("created", "scheduled", "rescheduled")

# E.164: a + and up to 15 digits, the first not 0. The shortest real numbers have 7.
E164_REGEX = r"^\+[1-9][0-9]{6,14}$"
MAX_SECONDARY_NUMBERS = 10


class LeadStatus(models.TextChoices):
    CREATED = "created", "Created"
    SCHEDULED = "scheduled", "Scheduled"
    PROCESSING = "processing", "Processing"
    RESCHEDULED = "rescheduled", "Rescheduled"
    REACHED_MAX_RETRIES = "reached-max-retries", "Max retries"
    COMPLETED = "completed", "Completed"
    BLACKLISTED = "blacklisted", "Do not call"


class ContactStatus(models.TextChoices):
    CREATED = "created", "Created"
    PROCESSING = "processing", "Processing"
    RESCHEDULED = "rescheduled", "Rescheduled"
    REACHED_MAX_RETRIES = "reached-max-retries", "No attempts left"
    COMPLETED = "completed", "Completed"
    BLACKLISTED = "blacklisted", "Do not call"


class Lead(models.Model):
    # Indexed by lead_campaign_status_created, which starts with it. Every index on
    # this table is paid for by every status change of every lead: keep them few.
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="leads", db_index=False)
    status = models.CharField(max_length=24, choices=LeadStatus.choices, default=LeadStatus.CREATED, editable=False)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="IANA name for this lead's calling hours; empty means the campaign's.",
    )
    # Queue fields: kept by the transitions, read by the dialer and the list.
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The sum of the contacts' attempts, kept here so the list can show and sort it.
    attempts = models.PositiveIntegerField(default=0, editable=False)
    last_outcome = models.CharField(max_length=24, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Where the next dial starts looking for a number with attempts left: the next
    # number of a cascade round, the number a dial error retries; empty means the
    # first (exhaust, a new round).
    next_position = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    # Dial errors in a row (calls that never reached the provider), for the backoff.
    # A database default too: the import writes leads with COPY, naming its columns.
    dial_errors = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
    # The import that created the lead, for Undo. Not indexed (every index here is
    # paid on every status change; an undo may scan) and not checked by the database
    # (one check per lead at every import's commit); the ORM nulls it on delete.
    import_record = models.ForeignKey(
        "ImportRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # ids grow with created_at, and the narrower id makes the indexes smaller:
        # "newest first" is "highest id first" (created_at ranges use a BRIN index,
        # migration 0002, on PostgreSQL).
        ordering = ["-id"]
        indexes = [
            # The list's default order under its usual filters, and its sorts.
            models.Index(fields=["status", "id"], name="lead_status"),
            models.Index(fields=["campaign", "status", "id"], name="lead_campaign_status"),
            models.Index(fields=["next_attempt_at", "id"], name="lead_next_attempt"),
            # The dialer's queue: a campaign's dialable leads, oldest due first (Created
            # leads have no next attempt: their creation time counts). A claim reads
            # the head of it, whatever the size of the table.
            models.Index(
                "campaign",
                Coalesce("next_attempt_at", "created_at"),
                "id",
                condition=Q(status__in=DIALABLE_LEAD_STATUSES),
                name="lead_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in LeadStatus]), name="lead_status_valid"),
        ]
        permissions = [("export_lead", "Can export leads")]

    def __str__(self) -> str:
        return f"Lead {self.pk}"


class Contact(models.Model):
    """One phone number of a lead. Position 0 is the primary; 1..10 the secondaries,
    dialled in that order. The primary's ``variables`` are the lead's variables."""

    # Indexed by the (lead, position) and (lead, phone) unique constraints.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    # A copy of lead.campaign, so "a primary number is unique within its campaign" is a
    # database constraint. Only leads.services, leads.transitions and the import write
    # it, always together with the lead's campaign. No foreign-key check of its own:
    # lead.campaign's already guarantees the campaign, and a second would be run once
    # per number on every insert (millions in an import).
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="+", editable=False, db_constraint=False
    )
    position = models.PositiveSmallIntegerField()
    phone = models.CharField(max_length=16)
    status = models.CharField(
        max_length=24, choices=ContactStatus.choices, default=ContactStatus.CREATED, editable=False
    )
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    last_outcome = models.CharField(max_length=24, blank=True, editable=False)
    variables = models.JSONField(default=dict, blank=True)

    class Meta:
        # lead_id, not lead: "lead" would sort by the Lead's own ordering through a join.
        ordering = ["lead_id", "position"]
        indexes = [
            models.Index(fields=["phone"], name="contact_phone"),
            # Do-not-call numbers are few; bulk actions find the leads that have one.
            models.Index(fields=["lead"], condition=Q(status="blacklisted"), name="contact_do_not_call"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lead", "position"], name="contact_position_unique_per_lead"),
            models.UniqueConstraint(fields=["lead", "phone"], name="contact_phone_unique_per_lead"),
            models.UniqueConstraint(
                fields=["campaign", "phone"],
                condition=Q(position=0),
                name="primary_phone_unique_per_campaign",
            ),
            models.CheckConstraint(
                condition=Q(position__gte=0, position__lte=MAX_SECONDARY_NUMBERS), name="contact_position_range"
            ),
            models.CheckConstraint(condition=Q(phone__regex=E164_REGEX), name="contact_phone_e164"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ContactStatus]), name="contact_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.phone


class StatusChange(models.Model):
    """The audit trail: one row per lead per status change, automatic or manual."""

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        DIALER = "dialer", "Dialer"
        WEBHOOK = "webhook", "Outcome webhook"
        IMPORT = "import", "Import"
        SYSTEM = "system", "System"

    # Indexed by statuschange_lead, which starts with it. No database constraint:
    # rows are only written by leads.transitions with an INSERT … SELECT from the
    # leads table itself, under lock, so the check could never fail, yet PostgreSQL
    # would run it for each of the 100,000 rows of a bulk action at COMMIT.
    # Deleting a lead still deletes its history (on_delete, through the ORM).
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="status_changes", db_index=False, db_constraint=False
    )
    # Every row written by one action shares its operation: "this Reset moved these".
    operation = models.UUIDField(default=uuid.uuid4, db_index=True)
    from_status = models.CharField(max_length=24, choices=LeadStatus.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=LeadStatus.choices)
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Source.choices)
    # Not indexed: a bulk action writes a row per lead, and nobody looks leads up by
    # the person who moved them often enough to pay for that on every write.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["lead", "changed_at"], name="statuschange_lead")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_status or '∅'} → {self.to_status}"


class DoNotCallNumber(models.Model):
    """A number that is never dialled, in any campaign."""

    phone = models.CharField(max_length=16, unique=True)
    reason = models.CharField(max_length=300, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "do-not-call number"
        constraints = [models.CheckConstraint(condition=Q(phone__regex=E164_REGEX), name="dnc_phone_e164")]

    def __str__(self) -> str:
        return self.phone


class CallOutcome(models.TextChoices):
    COMPLETED = "completed", "Completed (a conversation)"
    VOICEMAIL = "voicemail", "Voicemail"
    NO_ANSWER = "no-answer", "No answer"
    BUSY = "busy", "Busy"
    FAILED = "failed", "Failed (carrier or network)"
    INVALID_NUMBER = "invalid-number", "Invalid number"
    LOST = "lost", "Lost (no outcome in time)"
    DIAL_ERROR = "dial-error", "Dial error (never reached the provider)"


# What a dialer backend or the outcome webhook may report; lost and dial-error are ours.
REPORTED_OUTCOMES = ("completed", "voicemail", "no-answer", "busy", "failed", "invalid-number")


class Call(models.Model):
    """One attempt to reach one number of a lead: open (in flight) until its outcome
    arrives, it times out (lost) or it never reached the provider (dial-error)."""

    # The call id the provider reports back on (/hooks/calls/<id>/): not guessable.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by call_lead, which starts with it.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="calls", db_index=False)
    # Indexed by call_campaign and call_open, which start with it.
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="calls", db_index=False)
    # The number as dialled: a lead's numbers may be edited or reordered later.
    phone = models.CharField(max_length=16)
    position = models.PositiveSmallIntegerField()
    # This number's attempt count with this call (1 = its first).
    attempt = models.PositiveSmallIntegerField()
    backend = models.CharField(max_length=32)
    provider_call_id = models.CharField(max_length=200, blank=True)
    placed_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=24, choices=CallOutcome.choices, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    goal_achieved = models.BooleanField(null=True, blank=True)
    extracted_variables = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    recording_url = models.URLField(max_length=2000, blank=True)
    # What the AI received: assistant defaults < lead values < this number's values.
    variables = models.JSONField(default=dict, blank=True)
    # The backend's own notes (the simulated backend's planned result, a dial error).
    backend_data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        indexes = [
            models.Index(fields=["-placed_at"], name="call_placed"),  # the calls list's order
            models.Index(fields=["lead", "-placed_at"], name="call_lead"),
            models.Index(fields=["campaign", "-placed_at"], name="call_campaign"),
            # Calls in flight are few: counted per campaign before each claim, and
            # scanned for timeouts.
            models.Index(fields=["campaign", "placed_at"], condition=Q(ended_at__isnull=True), name="call_open"),
        ]
        constraints = [
            # The dialer's promise, kept by the database: never two calls at once to a lead.
            models.UniqueConstraint(fields=["lead"], condition=Q(ended_at__isnull=True), name="call_one_open_per_lead"),
            models.CheckConstraint(condition=Q(outcome__in=["", *CallOutcome.values]), name="call_outcome_valid"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True, outcome="") | Q(ended_at__isnull=False) & ~Q(outcome=""),
                name="call_closed_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone} at {self.placed_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class CallReport(models.Model):
    """Every outcome reported for a call, applied or not: a repeat, or a late outcome
    of a call already closed, is kept here and moves nothing."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="reports")
    # The Standard Webhooks message id, whole (an over-long one is refused before it
    # gets here: leads.calls.MAX_WEBHOOK_ID_LENGTH), shown on the call's page.
    # NULL, not "": a report the dialer made itself has no message id at all.
    webhook_id = models.CharField(max_length=1000, null=True, blank=True)  # noqa: DJ001
    # The same message is applied once only: keyed by the SHA-256 of the whole id (hex),
    # so two ids that share a long prefix stay two, and the unique index has a fixed
    # width whatever the id's length.
    webhook_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    received_at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    applied = models.BooleanField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.payload.get('outcome', '?')} for {self.call_id}"


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
