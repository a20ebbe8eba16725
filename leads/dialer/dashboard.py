"""What a campaign's page shows of its run: its leads by status, its calls, its queue,
the rates of its recent calls and when it should finish; and the campaigns list's
progress of each campaign."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from campaigns.models import Campaign
from leads.models import DIALABLE_LEAD_STATUSES, Call, CallOutcome, Lead, LeadStatus

from .held import HeldLeads, held_leads
from .hours import window_filter
from .passes import queue

# The rates, the outcomes, the calls per hour and the pace are read from the calls
# placed in the chart's hours (the last 24 clock hours, this one included): an index
# range of call_campaign (campaign, -placed_at), so a refresh costs what the campaign
# dialled lately, never what it dialled in all.
HOURS_SHOWN = 24
HOUR = datetime.timedelta(hours=1)
# A dialer pass closes a call past its timeout as lost; this allows for passes that
# come late (a busy machine, a dialer restarting).
SETTLE_MARGIN = datetime.timedelta(minutes=10)
# A lead in one of these is done: nothing more will happen to it unless a person acts.
FINISHED_LEAD_STATUSES = (LeadStatus.COMPLETED, LeadStatus.REACHED_MAX_RETRIES, LeadStatus.BLACKLISTED)
# Further than this, "when it finishes" says only that it is far off.
ESTIMATE_HORIZON = datetime.timedelta(days=365)


def _share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in %, one decimal; None when there is no whole."""
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class CallRates:
    """The campaign's calls placed in the chart's 24 hours that have ended. A dial error
    never reached the provider (nobody's phone rang), so it is counted apart and is in
    no rate; a lost call (no outcome in time) is an ended call without a conversation.
    """

    ended: int  # with an outcome, dial errors aside
    conversations: int  # outcome "completed": someone answered and talked
    goals: int  # conversations whose goal was achieved (the report's, else the goal variable)
    voicemails: int
    dial_errors: int
    talk_seconds: int  # the conversations' durations added up
    timed_conversations: int  # conversations that reported a duration

    @property
    def answer_rate(self) -> float | None:
        return _share(self.conversations, self.ended)

    @property
    def goal_rate(self) -> float | None:
        """Of the conversations, not of all calls: an unanswered call had no chance at the goal."""
        return _share(self.goals, self.conversations)

    @property
    def voicemail_rate(self) -> float | None:
        return _share(self.voicemails, self.ended)

    @property
    def average_conversation(self) -> int | None:
        """Mean length of a conversation, in whole seconds."""
        return round(self.talk_seconds / self.timed_conversations) if self.timed_conversations else None

    @property
    def average_conversation_text(self) -> str:
        """ "2 min 5 s", "45 s"; "" when there is no conversation."""
        seconds = self.average_conversation
        if seconds is None:
            return ""
        minutes, seconds = divmod(seconds, 60)
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


@dataclass(frozen=True)
class HourBar:
    """One hour of the calls-per-hour chart."""

    start: datetime.datetime  # aware; shown in the page's zone
    calls: int  # placed in that hour and reached the provider (dial errors apart)
    dial_errors: int
    height: float  # % of the busiest hour of the chart
    current: bool  # the hour now, so far

    @property
    def label(self) -> str:
        """What the bar says, to the eye (its tooltip) and to a screen reader:
        "14:00 Europe/Paris: 312 calls and 2 dial errors"."""
        local = timezone.localtime(self.start)
        text = f"{local:%H:%M} {local.tzinfo}: {self.calls:,} call{'' if self.calls == 1 else 's'}"
        if self.dial_errors:
            text += f" and {self.dial_errors:,} dial error{'' if self.dial_errors == 1 else 's'}"
        return text + (" (this hour so far)" if self.current else "")

    @property
    def hour(self) -> str:
        return f"{timezone.localtime(self.start):%H}"


@dataclass(frozen=True)
class FinishEstimate:
    """When the campaign would have dialled each lead still to dial once, at the pace
    of its recent calls. Every lead still to dial needs at least one more call (some
    will need their retries too), so this is the earliest it can finish at that pace."""

    at: datetime.datetime | None  # None: no estimate; ``note`` says why
    leads: int  # still to dial: Created, Scheduled, Rescheduled
    calls_per_hour: float | None
    note: str = ""


# How long a campaign's held counts (leads.dialer.held), once counted, serve its page
# and its Start confirmation: counting reads every due lead of the campaign
# (bench/dashboard.py: "held"), too much for a refresh every 3 seconds. The page says
# when they were counted.
HELD_FRESH_SECONDS = 60


