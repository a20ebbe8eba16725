"""Assistants (the AI agent and its variable schema) and campaigns (one calling run
with its settings). The dialer that runs campaigns is leads.dialer.passes."""

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from .validators import (
    DAYS,
    validate_calling_code,
    validate_country,
    validate_days,
    validate_holidays,
    validate_region,
    validate_rule_days,
    validate_timezone,
    validate_variable_name,
)


class Assistant(models.Model):
    name = models.CharField(max_length=200, unique=True)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="IANA name (e.g. America/New_York). Campaigns without a time zone of "
        "their own use it; empty means the site's time zone.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Variable(models.Model):
    """One variable of an assistant's conversations. Values live in each contact's
    JSON, never in a row per value."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="variables")
    name = models.CharField(max_length=64, validators=[validate_variable_name])
    default_value = models.CharField(max_length=1000, blank=True)
    required = models.BooleanField(
        default=False,
        help_text="A lead must have a value for it, unless the default supplies one.",
    )
    description = models.CharField(max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on forms and in files.")

    class Meta:
        ordering = ["assistant", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assistant", "name"], name="variable_name_unique_per_assistant"),
        ]

    def __str__(self) -> str:
        return self.name


class Consent(models.TextChoices):
    """A lead's recorded consent to be called (results-and-compliance.md §5). Defined
    here, with the campaign setting that requires it; the lead carries the value."""

    NONE = "none", "None recorded"
    EXPRESS = "express", "Express"
    EXPRESS_WRITTEN = "express-written", "Express written"
    EXISTING_RELATIONSHIP = "existing-relationship", "Existing business relationship"


class RequiredConsent(models.TextChoices):
    NONE = "none", "None: call every lead"
    EXPRESS = "express", "Express (express written satisfies it)"
    EXPRESS_WRITTEN = "express-written", "Express written"


# The lead consents that satisfy each campaign requirement.
CONSENT_SATISFYING = {
    RequiredConsent.EXPRESS: (Consent.EXPRESS, Consent.EXPRESS_WRITTEN),
    RequiredConsent.EXPRESS_WRITTEN: (Consent.EXPRESS_WRITTEN,),
}


def all_days() -> list[str]:
    return list(DAYS)


# The retry interval's range, in minutes (10 minutes to 3 days), for every interval setting.
MIN_RETRY_INTERVAL, MAX_RETRY_INTERVAL = 10, 4320
MAX_CALLBACKS = 20
MAX_CALLBACK_HORIZON_DAYS = 365
OUTCOME_INTERVALS = (
    "retry_interval_busy",
    "retry_interval_no_answer",
    "retry_interval_voicemail",
    "retry_interval_failed",
    "retry_interval_goal_incomplete",
)


def _outcome_interval(label: str, when: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        f"retry interval after {label} (minutes)",
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_RETRY_INTERVAL), MaxValueValidator(MAX_RETRY_INTERVAL)],
        help_text=f"Wait before retrying the same number when {when}, in minutes "
        f"({MIN_RETRY_INTERVAL} to {MAX_RETRY_INTERVAL}); blank = the retry interval.",
    )


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_PROGRESS = "in-progress", "In progress"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"

    class SecondaryStrategy(models.TextChoices):
        EXHAUST = "exhaust", "Exhaust: use up one number before the next"
        CASCADE = "cascade", "Cascade: try every number once per round"

    name = models.CharField(max_length=200, unique=True)
    assistant = models.ForeignKey(Assistant, on_delete=models.PROTECT, related_name="campaigns")
    # Status moves only through campaigns.services (start, pause, complete).
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, editable=False)
    status_reason = models.CharField(
        max_length=300, blank=True, editable=False, help_text="Why the campaign was last paused or completed."
    )
    # Dials in a row that never reached the provider; at DIAL_ERRORS_TO_PAUSE the
    # dialer pauses the campaign. A placed call or a resume starts the count again.
    dial_errors_in_row = models.PositiveIntegerField(default=0, editable=False)

    max_calls_in_parallel = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="At most this many calls of this campaign at once (1 to 1000).",
    )
    allowed_hours_start = models.TimeField(
        default=datetime.time(0, 0), help_text="Earliest time to call, in the lead's local time."
    )
    allowed_hours_end = models.TimeField(
        default=datetime.time(23, 59), help_text="Latest time to start a call, in the lead's local time."
    )
    allowed_days = models.JSONField(
        default=all_days,
        validators=[validate_days],
        help_text="Days of the week, in the lead's local time, on which calls may start.",
    )
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="IANA name for leads without a time zone of their own; empty means the assistant's, else the site's.",
    )
    default_country = models.CharField(
        max_length=2,
        blank=True,
        validators=[validate_country],
        help_text="Two-letter country (e.g. US) used to read numbers typed without +. "
        "Empty: numbers must be international.",
    )
    max_retries = models.PositiveSmallIntegerField(
        default=3,
        validators=[MaxValueValidator(10)],
        help_text="Retries per number after its first attempt: each number gets 1 + max retries attempts (0 to 10).",
    )
    retry_interval = models.PositiveIntegerField(
        "retry interval (minutes)",
        default=60,
        validators=[MinValueValidator(MIN_RETRY_INTERVAL), MaxValueValidator(MAX_RETRY_INTERVAL)],
        help_text="Wait before retrying the same number, in minutes (10 to 4320, i.e. 3 days); "
        "the per-outcome intervals below override it.",
    )
    retry_on_voicemail = models.BooleanField(
        default=False,
        help_text="On: reaching voicemail counts as unsuccessful and is retried. Off: it completes the lead.",
    )
    retry_on_goal_incomplete = models.BooleanField(
        default=False,
        help_text="On: an answered call whose goal was not achieved is retried. Needs the goal completion variable.",
    )
    goal_completion_variable = models.CharField(
        max_length=64,
        blank=True,
        help_text="Name of the true/false value the AI extracts after a call to say the goal was achieved.",
    )
    secondary_strategy = models.CharField(
        max_length=10,
        choices=SecondaryStrategy.choices,
        default=SecondaryStrategy.EXHAUST,
        help_text="Exhaust: retry a number until its attempts run out, then the next one at once. "
        "Cascade: after a failed attempt try the next number at once; after the last, wait the retry interval.",
    )
    mark_complete_when_no_leads = models.BooleanField(
        default=True, help_text="Complete the campaign by itself when no lead is left to dial."
    )
    call_timeout = models.PositiveIntegerField(
        "call timeout (minutes)",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text="A call with no outcome after this many minutes is closed as lost (an unsuccessful attempt).",
    )

    # Callbacks (results-and-compliance.md §2): an appointment the callee asked for.
    # Database defaults too: rows written before these settings existed get them.
    max_callbacks = models.PositiveSmallIntegerField(
        default=3,
        db_default=3,
        validators=[MaxValueValidator(MAX_CALLBACKS)],
        help_text="Callbacks a callee may ask for per lead and be called back at the time they named "
        f"(0 to {MAX_CALLBACKS}; 0 = callbacks are not honoured and the call's ordinary retry applies).",
    )
    callback_horizon_days = models.PositiveSmallIntegerField(
        default=30,
        db_default=30,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CALLBACK_HORIZON_DAYS)],
        help_text="A callback asked for further ahead than this many days is not honoured "
        f"(1 to {MAX_CALLBACK_HORIZON_DAYS}).",
    )
    # Per outcome, the wait before the same number is retried; blank = retry_interval.
    retry_interval_busy = _outcome_interval("busy", "the line was busy")
    retry_interval_no_answer = _outcome_interval("no answer", "nobody answered (or the call was lost)")
    retry_interval_voicemail = _outcome_interval("voicemail", "voicemail answered (with retry on voicemail)")
    retry_interval_failed = _outcome_interval("failed", "the carrier or network failed the call")
    retry_interval_goal_incomplete = _outcome_interval(
        "goal incomplete", "the conversation did not achieve the goal (with retry on goal incomplete)"
    )

    requires_consent = models.CharField(
        max_length=16,
        choices=RequiredConsent.choices,
        default=RequiredConsent.NONE,
        db_default=RequiredConsent.NONE,
        help_text="Leads without this consent recorded are never dialled (the campaign page counts them). "
        "Express written satisfies express.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(requires_consent__in=["none", "express", "express-written"]),
                name="campaign_requires_consent_valid",
            ),
            models.CheckConstraint(
                condition=Q(max_calls_in_parallel__gte=1, max_calls_in_parallel__lte=1000),
                name="campaign_parallel_calls_range",
            ),
            models.CheckConstraint(condition=Q(max_retries__lte=10), name="campaign_max_retries_range"),
            models.CheckConstraint(
                condition=Q(retry_interval__gte=MIN_RETRY_INTERVAL, retry_interval__lte=MAX_RETRY_INTERVAL),
                name="campaign_retry_interval_range",
            ),
            models.CheckConstraint(
                condition=Q(call_timeout__gte=1, call_timeout__lte=1440), name="campaign_call_timeout_range"
            ),
            models.CheckConstraint(
                condition=Q(allowed_hours_start__lte=models.F("allowed_hours_end")),
                name="campaign_hours_start_before_end",
            ),
            models.CheckConstraint(
                condition=Q(retry_on_goal_incomplete=False) | ~Q(goal_completion_variable=""),
                name="campaign_goal_retry_needs_variable",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "in-progress", "paused", "completed"]), name="campaign_status_valid"
            ),
            models.CheckConstraint(condition=Q(max_callbacks__lte=MAX_CALLBACKS), name="campaign_max_callbacks_range"),
            models.CheckConstraint(
                condition=Q(callback_horizon_days__gte=1, callback_horizon_days__lte=MAX_CALLBACK_HORIZON_DAYS),
                name="campaign_callback_horizon_range",
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True})
                    | Q(**{f"{name}__gte": MIN_RETRY_INTERVAL, f"{name}__lte": MAX_RETRY_INTERVAL}),
                    name=f"campaign_{name}_range",
                )
                for name in OUTCOME_INTERVALS
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = {}
        if self.allowed_hours_start and self.allowed_hours_end and self.allowed_hours_start > self.allowed_hours_end:
            errors["allowed_hours_end"] = "The end of the calling hours must not be before their start."
        if self.retry_on_goal_incomplete and not self.goal_completion_variable:
            errors["goal_completion_variable"] = "Retrying on an incomplete goal needs the name of the goal variable."
        if errors:
            raise ValidationError(errors)

    @property
    def attempts_per_number(self) -> int:
        return 1 + self.max_retries

    def satisfying_consents(self) -> tuple[str, ...] | None:
        """The lead consents this campaign accepts; None when it requires none."""
        return CONSENT_SATISFYING.get(self.requires_consent)

    def effective_timezone(self) -> str:
        """The zone for leads without their own: the campaign's, the assistant's, the site's."""
        return self.timezone or self.assistant.timezone or settings.TIME_ZONE


