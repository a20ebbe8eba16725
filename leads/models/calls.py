"""A call placed to one of a lead's numbers, and every outcome reported for it."""

import uuid

from django.db import models
from django.db.models import Q, Value

from campaigns.models import Campaign

from .leads import MAX_DISPOSITION, Lead


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
    # What the call learnt (results-and-compliance.md §1). Database defaults too, so
    # that a writer naming only the older columns (a bench's COPY, a raw INSERT) works.
    # The conversation, in order: {"role": "agent" | "callee", "text": …, "at": seconds or null}.
    transcript = models.JSONField(default=list, blank=True, db_default=Value([], output_field=models.JSONField()))
    disposition = models.CharField(max_length=MAX_DISPOSITION, blank=True, db_default="")
    opt_out = models.BooleanField(default=False, db_default=False)
    # The callback the callee asked for, as an instant, and what became of it.
    callback_at = models.DateTimeField(null=True, blank=True)
    callback_note = models.CharField(max_length=300, blank=True, db_default="")
    # What the AI received: assistant defaults < lead values < this number's values.
    variables = models.JSONField(default=dict, blank=True)
    # The backend's own notes (the simulated backend's planned result, a dial error).
    backend_data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        indexes = [
            models.Index(fields=["-placed_at"], name="call_placed"),  # the calls list's order
            models.Index(fields=["lead", "-placed_at"], name="call_lead"),
            # A number's calls over every campaign, newest first: the calling rules'
            # caps (calls to one number in any rolling 24 hours / 7 days) read them.
            models.Index(fields=["phone", "-placed_at"], name="call_phone"),
            models.Index(fields=["campaign", "-placed_at"], name="call_campaign"),
            # Calls in flight are few: counted per campaign before each claim, and
            # scanned for timeouts.
            models.Index(fields=["campaign", "placed_at"], condition=Q(ended_at__isnull=True), name="call_open"),
            # The goals a campaign achieved since it began (its page, the campaigns list):
            # counted here instead of over every call it made. Only conversations that
            # reached the goal have an entry, written once, when their outcome arrives.
            models.Index(fields=["campaign"], condition=Q(outcome="completed", goal_achieved=True), name="call_goal"),
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


class CallReport(models.Model):
    """Every outcome reported for a call, applied or not: a repeat, or a late outcome
    of a call already closed, is kept here and moves nothing."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="reports")
    # The Standard Webhooks message id, whole (an over-long one is refused before it
    # gets here: leads.dialer.outcomes.MAX_WEBHOOK_ID_LENGTH), shown on the call's page.
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
