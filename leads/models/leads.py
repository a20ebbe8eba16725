"""Leads, their phone numbers (contacts), the audit trail of their status changes and
the do-not-call list.

Nobody assigns ``status`` here or anywhere else but ``leads.transitions``: the fields
are not editable in forms, and every change there writes its audit row.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, Consent
from campaigns.validators import validate_timezone
from leads.naming import lead_label

# The statuses from which the dialer takes a lead once it is due.
DIALABLE_LEAD_STATUSES = ("created", "scheduled", "rescheduled")

# E.164: a + and up to 15 digits, the first not 0. The shortest real numbers have 7.
E164_REGEX = r"^\+[1-9][0-9]{6,14}$"
MAX_SECONDARY_NUMBERS = 10
MAX_DISPOSITION = 64


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


class Waiting(models.TextChoices):
    WINDOW = "window", "Outside its calling window"
    CAP = "cap", "Over a call cap"


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
    # What its calls found out (results-and-compliance.md §2), kept by
    # leads.transitions.record_outcome. Results are never sent to the AI. Database
    # defaults: the import writes leads with COPY, naming only its own columns.
    # Every report's extracted variables, merged: the latest value of each name wins.
    results = models.JSONField(default=dict, db_default=Value({}, output_field=models.JSONField()), editable=False)
    # From its latest call that had a conversation (outcome "completed").
    conversation_call = models.ForeignKey(
        "Call",
        null=True,
        blank=True,
        # A lead's calls are deleted only with the lead itself (Call.lead cascades), so
        # nothing is left pointing at a deleted call; SET_NULL would make every lead
        # deletion look the leads table up by this unindexed column.
        on_delete=models.DO_NOTHING,
        related_name="+",
        editable=False,
        db_index=False,  # only ever followed from the lead, never looked up the other way
        db_constraint=False,
    )
    goal_achieved = models.BooleanField(null=True, blank=True, editable=False)
    disposition = models.CharField(max_length=MAX_DISPOSITION, blank=True, db_default="", editable=False)
    summary = models.TextField(blank=True, db_default="", editable=False)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True, editable=False)
    recording_url = models.CharField(max_length=2000, blank=True, db_default="", editable=False)
    # A callback the callee asked for, until its call is placed (the lead is then
    # Rescheduled to it); and how many callbacks were honoured, for max_callbacks.
    callback_at = models.DateTimeField(null=True, blank=True, editable=False)
    callbacks = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
    # When the callee asked, on a call, not to be called again.
    opted_out_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Consent to be called (results-and-compliance.md §5): read and written by the
    # form, the import and the export; a campaign's requires_consent keeps leads
    # without enough of it out of every claim.
    consent = models.CharField(max_length=24, choices=Consent.choices, default=Consent.NONE, db_default=Consent.NONE)
    consent_at = models.DateTimeField("consent given at", null=True, blank=True)
    consent_source = models.CharField(
        max_length=2000, blank=True, db_default="", help_text="Where the consent was given: a text or a URL."
    )
    consent_certificate = models.URLField(
        max_length=2000, blank=True, db_default="", help_text="A consent certificate's URL (e.g. TrustedForm)."
    )
    # Why a due lead is not dialled yet (results-and-compliance.md §4): a claim that
    # found its number outside the calling window, or over a cap, holds the lead until
    # next_attempt_at (the window's opening, the moment the cap frees) and says why
    # here. Kept by leads.transitions (hold; cleared by anything that moves the lead).
    waiting = models.CharField(
        max_length=8, choices=Waiting.choices, blank=True, db_default="", default="", editable=False
    )
    waiting_note = models.CharField(max_length=300, blank=True, db_default="", default="", editable=False)
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
            # Held leads are few beside the table: the campaign page counts them.
            models.Index(fields=["campaign", "waiting"], condition=~Q(waiting=""), name="lead_waiting"),
            # The list's consent filters (bench/changelist.py: 0.5-1.2 s at 1,000,000 leads
            # without them). Partial: a lead with no consent recorded, most of them,
            # costs neither index anything.
            models.Index(fields=["consent", "id"], condition=~Q(consent="none"), name="lead_consent"),
            models.Index(fields=["consent_at"], condition=Q(consent_at__isnull=False), name="lead_consent_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in LeadStatus]), name="lead_status_valid"),
            models.CheckConstraint(condition=Q(consent__in=Consent.values), name="lead_consent_valid"),
            models.CheckConstraint(condition=Q(waiting__in=["", *Waiting.values]), name="lead_waiting_valid"),
        ]
        permissions = [("export_lead", "Can export leads")]

    def __str__(self) -> str:
        # What names a lead on every page (lists, breadcrumbs, the admin's log): its
        # primary number and the person's name. Lists fetch the primary numbers of a
        # page in one query (leads.selectors.with_lead_names, the leads list's own
        # prefetch); anywhere else this is one query for the one lead.
        if self.pk is None:
            return "New lead"
        contacts = getattr(self, "primary_contacts", None)
        if contacts is None and "contacts" in getattr(self, "_prefetched_objects_cache", {}):
            contacts = [contact for contact in self.contacts.all() if contact.position == 0]
        if contacts is None:
            contacts = list(Contact.objects.filter(lead_id=self.pk, position=0).only("phone", "variables"))
        if not contacts:
            return f"Lead {self.pk}"
        return lead_label(contacts[0].phone, contacts[0].variables)


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
    # Attempts granted by honoured callbacks, on top of the campaign's budget: a
    # callback is an appointment, not a retry (results-and-compliance.md §2).
    callback_attempts = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
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

    class Source(models.TextChoices):
        ADMIN = "admin", "Added by a person"
        CALL = "call", "The callee opted out on a call"

    phone = models.CharField(max_length=16, unique=True)
    reason = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ADMIN, db_default="admin")
    # The call on which the callee opted out (source "call").
    call = models.ForeignKey(
        "Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
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