class CallingRule(models.Model):
    """A rule of a region on when and how often a number may be called
    (results-and-compliance.md §4): for a country calling code, optionally narrowed to a
    US state or Canadian province (read from the NANP area code). Every enabled rule
    that matches a number applies: the effective window is the campaign's intersected
    with all of them; the tightest cap wins. Caps count calls to the number over every
    campaign."""

    name = models.CharField(max_length=200, help_text='What this rule is, e.g. "US federal (TCPA)".')
    enabled = models.BooleanField(default=True)
    country_code = models.CharField(
        max_length=3,
        validators=[validate_calling_code],
        help_text="The country calling code it applies to, digits only (1 for the US and Canada, 44 for the UK).",
    )
    region = models.CharField(
        max_length=6,
        blank=True,
        validators=[validate_region],
        help_text="Optional: a US state or Canadian province as an ISO 3166-2 code (US-CA, CA-ON), read from the "
        "number's area code. Empty: the whole country code.",
    )
    earliest = models.TimeField(
        null=True, blank=True, help_text="Earliest local time a call may start (the callee's local time)."
    )
    latest = models.TimeField(null=True, blank=True, help_text="Latest local time a call may start.")
    days = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_rule_days],
        help_text="Days of the week on which calls may start, in the callee's local time; empty = every day.",
    )
    holidays = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_holidays],
        help_text="Dates (YYYY-MM-DD, the callee's local date) on which no call is placed.",
    )
    max_calls_24h = models.PositiveSmallIntegerField(
        "at most calls in 24 hours",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="At most this many calls to one number in any rolling 24 hours, over all campaigns; blank = no cap.",
    )
    max_calls_7d = models.PositiveSmallIntegerField(
        "at most calls in 7 days",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="At most this many calls to one number in any rolling 7 days, over all campaigns; blank = no cap.",
    )
    notes = models.TextField(
        blank=True, help_text="Where the rule comes from (the law, a contract), for whoever reads it."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country_code", "region", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(earliest__isnull=True) | Q(latest__isnull=True) | Q(earliest__lte=models.F("latest")),
                name="callingrule_earliest_before_latest",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.earliest and self.latest and self.earliest > self.latest:
            raise ValidationError({"latest": "The latest time must not be before the earliest."})
