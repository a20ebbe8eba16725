"""The dialer: one pass over every campaign, as ``run_dialer`` repeats it.

A pass, with ``now`` given (tests drive time explicitly):

1. calls in flight (of any campaign, paused ones too) past their campaign's
   ``call_timeout`` are closed as ``lost``; outcomes the backend resolved itself are
   applied;
2. for each running campaign: due Rescheduled leads become Scheduled; due leads are
   claimed up to the free lines, inside their calling window, and their calls
   placed (each on a number inside its own window and under its caps: others are
   held until they may be); a campaign with nothing left to dial completes.

Several dialers may run against one PostgreSQL database. A claim locks its campaign
row (``SKIP LOCKED``: a campaign another dialer is claiming for is left to it) so
the free-line count cannot be raced, and locks the leads it takes with
``FOR UPDATE SKIP LOCKED`` so a lead an operator is changing is never taken. The
claim commits before any call is placed: a dialer that dies mid-claim leaves its
leads as they were, and one that dies after leaves open calls that time out as
``lost``.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import DatabaseError, OperationalError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign
from leads import transitions
from leads.dialer import outcomes, rules, windows
from leads.models import DIALABLE_LEAD_STATUSES, Call, CallOutcome, Contact, Lead, LeadStatus, StatusChange
from leads.transitions import Actor, Pick, Report

from .backends import Backend, DialError, Placed, get_backend
from .hours import window_filter

logger = logging.getLogger(__name__)

DIAL_ERRORS_TO_PAUSE = 10
DIALER = Actor(source=StatusChange.Source.DIALER)


@dataclass
class PassReport:
    promoted: int = 0
    placed: int = 0
    dial_errors: int = 0
    lost: int = 0
    resolved: int = 0
    completed_campaigns: int = 0


def run_pass(*, now: datetime.datetime | None = None, backend: Backend | None = None) -> PassReport:
    now = now or timezone.now()
    backend = backend or get_backend()
    report = PassReport()
    try:
        close_finished_calls(backend, now=now, report=report)
    except DatabaseError:
        logger.exception("dialer pass could not close finished calls")  # the next pass tries again
    for campaign in Campaign.objects.filter(status=Campaign.Status.IN_PROGRESS).select_related("assistant"):
        try:
            report.promoted += promote_due(campaign, now=now)
            place_all(claim(campaign, backend=backend, now=now), backend=backend, now=now, report=report)
            if complete_if_done(campaign):
                report.completed_campaigns += 1
        except DatabaseError:
            # A deadlock with an operator's bulk action, a lost connection: this
            # campaign waits for the next pass, the others go on.
            logger.exception("dialer pass failed for campaign %s", campaign.pk)
    return report


def queue(campaign: Campaign):
    """The campaign's dialable leads, head first: by when each is due (a Created lead
    since its creation), oldest first. Reads the lead_due index."""
    return (
        Lead.objects.filter(campaign=campaign, status__in=DIALABLE_LEAD_STATUSES)
        .annotate(due=Coalesce("next_attempt_at", "created_at"))
        .order_by("due", "id")
    )


def due_leads(campaign: Campaign, now: datetime.datetime):
    """The head of the queue that is due at ``now``."""
    return queue(campaign).filter(due__lte=now)


def promote_due(campaign: Campaign, *, now: datetime.datetime) -> int:
    """Rescheduled leads whose time has come become Scheduled."""
    due = due_leads(campaign, now).filter(status=LeadStatus.RESCHEDULED)
    if not due.exists():
        return 0
    return transitions.promote_due(due, now=now, actor=DIALER).moved


# Leads a claim may hold (outside their window, over a cap) before it stops for this
# pass: when a window closes on many leads at once, each pass moves this many out of
# the queue's head, so a claim's cost stays bounded and the head soon holds dialable
# leads only.
MAX_HOLDS_PER_CLAIM = 2000
# A batch after one with holds reads this many leads at least: holding leads one line
# at a time would cost a round of queries per lead.
HOLD_BATCH = 200


def claimable(campaign: Campaign, now: datetime.datetime):
    """The due leads a claim may take: with the consent the campaign requires, if any
    (leads without it are never claimed: results-and-compliance.md §5)."""
    due = due_leads(campaign, now)
    consents = campaign.satisfying_consents()
    return due if consents is None else due.filter(consent__in=consents)


def claim(campaign: Campaign, *, backend: Backend, now: datetime.datetime) -> list[Call]:
    """Take due leads up to the campaign's free lines, each with the number to dial,
    and open their calls (committed before any is placed).

    A lead is dialled only on a number inside its window and under its caps
    (``windows.Gate``); a lead none of whose numbers is, is held until the first may
    be (``transitions.hold``), and the claim reads on.
    """
    with transaction.atomic():
        locked = (
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(pk=campaign.pk, status=Campaign.Status.IN_PROGRESS)
            .select_related("assistant")
            .first()
        )
        if locked is None:
            return []  # another dialer is claiming for it, or it stopped meanwhile
        campaign = locked
        free = campaign.max_calls_in_parallel - Call.objects.filter(campaign=campaign, ended_at__isnull=True).count()
        # Exact only as "no zone at all is inside the campaign's hours": then no number is.
        if free <= 0 or window_filter(campaign, now) is None:
            return []
        defaults = {v.name: v.default_value for v in campaign.assistant.variables.all() if v.default_value}
        gate = windows.Gate(campaign, now)
        queue = claimable(campaign, now)
        opened: list[Call] = []
        left: list[int] = []  # leads whose number another dialer is counting: the next pass's
        holds, size = 0, free
        while free > 0 and holds < MAX_HOLDS_PER_CLAIM:
            try:
                with transaction.atomic():  # a savepoint: a batch is taken whole or given back whole
                    batch = list(queue.exclude(pk__in=left).select_for_update(skip_locked=True)[:size])
                    if not batch:
                        break
                    taken = _take(campaign, batch, defaults, gate, free=free, now=now)
                    opened += transitions.start_calls(
                        campaign, taken.picks, now=now, backend=backend.name, actor=DIALER
                    )
                    transitions.hold(taken.held, now=now)
                    free -= len(taken.picks)
                    holds += len(taken.held)
                    left += taken.left
                    if len(taken.picks) + len(taken.spent) == len(batch):
                        size = free
                    else:
                        size = max(free, min(HOLD_BATCH, MAX_HOLDS_PER_CLAIM - holds))
            except OperationalError:
                # A number of the batch is locked by someone else (an operator's
                # do-not-call, an edit): waiting for it could deadlock with them, who
                # lock the lead next. The batch waits for the next pass instead.
                break
    return opened


@dataclass
class Taken:
    """What a claim does with one batch of leads."""

    picks: list[Pick]
    held: list[tuple[Lead, datetime.datetime, str, str]]
    spent: list[Lead]
    left: list[int]


def _take(
    campaign: Campaign,
    batch: list[Lead],
    defaults: dict[str, str],
    gate: windows.Gate,
    *,
    free: int,
    now: datetime.datetime,
) -> Taken:
    """The claimed leads' numbers (locked, without waiting) and the one each dials, up
    to ``free`` leads: the first number in the strategy's order inside its window and
    under its caps. A lead with no number left leaves the queue at once, one whose
    numbers may not be dialled now is held, so the next batch reads past them."""
    numbers: dict[int, list[Contact]] = defaultdict(list)
    locked = Contact.objects.select_for_update(nowait=True).filter(lead_id__in=[lead.pk for lead in batch])
    for contact in locked.order_by("lead_id", "position"):
        numbers[contact.lead_id].append(contact)
    budget = campaign.attempts_per_number
    order = {lead.pk: rules.numbers_to_dial(numbers[lead.pk], budget, lead.next_position) for lead in batch}
    # A callback is an appointment with one number: no other is tried instead.
    for lead in batch:
        if lead.callback_at is not None:
            order[lead.pk] = order[lead.pk][:1]
    gate.prepare(number for candidates in order.values() for number in candidates)
    taken = Taken(picks=[], held=[], spent=[], left=[])
    for lead in batch:
        if not order[lead.pk]:
            taken.spent.append(lead)
            continue
        if len(taken.picks) >= free:
            continue  # dialable, but no line left: it stays at the head for the next pass
        verdict = gate.verdict(lead, order[lead.pk])
        if verdict.number is not None:
            number = verdict.number
            primary = numbers[lead.pk][0].variables if numbers[lead.pk][0].position == 0 else {}
            own = number.variables if number.position else {}
            taken.picks.append(Pick(lead=lead, contact=number, variables=rules.call_variables(defaults, primary, own)))
        elif verdict.until is not None:
            taken.held.append((lead, verdict.until, verdict.waiting, verdict.note))
        else:
            taken.left.append(lead.pk)
    transitions.run_out(taken.spent, numbers, now=now, actor=DIALER)
    return taken


# Calls handed to the backend at once: a real platform answers each request in its
# own time, and a pass should not wait for one after the other.
PLACING_THREADS = 16


def place_all(opened: list[Call], *, backend: Backend, now: datetime.datetime, report: PassReport) -> None:
    """Hand the opened calls (of one campaign) to the backend, several at once: the
    backend only talks to its platform. Then write what the answers change: the
    placed calls together, each dial error on its own."""
    if len(opened) <= 1:
        answers = [_ask(backend, call, now) for call in opened]
    else:
        with ThreadPoolExecutor(max_workers=min(PLACING_THREADS, len(opened))) as pool:
            answers = list(pool.map(lambda call: _ask(backend, call, now), opened))
    placed = []
    for call, answer in zip(opened, answers):
        if isinstance(answer, DialError):
            dial_error(call, answer, now=now, report=report)
        else:
            call.provider_call_id, call.backend_data = answer.provider_call_id, answer.backend_data
            placed.append(call)
    if placed:
        report.placed += len(placed)
        Call.objects.bulk_update(placed, ["provider_call_id", "backend_data"])
        # A placed call restarts both dial-error counts.
        transitions.calls_placed(placed)
        services.campaign_call_placed(campaign_id=placed[0].campaign_id)


def _ask(backend: Backend, call: Call, now: datetime.datetime) -> Placed | DialError:
    try:
        return backend.place(call, now=now)
    except DialError as error:
        return error
    except Exception as error:
        # A backend's own failure is a call that never reached the provider too: the
        # attempt is given back, and ten in a row pause the campaign with the reason.
        logger.exception("the %s backend failed to place call %s", backend.name, call.pk)
        return DialError(f"the {backend.name} backend failed: {error!r}")


def dial_error(call: Call, error: DialError, *, now: datetime.datetime, report: PassReport) -> None:
    """A call that never reached the provider: its attempt is given back, and it
    counts towards pausing the campaign."""
    report.dial_errors += 1
    transitions.dial_failed(call.pk, error=str(error), now=now, actor=DIALER)
    in_row = services.campaign_dial_error(campaign_id=call.campaign_id)
    if in_row >= DIAL_ERRORS_TO_PAUSE:
        services.campaign_pause_by_dialer(
            campaign_id=call.campaign_id,
            reason=f"Paused by the dialer: {in_row} dial errors in a row (last: {error}). "
            "Check the dialer backend, then resume.",
        )


def close_finished_calls(backend: Backend, *, now: datetime.datetime, report: PassReport) -> None:
    """Calls in flight: apply outcomes the backend resolved, close the rest that are
    past their campaign's call timeout as ``lost``. In flight calls are few (at most
    every campaign's line count), so they are read whole."""
    open_calls = list(Call.objects.filter(ended_at__isnull=True).select_related("campaign"))
    resolved = set()
    for call, outcome in backend.reports(open_calls, now=now):
        # One report id per call: when two dialers resolve the same call, the second
        # is a repeat, not a second report in its history.
        if (
            outcomes.outcome_receive(
                call.pk,
                outcome,
                payload=outcomes.report_payload(outcome),
                webhook_id=f"{backend.name}-{call.pk}",
                now=now,
                actor=DIALER,
            )
            == "applied"
        ):
            report.resolved += 1
        resolved.add(call.pk)
    for call in open_calls:
        if call.pk in resolved:
            continue
        if now - call.placed_at >= datetime.timedelta(
            minutes=call.campaign.call_timeout
        ) and transitions.record_outcome(call.pk, Report(outcome=CallOutcome.LOST), now=now, actor=DIALER):
            report.lost += 1


def complete_if_done(campaign: Campaign) -> bool:
    """A running campaign set to complete by itself does so once no lead is left to
    dial and no call is in flight."""
    if not campaign.mark_complete_when_no_leads:
        return False
    # A call in flight is a lead in Processing (they change together), so one look serves.
    waiting = Lead.objects.filter(campaign=campaign, status__in=[*DIALABLE_LEAD_STATUSES, LeadStatus.PROCESSING])
    if waiting.exists():
        return False
    return services.campaign_complete(campaign_id=campaign.pk, reason="Completed by the dialer: no lead left to dial.")
