"""What a campaign's page shows of its run: its leads by status, its calls, its queue."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from campaigns.models import Campaign
from leads.models import DIALABLE_LEAD_STATUSES, Call, CallOutcome, Lead, LeadStatus

from .hours import window_filter
from .passes import queue


@dataclass(frozen=True)
class Dashboard:
    """What a campaign's page shows about its run, read in a fixed number of queries."""

    by_status: list[tuple[str, str, int, float]]  # (slug, label, leads, share of all in %)
    total: int
    finished: int  # Completed, Max retries, Do not call: nothing more will happen
    waiting: int  # dialable: Created, Scheduled, Rescheduled
    in_flight: int
    next_due: datetime.datetime | None
    inside_hours: bool
    outcomes_24h: list[tuple[str, int, float]]  # (label, calls, share of the largest in %)
    calls_24h: int
    now: datetime.datetime
    status: str  # the campaign's, when the figures were read
    status_line: str  # "Paused by hand", "Completed by the dialer: no lead left to dial."

    @property
    def dialling(self) -> bool:
        """Only a campaign in progress is dialled: for any other, a lead's due time
        is not when it will be called."""
        return self.status == Campaign.Status.IN_PROGRESS

    @property
    def due_now(self) -> bool:
        return self.dialling and self.next_due is not None and self.next_due <= self.now

    @property
    def next_call(self) -> str:
        """What "Next call" says when the campaign is not dialled (else the template
        shows the due time)."""
        return {
            Campaign.Status.DRAFT: "none until the campaign is started",
            Campaign.Status.PAUSED: "none while the campaign is paused",
            Campaign.Status.COMPLETED: "none: the campaign is completed",
        }.get(self.status, "")

    @property
    def progress(self) -> float:
        return round(100 * self.finished / self.total, 1) if self.total else 0.0


def status_line(campaign: Campaign) -> str:
    """The campaign's status and why it is so, as one phrase. The reasons are written
    by their writer ("paused by hand", "Paused by the dialer: …", "Completed by the
    dialer: …"), some of which already say the status: it is not said twice."""
    label = campaign.get_status_display()
    reason = campaign.status_reason.strip()
    if not reason or campaign.status in (Campaign.Status.DRAFT, Campaign.Status.IN_PROGRESS):
        return label
    if reason.lower().startswith(label.lower()):
        return label + reason[len(label) :]
    return f"{label}: {reason}"


def campaign_dashboard(campaign: Campaign, *, now: datetime.datetime | None = None) -> Dashboard:
    """Counts by status (one index-only scan of the campaign's leads, about 60 ms per
    200,000 on PostgreSQL), the head of the dialer's queue, and the last 24 hours'
    outcomes (an index range)."""
    now = now or timezone.now()
    counts = dict(Lead.objects.filter(campaign=campaign).order_by().values_list("status").annotate(n=Count("pk")))
    total = sum(counts.values())
    by_status = [
        (
            status.value,
            status.label,
            counts.get(status.value, 0),
            round(100 * counts.get(status.value, 0) / total, 2) if total else 0.0,
        )
        for status in LeadStatus
    ]
    head = queue(campaign).values_list("due", flat=True).first()
    recent = dict(
        Call.objects.filter(campaign=campaign, placed_at__gte=now - datetime.timedelta(hours=24))
        .order_by()
        .values_list("outcome")
        .annotate(n=Count("pk"))
    )
    largest = max(recent.values(), default=0)
    labels = {"": "In flight", **dict(CallOutcome.choices)}
    outcomes = [
        (labels[outcome], n, round(100 * n / largest, 1))
        for outcome, n in sorted(recent.items(), key=lambda item: -item[1])
    ]
    finished = sum(
        counts.get(s, 0) for s in (LeadStatus.COMPLETED, LeadStatus.REACHED_MAX_RETRIES, LeadStatus.BLACKLISTED)
    )
    return Dashboard(
        by_status=by_status,
        total=total,
        finished=finished,
        waiting=sum(counts.get(s, 0) for s in DIALABLE_LEAD_STATUSES),
        # A call in flight is a lead in Processing: they change together.
        in_flight=counts.get(LeadStatus.PROCESSING, 0),
        next_due=head,
        inside_hours=window_filter(campaign, now) is not None,
        outcomes_24h=outcomes,
        calls_24h=sum(recent.values()),
        now=now,
        status=campaign.status,
        status_line=status_line(campaign),
    )