def _held_key(campaign_id: int) -> str:
    return f"leadsite:campaign-held:{campaign_id}"


def held_counts(campaign: Campaign, *, now: datetime.datetime, fresh: bool = False) -> HeldLeads:
    """The campaign's held counts as counted within the last minute, else counted now
    (``fresh``: counted now whatever the cache holds)."""
    cached: HeldLeads | None = None if fresh else cache.get(_held_key(campaign.pk))
    if cached is not None and cached.now <= now < cached.now + datetime.timedelta(seconds=HELD_FRESH_SECONDS):
        return cached
    counted = held_leads(campaign, now=now)
    cache.set(_held_key(campaign.pk), counted, HELD_FRESH_SECONDS)
    return counted


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
    rates: CallRates
    calls_per_hour: list[HourBar]  # the last 24 hours, oldest first, the current hour last
    finish: FinishEstimate
    goals_total: int  # conversations that achieved the goal, since the campaign began
    zone: str  # the zone the page's times are shown in
    held: HeldLeads

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


def _hour(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def _hours_shown(now: datetime.datetime) -> list[datetime.datetime]:
    """The chart's hours: the 23 whole hours before the current one, and the current one."""
    first = _hour(now) - (HOURS_SHOWN - 1) * HOUR
    return [first + i * HOUR for i in range(HOURS_SHOWN)]


def _settled_key(campaign_id: int) -> str:
    return f"leadsite:campaign-settled-hours:{campaign_id}"


def recent_calls(campaign: Campaign, *, now: datetime.datetime) -> list[dict]:
    """The campaign's calls placed in the chart's hours, grouped by hour (UTC: every
    bucket a real hour, whatever a DST change or a half-hour zone) and outcome, with
    what the rates need: at most 24 × 9 rows.

    A past hour whose calls have all ended, and whose last call's timeout has passed,
    changes no more (a late outcome moves nothing): its rows are kept in the cache (one
    entry per campaign) and each refresh reads only the hours after the last kept one
    (one range of call_campaign), about the last two. Without that, a campaign on 1,000
    lines would read over a million calls every 3 seconds."""
    hours = _hours_shown(now)
    settled_hours: dict[datetime.datetime, list[dict]] = cache.get(_settled_key(campaign.pk)) or {}
    kept: list[dict] = []
    start = hours[-1]
    for hour in hours:
        if hour not in settled_hours:
            start = hour
            break
        kept.extend(settled_hours[hour])
    fresh = list(
        Call.objects.filter(campaign=campaign, placed_at__gte=start, placed_at__lte=now)
        .order_by()
        .annotate(hour=TruncHour("placed_at", tzinfo=datetime.UTC))
        .values("hour", "outcome")
        .annotate(
            n=Count("pk"),
            goals=Count("pk", filter=Q(goal_achieved=True)),
            talk=Sum("duration_seconds"),
            timed=Count("duration_seconds"),
            first=Min("placed_at"),
        )
    )
    settled = now - HOUR - datetime.timedelta(minutes=campaign.call_timeout) - SETTLE_MARGIN
    by_hour: dict[datetime.datetime, list[dict]] = {hour: [] for hour in hours if start <= hour <= settled}
    for row in fresh:
        if row["hour"] in by_hour:
            by_hour[row["hour"]].append(row)
    final = {
        hour: rows
        for hour, rows in by_hour.items()
        if not any(row["outcome"] == "" for row in rows)  # a call in flight: not over yet
    }
    if final:
        # The hours still shown, and those that settled now.
        kept_hours = {hour: rows for hour, rows in settled_hours.items() if hour >= hours[0]}
        cache.set(_settled_key(campaign.pk), {**kept_hours, **final}, int((HOURS_SHOWN + 1) * HOUR.total_seconds()))
    return kept + fresh


def call_rates(rows: Iterable[dict]) -> CallRates:
    by_outcome: dict[str, dict[str, int]] = {}
    for row in rows:
        totals = by_outcome.setdefault(row["outcome"], {"n": 0, "goals": 0, "talk": 0, "timed": 0})
        for name in totals:
            totals[name] += row[name] or 0
    empty = {"n": 0, "goals": 0, "talk": 0, "timed": 0}
    completed = by_outcome.get(CallOutcome.COMPLETED, empty)
    return CallRates(
        ended=sum(t["n"] for outcome, t in by_outcome.items() if outcome not in ("", CallOutcome.DIAL_ERROR)),
        conversations=completed["n"],
        goals=completed["goals"],
        voicemails=by_outcome.get(CallOutcome.VOICEMAIL, empty)["n"],
        dial_errors=by_outcome.get(CallOutcome.DIAL_ERROR, empty)["n"],
        talk_seconds=completed["talk"],
        timed_conversations=completed["timed"],
    )


def calls_per_hour(rows: Iterable[dict], *, now: datetime.datetime) -> list[HourBar]:
    """24 bars: the 23 whole hours before the current one, and the current one so far."""
    first = _hours_shown(now)[0]
    calls = dict.fromkeys(range(HOURS_SHOWN), 0)
    errors = dict.fromkeys(range(HOURS_SHOWN), 0)
    for row in rows:
        index = int((row["hour"] - first) / HOUR)
        if 0 <= index < HOURS_SHOWN:
            if row["outcome"] == CallOutcome.DIAL_ERROR:
                errors[index] += row["n"]
            else:
                calls[index] += row["n"]
    busiest = max(calls.values())
    return [
        HourBar(
            start=first + i * HOUR,
            calls=calls[i],
            dial_errors=errors[i],
            height=round(100 * calls[i] / busiest, 1) if busiest else 0.0,
            current=i == HOURS_SHOWN - 1,
        )
        for i in range(HOURS_SHOWN)
    ]


def finish_estimate(
    campaign: Campaign, rows: Iterable[dict], *, waiting: int, in_flight: int, now: datetime.datetime
) -> FinishEstimate:
    """The pace is the calls placed (dial errors apart: they move no lead) in the chart's
    24 hours, or since the first of them if that is later, counted as at least an hour
    (ten calls in the first minute are not a pace of 600 an hour)."""
    placed = [row for row in rows if row["outcome"] != CallOutcome.DIAL_ERROR]
    calls = sum(row["n"] for row in placed)
    since = min((row["first"] for row in placed), default=None)
    pace = None
    if calls and since is not None:
        pace = calls / max((now - since) / datetime.timedelta(hours=1), 1.0)
    if campaign.status != Campaign.Status.IN_PROGRESS:
        note = {
            Campaign.Status.DRAFT: "none until the campaign is started",
            Campaign.Status.PAUSED: "none while the campaign is paused",
            Campaign.Status.COMPLETED: "the campaign is completed",
        }[campaign.status]
        return FinishEstimate(at=None, leads=waiting, calls_per_hour=pace, note=note)
    if not waiting:
        note = "no lead left to dial" + (": the calls in progress are the last" if in_flight else "")
        return FinishEstimate(at=None, leads=0, calls_per_hour=pace, note=note)
    if not pace:
        return FinishEstimate(at=None, leads=waiting, calls_per_hour=None, note="not enough calls yet to estimate")
    ahead = datetime.timedelta(hours=waiting / pace)
    if ahead > ESTIMATE_HORIZON:
        return FinishEstimate(at=None, leads=waiting, calls_per_hour=pace, note="more than a year at this pace")
    return FinishEstimate(at=now + ahead, leads=waiting, calls_per_hour=pace)


def goals_achieved(campaign_ids: Iterable[int]) -> dict[int, int]:
    """Conversations that achieved the goal, per campaign, since each began: a count of
    the small call_goal index (migration 0017), never a scan of the calls."""
    return dict(
        Call.objects.filter(campaign_id__in=list(campaign_ids), outcome=CallOutcome.COMPLETED, goal_achieved=True)
        .order_by()
        .values_list("campaign_id")
        .annotate(n=Count("*"))  # not the id: the index holds none, and * needs no row
    )


def campaign_dashboard(campaign: Campaign, *, now: datetime.datetime | None = None) -> Dashboard:
    """Counts by status (one index-only scan of the campaign's leads, about 60 ms per
    200,000 on PostgreSQL), the head of the dialer's queue, the last 24 hours' calls
    by hour and outcome (an index range of the hours not yet settled), and the goals so
    far (a small index)."""
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
    rows = recent_calls(campaign, now=now)
    recent: dict[str, int] = {}
    for row in rows:
        recent[row["outcome"]] = recent.get(row["outcome"], 0) + row["n"]
    largest = max(recent.values(), default=0)
    labels = {"": "In flight", **dict(CallOutcome.choices)}
    outcomes = [
        (labels[outcome], n, round(100 * n / largest, 1))
        for outcome, n in sorted(recent.items(), key=lambda item: -item[1])
    ]
    finished = sum(counts.get(s, 0) for s in FINISHED_LEAD_STATUSES)
    waiting = sum(counts.get(s, 0) for s in DIALABLE_LEAD_STATUSES)
    # A call in flight is a lead in Processing: they change together.
    in_flight = counts.get(LeadStatus.PROCESSING, 0)
    goals = goals_achieved([campaign.pk]).get(campaign.pk, 0)
    # The exact count of this refresh serves the campaigns list for its minute.
    cache.set(_progress_key(campaign.pk), _progress_of(counts, goals=goals, now=now), PROGRESS_FRESH_SECONDS)
    return Dashboard(
        by_status=by_status,
        total=total,
        finished=finished,
        waiting=waiting,
        in_flight=in_flight,
        next_due=head,
        inside_hours=window_filter(campaign, now) is not None,
        outcomes_24h=outcomes,
        calls_24h=sum(recent.values()),
        now=now,
        status=campaign.status,
        status_line=status_line(campaign),
        rates=call_rates(rows),
        calls_per_hour=calls_per_hour(rows, now=now),
        finish=finish_estimate(campaign, rows, waiting=waiting, in_flight=in_flight, now=now),
        goals_total=goals,
        zone=timezone.get_current_timezone_name(),
        held=held_counts(campaign, now=now),
    )


@dataclass(frozen=True)
class Progress:
    """A campaign's share of leads done, for the campaigns list."""

    total: int
    completed: int
    max_retries: int
    do_not_call: int
    goals: int
    counted_at: datetime.datetime

    @property
    def finished(self) -> int:
        return self.completed + self.max_retries + self.do_not_call

    @property
    def share(self) -> float:
        return round(100 * self.finished / self.total, 1) if self.total else 0.0

    def part(self, count: int) -> float:
        """A status's part of the bar, in % of all leads."""
        return round(100 * count / self.total, 2) if self.total else 0.0

    @property
    def parts(self) -> list[tuple[str, str, int, float]]:
        """The bar's parts that have leads: (status, label, leads, % of all leads)."""
        done = [
            (LeadStatus.COMPLETED, self.completed),
            (LeadStatus.REACHED_MAX_RETRIES, self.max_retries),
            (LeadStatus.BLACKLISTED, self.do_not_call),
        ]
        return [(status.value, status.label, count, self.part(count)) for status, count in done if count]

    @property
    def label(self) -> str:
        """ "50.0% done: 2 of 4 leads (Completed 1, Max retries 1)"."""
        said = ", ".join(f"{label} {count:,}" for _, label, count, _ in self.parts)
        return f"{self.share}% done: {self.finished:,} of {self.total:,} leads" + (f" ({said})" if said else "")


# How long a campaign's progress, once counted, serves the campaigns list. Counting
# reads every lead of the page's campaigns (lead_campaign_status, or the table when
# they are most of it): 0.7 s for a million leads on a busy 2-core machine
# (bench/dashboard.py), too much for each opening of a list that shows a bar, not an
# audit. The campaign's own page counts exactly on every refresh and leaves its count
# here, so an open campaign page keeps the list current too.
PROGRESS_FRESH_SECONDS = 60


def _progress_key(campaign_id: int) -> str:
    return f"leadsite:campaign-progress:{campaign_id}"


def _progress_of(counts: dict[str, int], *, goals: int, now: datetime.datetime) -> Progress:
    return Progress(
        total=sum(counts.values()),
        completed=counts.get(LeadStatus.COMPLETED, 0),
        max_retries=counts.get(LeadStatus.REACHED_MAX_RETRIES, 0),
        do_not_call=counts.get(LeadStatus.BLACKLISTED, 0),
        goals=goals,
        counted_at=now,
    )


def campaign_progress(campaign_ids: Iterable[int], *, now: datetime.datetime | None = None) -> dict[int, Progress]:
    """Progress of the campaigns of a list page: each as counted within the last
    minute, else counted now, all of them in two queries whatever the page's size (their
    leads grouped by campaign and status, and a count of call_goal)."""
    now = now or timezone.now()
    ids = list(campaign_ids)
    cached = cache.get_many([_progress_key(pk) for pk in ids])
    known = {pk: cached[_progress_key(pk)] for pk in ids if _progress_key(pk) in cached}
    missing = [pk for pk in ids if pk not in known]
    if not missing:
        return known
    counts: dict[int, dict[str, int]] = {pk: {} for pk in missing}
    rows = (
        Lead.objects.filter(campaign_id__in=missing)
        .order_by()
        .values_list("campaign_id", "status")
        .annotate(n=Count("pk"))
    )
    for campaign_id, status, n in rows:
        counts[campaign_id][status] = n
    goals = goals_achieved(missing)
    counted = {pk: _progress_of(c, goals=goals.get(pk, 0), now=now) for pk, c in counts.items()}
    cache.set_many({_progress_key(pk): progress for pk, progress in counted.items()}, PROGRESS_FRESH_SECONDS)
    return {**known, **counted}
