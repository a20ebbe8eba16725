"""Every change of a lead's status, and of the counters that go with it (attempts,
dial errors), lives here, and nothing else.

Each way a status changes is one function. The bulk ones take any queryset of leads
(one lead, a page, or a filtered "select all" of a million) and work in a fixed
number of statements whatever its size:

1. one aggregate query counts the selection by the first skip rule each lead meets;
2. one ``INSERT … SELECT … FOR UPDATE`` writes an audit row for every lead that moves
   and, on PostgreSQL, locks it (on SQLite the IMMEDIATE transaction holds the write
   lock from BEGIN), so a dialer cannot claim it between the audit and the move;
3. one UPDATE moves exactly the leads of that audit batch, and at most two more put
   their numbers right (contact states, the attempt total).

A lead in Processing is never moved by hand: every manual action skips it.

The dialer's own moves (a claim, an outcome, a dial error, leads left without a
number) work on the few rows it has locked, by the rules of ``leads.dialer.rules``, and
write their audit rows the same way.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from campaigns.models import Campaign

from .dialer import hours, rules, windows
from .models import Call, CallOutcome, Contact, ContactStatus, DoNotCallNumber, Lead, LeadStatus, StatusChange

SKIP_PROCESSING = ("a call is in progress", Q(status=LeadStatus.PROCESSING))
SKIP_DO_NOT_CALL = ("on the do-not-call list", Q(status=LeadStatus.BLACKLISTED))


@dataclass(frozen=True)
class Actor:
    """Who moves leads: a person in the admin, or the dialer, import, webhook…"""

    source: str
    user: AbstractBaseUser | None = None

    @classmethod
    def admin(cls, user: AbstractBaseUser) -> Actor:
        return cls(source=StatusChange.Source.ADMIN, user=user)

    @classmethod
    def system(cls) -> Actor:
        return cls(source=StatusChange.Source.SYSTEM)


@dataclass
class TransitionResult:
    moved: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    operation: uuid.UUID | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def add(self, other: TransitionResult) -> None:
        """Count ``other`` (a move over another part of the selection) in too; the sum
        is no one operation."""
        self.moved += other.moved
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count
        self.operation = None


@dataclass(frozen=True)
class _Move:
    """What one action does to the leads it moves."""

    to_status: str
    reason: str
    skip_rules: list[tuple[str, Q]]
    lead_updates: dict[str, Any] = field(default_factory=dict)
    # Each (filter, updates) pair is one UPDATE over the moved leads' contacts.
    contact_updates: list[tuple[Q, dict[str, Any]]] = field(default_factory=list)
    # With contact_updates: the numbers whose attempts still count afterwards. The
    # lead's total is set to 0, then summed again over just these.
    keeps_attempts: Q = field(default_factory=Q)


def _has_contact(condition: Q) -> Exists:
    return Exists(Contact.objects.filter(condition, lead=OuterRef("pk")))


def _attempts_total() -> Coalesce:
    per_lead = (
        Contact.objects.filter(lead=OuterRef("pk"))
        .order_by()
        .values("lead")
        .annotate(total=Sum("attempts"))
        .values("total")
    )
    return Coalesce(Subquery(per_lead), Value(0))


def recount_attempts(leads: QuerySet[Lead]) -> None:
    """Set each lead's attempts to the sum of its numbers' (after numbers changed), in
    one UPDATE. The one place a lead's total is counted again from its numbers."""
    leads.update(attempts=_attempts_total())


def _recount_attempts(batch: QuerySet, keeps_attempts: Q) -> None:
    """After the move set every moved lead's attempts to 0, give the sum of its
    numbers' attempts back to the few whose numbers still count some.

    Reset and Move leave attempts only on do-not-call numbers, which a small partial
    index lists: one semi-join finds those leads, instead of one lookup per lead.
    """
    counting = Contact.objects.filter(keeps_attempts, lead_id__in=batch, attempts__gt=0).values("lead_id")
    recount_attempts(Lead.objects.filter(pk__in=counting))


def count_skips(selection: QuerySet[Lead], rules: list[tuple[str, Q]]) -> tuple[dict[str, int], int]:
    """Count the selection under the first rule each lead meets, and in all, in one
    query."""
    aggregates: dict[str, Count] = {"total": Count("pk")}
    earlier: Q | None = None
    for index, (_, condition) in enumerate(rules):
        aggregates[f"rule_{index}"] = Count("pk", filter=condition if earlier is None else Q(condition) & ~earlier)
        earlier = Q(condition) if earlier is None else earlier | Q(condition)
    counts = selection.aggregate(**aggregates)
    skipped = {reason: counts[f"rule_{i}"] for i, (reason, _) in enumerate(rules) if counts[f"rule_{i}"]}
    return skipped, counts["total"]


# A lead that moves is no longer held: whatever moved it decides its next dial (hold).
_NOT_WAITING = {"waiting": "", "waiting_note": ""}


def _db_value(model: type, field_name: str, value: Any) -> Any:
    return model._meta.get_field(field_name).get_db_prep_value(value, connection)


def _apply(
    leads: QuerySet[Lead],
    move: _Move,
    *,
    actor: Actor,
    reason: str | None = None,
    now: datetime.datetime | None = None,
) -> TransitionResult:
    """Run one action over ``leads`` as described in the module docstring, at ``now``
    (the dialer's own time, else the clock's)."""
    now = now or timezone.now()
    operation = uuid.uuid4()
    selection = Lead.objects.filter(pk__in=leads.order_by().values("pk"))
    with transaction.atomic():
        skipped, total = count_skips(selection, move.skip_rules)
        candidates = selection
        for _, condition in move.skip_rules:
            candidates = candidates.exclude(condition)
        # ``of=self``: lock the leads, never the campaigns a filter may have joined.
        locked = candidates.select_for_update(of=("self",)).order_by().values(sel_id=F("pk"), sel_status=F("status"))
        select_sql, select_params = locked.query.sql_with_params()
        insert_sql = (
            f"INSERT INTO {StatusChange._meta.db_table} "
            "(lead_id, operation, from_status, to_status, changed_at, source, actor_id, reason) "
            f"SELECT sel.sel_id, %s, sel.sel_status, %s, %s, %s, %s, %s FROM ({select_sql}) sel"
        )
        params = [
            _db_value(StatusChange, "operation", operation),
            move.to_status,
            _db_value(StatusChange, "changed_at", now),
            actor.source,
            actor.user.pk if actor.user is not None else None,
            (reason or move.reason)[:300],
        ]
        with connection.cursor() as cursor:
            cursor.execute(insert_sql, params + list(select_params))
            moved = cursor.rowcount
        # Leads the dialer moved between the count and the lock (the INSERT waited
        # for its lock, then saw their new status) are neither moved nor lost.
        changed_meanwhile = total - moved - sum(skipped.values())
        if changed_meanwhile > 0:
            skipped["changed by the dialer meanwhile"] = changed_meanwhile
        if moved:
            batch = StatusChange.objects.filter(operation=operation).values("lead_id")
            for condition, updates in move.contact_updates:
                Contact.objects.filter(condition, lead_id__in=batch).update(**updates)
            lead_updates = {**move.lead_updates, **({"attempts": 0} if move.contact_updates else {})}
            Lead.objects.filter(pk__in=batch).update(
                status=move.to_status, updated_at=now, **_NOT_WAITING, **lead_updates
            )
            if move.contact_updates:
                _recount_attempts(batch, move.keeps_attempts)
    return TransitionResult(moved=moved, skipped=skipped, operation=operation)


# --- Manual actions (admin, on one lead or a whole filtered selection) -------------

_FRESH_BUDGET = {"status": ContactStatus.CREATED, "attempts": 0, "callback_attempts": 0}
# Reset, Reschedule and Move start dialling afresh: a cascade from its first number,
# the dial-error backoff from one minute. A pending callback is an appointment the
# dialer keeps: a person who moves the lead by hand decides instead.
_NEW_ROUND = {"next_position": None, "dial_errors": 0, "callback_at": None}
# Reset and Move start the lead over: its callbacks count from 0 again.
_START_OVER = {**_NEW_ROUND, "callbacks": 0}


# Each manual action's skip rules, first rule first, are public: its confirmation page
# counts them (count_skips) before it runs.


def reset_skip_rules() -> list[tuple[str, Q]]:
    return [SKIP_PROCESSING, SKIP_DO_NOT_CALL, ("already created", Q(status=LeadStatus.CREATED))]


def reset(leads: QuerySet[Lead], *, actor: Actor, reason: str = "") -> TransitionResult:
    """Created again; every number not on the do-not-call list gets a fresh budget."""
    return _apply(
        leads,
        _Move(
            to_status=LeadStatus.CREATED,
            reason="reset",
            skip_rules=reset_skip_rules(),
            lead_updates={"next_attempt_at": None, **_START_OVER},
            contact_updates=[
                (
                    ~Q(status=ContactStatus.BLACKLISTED) & ~Q(status=ContactStatus.CREATED, attempts=0),
                    _FRESH_BUDGET,
                )
            ],
            keeps_attempts=Q(status=ContactStatus.BLACKLISTED),
        ),
        actor=actor,
        reason=reason,
    )


def complete_skip_rules() -> list[tuple[str, Q]]:
    return [SKIP_PROCESSING, SKIP_DO_NOT_CALL, ("already completed", Q(status=LeadStatus.COMPLETED))]


def complete(leads: QuerySet[Lead], *, actor: Actor, reason: str = "") -> TransitionResult:
    """Completed by hand; numbers keep their state and a late outcome never reopens it."""
    return _apply(
        leads,
        _Move(
            to_status=LeadStatus.COMPLETED,
            reason="completed by hand",
            skip_rules=complete_skip_rules(),
            lead_updates={"next_attempt_at": None, "callback_at": None},
        ),
        actor=actor,
        reason=reason,
    )


# A number judged invalid keeps no budget: rescheduling never revives it.
_INVALID = Q(status=ContactStatus.REACHED_MAX_RETRIES, last_outcome=CallOutcome.INVALID_NUMBER)
_REVIVABLE = Q(status__in=[ContactStatus.REACHED_MAX_RETRIES, ContactStatus.COMPLETED]) & ~_INVALID
_DIALABLE_AFTER_RESCHEDULE = Q(status__in=[ContactStatus.CREATED, ContactStatus.RESCHEDULED]) | _REVIVABLE


def reschedule(
    leads: QuerySet[Lead], *, at: datetime.datetime | None = None, actor: Actor, reason: str = ""
) -> TransitionResult:
    """Rescheduled at ``at``, by default after each lead's campaign's retry interval
    from now; numbers that ran out or completed get a fresh budget.

    Allowed from Completed and Max retries too. A lead with no number that could be
    dialled (all invalid or on the do-not-call list) is skipped.
    """
    if at is not None:
        if timezone.is_naive(at):
            raise ValueError("reschedule needs an aware datetime")
        return _apply(leads, _reschedule_to(at), actor=actor, reason=reason)
    # Each campaign has its own interval, and each audit row names its lead's time:
    # one move per campaign of the selection.
    now = timezone.now()
    result = TransitionResult()
    intervals = Campaign.objects.filter(pk__in=leads.order_by().values("campaign_id")).values_list(
        "pk", "retry_interval"
    )
    for campaign_id, minutes in intervals:
        at = now + datetime.timedelta(minutes=minutes)
        result.add(_apply(leads.filter(campaign_id=campaign_id), _reschedule_to(at), actor=actor, reason=reason))
    return result


def reschedule_skip_rules() -> list[tuple[str, Q]]:
    """The same whatever the time chosen."""
    return [
        SKIP_PROCESSING,
        SKIP_DO_NOT_CALL,
        ("no number left that could be dialled", ~_has_contact(_DIALABLE_AFTER_RESCHEDULE)),
    ]


def _reschedule_to(at: datetime.datetime) -> _Move:
    return _Move(
        to_status=LeadStatus.RESCHEDULED,
        reason=f"rescheduled for {at.isoformat(timespec='minutes')}",
        skip_rules=reschedule_skip_rules(),
        lead_updates={"next_attempt_at": at, **_NEW_ROUND},
        contact_updates=[(_REVIVABLE, _FRESH_BUDGET)],
        keeps_attempts=~_REVIVABLE,
    )


def stop_skip_rules() -> list[tuple[str, Q]]:
    return [
        SKIP_PROCESSING,
        SKIP_DO_NOT_CALL,
        ("already completed", Q(status=LeadStatus.COMPLETED)),
        ("already stopped (max retries)", Q(status=LeadStatus.REACHED_MAX_RETRIES)),
    ]


def stop(leads: QuerySet[Lead], *, actor: Actor, reason: str = "") -> TransitionResult:
    """Give up: Max retries; numbers keep their state."""
    return _apply(
        leads,
        _Move(
            to_status=LeadStatus.REACHED_MAX_RETRIES,
            reason="stopped by hand",
            skip_rules=stop_skip_rules(),
            lead_updates={"next_attempt_at": None, "callback_at": None},
        ),
        actor=actor,
        reason=reason,
    )


def move_to_campaign_skip_rules(leads: QuerySet[Lead], campaign: Campaign | None) -> list[tuple[str, Q]]:
    """Which of ``leads`` a move to ``campaign`` skips; with no campaign chosen yet,
    the rules that hold whichever it is."""
    if campaign is None:
        return [SKIP_PROCESSING, SKIP_DO_NOT_CALL]
    own_primary = Contact.objects.filter(lead=OuterRef(OuterRef("pk")), position=0).values("phone")
    taken_in_target = Exists(Contact.objects.filter(campaign=campaign, position=0, phone__in=own_primary))
    selected_ids = leads.order_by().values("pk")
    taken_by_selection = Exists(
        Contact.objects.filter(position=0, phone__in=own_primary, lead__in=selected_ids, lead_id__lt=OuterRef("pk"))
        .exclude(lead__status__in=[LeadStatus.PROCESSING, LeadStatus.BLACKLISTED])
        .exclude(lead__campaign=campaign)
    )
    return [
        SKIP_PROCESSING,
        SKIP_DO_NOT_CALL,
        ("already in that campaign", Q(campaign=campaign)),
        ("its number is already in that campaign", taken_in_target),
        ("another selected lead has the same number", taken_by_selection),
    ]


def move_to_campaign(leads: QuerySet[Lead], *, campaign: Campaign, actor: Actor, reason: str = "") -> TransitionResult:
    """Join ``campaign`` as Created, counters back to 0 as with Reset, history kept.

    Skipped: leads already there, and leads whose primary number the campaign already
    has (or another selected lead with the same number and a lower id takes it).
    """
    return _apply(
        leads,
        _Move(
            to_status=LeadStatus.CREATED,
            reason=f"moved to campaign “{campaign.name}”",
            skip_rules=move_to_campaign_skip_rules(leads, campaign),
            lead_updates={"campaign": campaign, "next_attempt_at": None, **_START_OVER},
            contact_updates=[
                (Q(status=ContactStatus.BLACKLISTED), {"campaign": campaign}),
                (~Q(status=ContactStatus.BLACKLISTED), {"campaign": campaign, **_FRESH_BUDGET}),
            ],
            keeps_attempts=Q(status=ContactStatus.BLACKLISTED),
        ),
        actor=actor,
        reason=reason,
    )


# --- Numbers joining and leaving the do-not-call list --------------------------------


def new_lead_status() -> str:
    """The state a lead starts in; written by bulk inserts that bypass the model."""
    return LeadStatus.CREATED


def new_number_status(*, on_do_not_call_list: bool) -> str:
    """The state a number starts in when it is added to a lead or its digits change."""
    return ContactStatus.BLACKLISTED if on_do_not_call_list else ContactStatus.CREATED


# A key of PostgreSQL's transaction-level advisory locks: "the do-not-call list is
# changing". Whoever marks numbers in other leads (an opt-out, the Do not call action,
# numbers added by hand) takes it before locking any lead, so two of them never hold
# each other's leads crosswise; the dialer's claims and ordinary outcomes never wait
# for it.
DO_NOT_CALL_LOCK = 0x4C44_4E43  # "LDNC"


def lock_do_not_call_list() -> None:
    """Take the do-not-call lock until the current transaction ends (PostgreSQL; on
    SQLite a writing transaction holds the whole database already)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DO_NOT_CALL_LOCK])


def block_numbers(phones: QuerySet, *, actor: Actor, reason: str = "") -> TransitionResult:
    """Numbers in ``phones`` (a one-column queryset) joined the do-not-call list:
    every contact with one becomes Do not call, and so does every lead all of whose
    numbers are now on the list.

    A number whose call is in progress is left for the dialer, which checks the list
    before each dial and when the outcome arrives.
    """
    affected = Contact.objects.filter(phone__in=phones)
    affected.exclude(status__in=[ContactStatus.BLACKLISTED, ContactStatus.PROCESSING]).update(
        status=ContactStatus.BLACKLISTED
    )
    return mark_do_not_call(Lead.objects.filter(pk__in=affected.values("lead_id")), actor=actor, reason=reason)


def block_listed_numbers(contacts: QuerySet[Contact], *, actor: Actor) -> int:
    """New numbers among ``contacts`` that are on the do-not-call list become Do not
    call, and so do their leads if every number is. For bulk inserts, which bypass the
    per-number check; returns how many numbers were blocked."""
    listed = contacts.filter(phone__in=DoNotCallNumber.objects.values("phone")).exclude(
        status__in=[ContactStatus.BLACKLISTED, ContactStatus.PROCESSING]
    )
    lead_ids = list(listed.values_list("lead_id", flat=True).distinct())
    blocked = listed.update(status=ContactStatus.BLACKLISTED)
    if blocked:
        mark_do_not_call(Lead.objects.filter(pk__in=lead_ids), actor=actor)
    return blocked


def release_numbers(phones: list[str], *, actor: Actor) -> TransitionResult:
    """Numbers left the do-not-call list: their contacts get a fresh budget, and Do
    not call leads with a number off the list again become Created."""
    affected = Contact.objects.filter(phone__in=phones, status=ContactStatus.BLACKLISTED)
    # The ids are fixed before the update below changes which contacts match.
    leads = Lead.objects.filter(pk__in=list(affected.values_list("lead_id", flat=True).distinct()))
    affected.update(**_FRESH_BUDGET)
    recount_attempts(leads.filter(attempts__gt=0))
    return release_do_not_call(leads, actor=actor)


def mark_do_not_call(leads: QuerySet[Lead], *, actor: Actor, reason: str = "") -> TransitionResult:
    """Do not call, for the leads every one of whose numbers is on the list.

    ``leads.services`` calls it after it puts numbers on the list (which marks the
    contacts); a lead with any number off the list keeps its status.
    """
    return _apply(
        leads,
        _Move(
            to_status=LeadStatus.BLACKLISTED,
            reason="every number is on the do-not-call list",
            skip_rules=[
                SKIP_PROCESSING,
                ("already do not call", Q(status=LeadStatus.BLACKLISTED)),
                (
                    "has a number that is not on the do-not-call list",
                    _has_contact(~Q(status=ContactStatus.BLACKLISTED)),
                ),
                ("has no number", ~_has_contact(Q())),
            ],
            lead_updates={"next_attempt_at": None, "callback_at": None},
        ),
        actor=actor,
        reason=reason,
    )


def release_do_not_call(leads: QuerySet[Lead], *, actor: Actor, reason: str = "") -> TransitionResult:
    """Created again, for Do-not-call leads that have a number off the list again."""
    return _apply(
        leads,
        _Move(
            to_status=LeadStatus.CREATED,
            reason="a number was taken off the do-not-call list",
            skip_rules=[
                ("not do not call", ~Q(status=LeadStatus.BLACKLISTED)),
                ("every number is still on the do-not-call list", ~_has_contact(~Q(status=ContactStatus.BLACKLISTED))),
            ],
            lead_updates={"next_attempt_at": None},
        ),
        actor=actor,
        reason=reason,
    )


# --- The dialer's bulk move ----------------------------------------------------------


def promote_due(leads: QuerySet[Lead], *, now: datetime.datetime, actor: Actor) -> TransitionResult:
    """Rescheduled leads whose time has come become Scheduled."""
    return _apply(
        leads,
        _Move(
            to_status=LeadStatus.SCHEDULED,
            reason="retry is due",
            skip_rules=[
                ("not rescheduled", ~Q(status=LeadStatus.RESCHEDULED)),
                ("not due yet", Q(next_attempt_at__gt=now)),
            ],
        ),
        actor=actor,
        now=now,
    )


# --- The dialer's row-level moves -----------------------------------------------------
# A claim moves at most a campaign's free lines, an outcome one lead: these work on
# rows the dialer has locked, and write their audit rows themselves.


@dataclass(frozen=True)
class Pick:
    """One lead a claim took, with the number to dial and what the AI receives."""

    lead: Lead
    contact: Contact
    variables: dict[str, Any]


def _audit(rows: list[tuple[int, str, str]], *, now: datetime.datetime, actor: Actor, reason: str) -> None:
    """(lead id, from, to) rows of one move, as one operation."""
    operation = uuid.uuid4()
    StatusChange.objects.bulk_create(
        StatusChange(
            lead_id=lead_id,
            operation=operation,
            from_status=old,
            to_status=new,
            changed_at=now,
            source=actor.source,
            actor=actor.user,
            reason=reason[:300],
        )
        for lead_id, old, new in rows
    )


def start_calls(
    campaign: Campaign, picks: list[Pick], *, now: datetime.datetime, backend: str, actor: Actor
) -> list[Call]:
    """Claimed leads (locked by the caller) go to Processing, each with one open call
    to the number picked; the attempt is counted now, when the call is placed."""
    if not picks:
        return []
    calls = Call.objects.bulk_create(
        Call(
            lead_id=pick.lead.pk,
            campaign=campaign,
            phone=pick.contact.phone,
            position=pick.contact.position,
            attempt=pick.contact.attempts + 1,
            backend=backend,
            placed_at=now,
            variables=pick.variables,
        )
        for pick in picks
    )
    Contact.objects.filter(pk__in=[pick.contact.pk for pick in picks]).update(
        status=ContactStatus.PROCESSING, attempts=F("attempts") + 1
    )
    Lead.objects.filter(pk__in=[pick.lead.pk for pick in picks]).update(
        status=LeadStatus.PROCESSING,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        next_attempt_at=None,
        callback_at=None,  # the callback is kept: this is its call
        updated_at=now,
        **_NOT_WAITING,
    )
    for is_callback in (False, True):
        rows = [
            (p.lead.pk, p.lead.status, LeadStatus.PROCESSING)
            for p in picks
            if (p.lead.callback_at is not None) == is_callback
        ]
        if rows:
            _audit(rows, now=now, actor=actor, reason="callback call placed" if is_callback else "call placed")
    return calls


def hold(leads: list[tuple[Lead, datetime.datetime, str, str]], *, now: datetime.datetime) -> None:
    """Due leads (locked by the caller) that a claim may not dial now, each with when
    it may (``until``), why (``waiting``: "window" or "cap") and the words an operator
    reads (``note``): their next attempt moves to ``until`` and they say why they wait.

    Their status stays what it is (a Created lead stays Created, a Scheduled one
    Scheduled: "due, waiting for a free line or the calling window"), so no audit row
    is written: the status history records changes of status, and a hold is the
    dialer's note of when to look again, which every pass may change. The lead's own
    ``waiting`` and ``waiting_note`` say why until it moves.
    """
    if not leads:
        return
    for lead, until, waiting, note in leads:
        lead.next_attempt_at, lead.waiting, lead.waiting_note, lead.updated_at = until, waiting, note[:300], now
    Lead.objects.bulk_update(
        [lead for lead, *_ in leads], ["next_attempt_at", "waiting", "waiting_note", "updated_at"], batch_size=500
    )


def calls_placed(calls: list[Call]) -> None:
    """The backend placed these calls: each lead's dial-error backoff starts again
    from one minute."""
    Lead.objects.filter(pk__in=[call.lead_id for call in calls], dial_errors__gt=0).update(dial_errors=0)


def run_out(leads: list[Lead], numbers: dict[int, list[Contact]], *, now: datetime.datetime, actor: Actor) -> None:
    """Due leads (locked by the caller) without a number that has attempts left: Do
    not call when every number is on the list, else Max retries. A lowered budget or
    numbers joining the list leave such leads; they never stay in the queue."""
    ends: dict[str, list[Lead]] = {}
    for lead in leads:
        ends.setdefault(rules.out_of_numbers(numbers.get(lead.pk, [])).status, []).append(lead)
    for status, group in ends.items():
        Lead.objects.filter(pk__in=[lead.pk for lead in group]).update(
            status=status, next_attempt_at=None, next_position=None, updated_at=now, **_NOT_WAITING
        )
        _audit(
            [(lead.pk, lead.status, status) for lead in group],
            now=now,
            actor=actor,
            reason="no number left with attempts"
            if status != LeadStatus.BLACKLISTED
            else "every number is on the do-not-call list",
        )


@dataclass(frozen=True)
class Report:
    """An outcome as a backend or the webhook reports it (already validated)."""

    outcome: str
    duration_seconds: int | None = None
    goal_achieved: bool | None = None
    extracted_variables: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    recording_url: str = ""
    # [{"role": "agent" | "callee", "text": …, "at": seconds or None}], in order.
    transcript: list[dict[str, Any]] = field(default_factory=list)
    opt_out: bool = False
    # Aware, or naive: then read in the dialled number's local time zone.
    callback_at: datetime.datetime | None = None
    disposition: str = ""


@dataclass
class _Number:
    """One of the lead's numbers as an outcome reads and changes it (a NumberState)."""

    pk: int
    position: int
    phone: str
    status: str
    attempts: int
    callback_attempts: int
    last_outcome: str
    listed: bool  # on the do-not-call list


def _lock_open_call(call_id: uuid.UUID) -> tuple[Call, Lead] | None:
    """Lock the call and its lead, in one statement (the call's row, then the lead's:
    the same order as the timeout closer, so the two never wait on each other
    crosswise); None when the call is closed already, Call.DoesNotExist when there
    is none.

    Only their own rows (FOR UPDATE OF): locking the campaign they join would queue
    every outcome of a campaign behind the one before, and make the dialer's claim
    skip the campaign meanwhile. Only the columns an outcome reads, by hand: the
    ORM's select_related over four tables cost more CPU than the rest of the outcome
    together. The campaign is read whole, unlocked, as the rules read it.
    """
    lock = " FOR UPDATE OF c, l" if connection.features.has_select_for_update_of else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.ended_at IS NOT NULL, c.lead_id, c.campaign_id, c.phone, c.position, "
            "l.campaign_id, l.status, l.timezone, l.callbacks, l.results "
            f"FROM {Call._meta.db_table} c JOIN {Lead._meta.db_table} l ON l.id = c.lead_id WHERE c.id = %s{lock}",
            [_db_value(Call, "id", call_id)],
        )
        row = cursor.fetchone()
    if row is None:
        raise Call.DoesNotExist(f"no call {call_id}")
    ended, lead_id, campaign_id, phone, position, lead_campaign_id, status, zone, callbacks, results = row
    if ended:
        return None
    campaign = Campaign.objects.select_related("assistant").get(pk=campaign_id)
    lead = Lead(
        pk=lead_id,
        campaign_id=lead_campaign_id,
        status=status,
        timezone=zone,
        callbacks=callbacks,
        results=Lead._meta.get_field("results").from_db_value(results, None, connection),
    )
    if lead.campaign_id == campaign.pk:  # always, while its call is open: no second read
        lead.campaign = campaign
    # An open call has no callback yet: record_outcome sets both when it closes it.
    # Never saved (record_outcome updates the row): only what the outcome reads.
    call = Call(pk=call_id, lead=lead, campaign=campaign, phone=phone, position=position, callback_note="")
    return call, lead


def _lock_numbers(lead_id: int) -> list[_Number]:
    """The lead's numbers, locked, by position, each with whether it is on the
    do-not-call list: it may have joined the list while the call was in progress
    (block_numbers left it). By hand too, for the same reason."""
    lock = " FOR UPDATE OF c" if connection.features.has_select_for_update_of else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, c.position, c.phone, c.status, c.attempts, c.callback_attempts, c.last_outcome, "
            f"EXISTS (SELECT 1 FROM {DoNotCallNumber._meta.db_table} d WHERE d.phone = c.phone) "
            f"FROM {Contact._meta.db_table} c WHERE c.lead_id = %s ORDER BY c.position{lock}",
            [lead_id],
        )
        return [_Number(*row[:7], listed=bool(row[7])) for row in cursor.fetchall()]


def record_outcome(call_id: uuid.UUID, report: Report, *, now: datetime.datetime, actor: Actor) -> bool:
    """Close an open call with its outcome and move its lead by the lifecycle's rules
    and those of what the call learnt (results-and-compliance.md §2), in this order:
    an opt-out makes the lead Do not call (``opt_out``); a goal achieved completes it;
    a callback the campaign honours reschedules it to the same number; else the
    ordinary rules, with the outcome's retry interval. Every report's results go onto
    the lead.

    Returns False, moving nothing, when the call is already closed (a repeat, a late
    outcome after ``lost``): the caller keeps the report in the history.
    """
    # No savepoint of its own: the webhook runs it inside the transaction that also
    # keeps the report, and a savepoint is two more round trips per outcome. An error
    # here rolls back the caller's transaction whole, which is what every caller wants.
    with transaction.atomic(savepoint=False):
        if report.opt_out:
            lock_do_not_call_list()  # before any lead: it marks numbers of other leads
        locked = _lock_open_call(call_id)
        if locked is None:
            return False
        call, lead = locked
        campaign = call.campaign
        goal = rules.goal_achieved(campaign, report.goal_achieved, report.extracted_variables)
        conversation = report.outcome == CallOutcome.COMPLETED
        numbers = _lock_numbers(lead.pk)
        dialled = next((n for n in numbers if n.phone == call.phone), None)
        listed = dialled is not None and dialled.listed

        call.ended_at = now
        call.outcome = report.outcome
        call.duration_seconds = report.duration_seconds
        call.goal_achieved = goal if conversation else report.goal_achieved
        call.extracted_variables = report.extracted_variables
        call.summary = report.summary
        call.recording_url = report.recording_url
        call.transcript = report.transcript
        call.disposition = report.disposition
        call.opt_out = report.opt_out
        honoured: rules.Callback | None = None
        if report.callback_at is not None:
            zone = hours.number_zone(lead, dialled)
            call.callback_at = _callback_instant(report.callback_at, zone)
            if report.opt_out:
                call.callback_note = "ignored: the callee opted out"
            elif conversation and goal:
                call.callback_note = "ignored: the goal was achieved"
            else:
                decision = _callback(call, lead, dialled, listed, report.outcome, call.callback_at, zone=zone, now=now)
                call.callback_note = decision.note
                honoured = decision if decision.honoured else None
        # Only the outcome's fields: the dialer may be storing the provider's call id.
        Call.objects.filter(pk=call.pk).update(
            **{
                name: getattr(call, name)
                for name in (
                    "ended_at",
                    "outcome",
                    "duration_seconds",
                    "goal_achieved",
                    "extracted_variables",
                    "summary",
                    "recording_url",
                    "transcript",
                    "disposition",
                    "opt_out",
                    "callback_at",
                    "callback_note",
                )
            }
        )
        learnt = _results(lead, call, report, conversation=conversation)
        if report.opt_out:
            _opt_out(call, lead, numbers, learnt, now=now, actor=actor)
            return True

        # A callback honoured is an appointment: the call is no success even when the
        # campaign would complete a conversation without its goal.
        success = rules.is_success(campaign, report.outcome, goal) and honoured is None
        if dialled is not None:
            dialled.last_outcome = report.outcome
            if honoured is not None:
                dialled.callback_attempts += 1  # one more attempt, outside the budget
            dialled.status = rules.number_after_outcome(
                dialled,
                campaign.attempts_per_number,
                outcome=report.outcome,
                success=success,
                on_do_not_call_list=listed,
            )
            Contact.objects.filter(pk=dialled.pk).update(
                status=dialled.status, last_outcome=dialled.last_outcome, callback_attempts=dialled.callback_attempts
            )
        if lead.status != LeadStatus.PROCESSING:
            return True  # cannot happen while the call is open; the call is closed at least
        reason = f"call outcome: {report.outcome}" + (" (goal achieved)" if goal and success else "")
        if honoured is not None:
            step = rules.NextStep(LeadStatus.RESCHEDULED, honoured.at, call.position)
        else:
            step = rules.after_outcome(numbers, call.position, campaign, now, success=success, outcome=report.outcome)
        if call.callback_note:
            reason += f"; callback {call.callback_note}"
        _audit([(lead.pk, lead.status, step.status)], now=now, actor=actor, reason=reason)
        Lead.objects.filter(pk=lead.pk).update(
            status=step.status,
            next_attempt_at=step.next_attempt_at,
            next_position=step.next_position,
            last_outcome=report.outcome,
            callback_at=honoured.at if honoured is not None else None,
            callbacks=F("callbacks") + (1 if honoured is not None else 0),
            updated_at=now,
            **_NOT_WAITING,  # cleared when its call was placed already; kept so whatever the path
            **learnt,
        )
    return True


def _callback_instant(requested: datetime.datetime, zone: str) -> datetime.datetime:
    """A requested time as an instant: with an offset it is that instant, without one
    it is read in the number's zone."""
    if timezone.is_aware(requested):
        return requested
    return requested.replace(tzinfo=hours.zone_info(zone))


def _callback(
    call: Call,
    lead: Lead,
    dialled: _Number | None,
    listed: bool,
    outcome: str,
    requested: datetime.datetime,
    *,
    zone: str,
    now: datetime.datetime,
) -> rules.Callback:
    if dialled is None:
        return rules.Callback(None, "not honoured: the number is no longer the lead's")
    if listed:
        return rules.Callback(None, "not honoured: the number is on the do-not-call list")
    if outcome == CallOutcome.INVALID_NUMBER:
        return rules.Callback(None, "not honoured: the number was reported invalid")
    campaign = call.campaign
    return rules.callback(
        campaign,
        requested,
        callbacks_so_far=lead.callbacks,
        now=now,
        zone=zone,
        next_opening=lambda at: windows.window_opening(campaign, dialled.phone, lead.timezone, at),
    )


def _results(lead: Lead, call: Call, report: Report, *, conversation: bool) -> dict[str, Any]:
    """What the report adds to the lead's results: every report's extracted variables
    (the latest value of each name wins), and a conversation's goal, disposition,
    summary, duration and recording."""
    learnt: dict[str, Any] = {}
    if report.extracted_variables:
        learnt["results"] = {**(lead.results or {}), **report.extracted_variables}
    if conversation:
        learnt.update(
            conversation_call=call,
            goal_achieved=call.goal_achieved,
            disposition=report.disposition,
            summary=report.summary,
            duration_seconds=report.duration_seconds,
            recording_url=report.recording_url,
        )
    return learnt


def _opt_out(
    call: Call,
    lead: Lead,
    numbers: list[_Number],
    learnt: dict[str, Any],
    *,
    now: datetime.datetime,
    actor: Actor,
) -> None:
    """The callee asked not to be called again: the Do not call action, performed by
    the call. Every number of the lead joins the do-not-call list, the lead becomes Do
    not call, and the same numbers are marked in every other lead and campaign."""
    note = f"opted out on call {call.pk}"
    phones = [number.phone for number in numbers]
    DoNotCallNumber.objects.bulk_create(
        [
            DoNotCallNumber(
                phone=phone, reason=f"the callee opted out on a call ({now:%Y-%m-%d})", source="call", call=call
            )
            for phone in phones
        ],
        ignore_conflicts=True,
    )
    Contact.objects.filter(lead=lead).update(status=ContactStatus.BLACKLISTED)
    Contact.objects.filter(lead=lead, phone=call.phone).update(last_outcome=call.outcome)
    if lead.status == LeadStatus.PROCESSING:
        _audit([(lead.pk, lead.status, LeadStatus.BLACKLISTED)], now=now, actor=actor, reason=note)
        Lead.objects.filter(pk=lead.pk).update(
            status=LeadStatus.BLACKLISTED,
            next_attempt_at=None,
            next_position=None,
            callback_at=None,
            last_outcome=call.outcome,
            opted_out_at=now,
            updated_at=now,
            **learnt,
        )
    block_numbers(DoNotCallNumber.objects.filter(phone__in=phones).values("phone"), actor=actor, reason=note)


def dial_failed(call_id: uuid.UUID, *, error: str, now: datetime.datetime, actor: Actor) -> bool:
    """The call never reached the provider: closed as ``dial-error``, its attempt
    given back, and the lead Rescheduled to retry the same number after a backoff of
    1, 2, 4 … minutes (capped at the retry interval). Returns False if the call was
    closed meanwhile."""
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=call_id)
        if call.ended_at is not None:
            return False
        call.ended_at = now
        call.outcome = CallOutcome.DIAL_ERROR
        call.backend_data = {**call.backend_data, "error": error[:1000]}
        call.save(update_fields=["ended_at", "outcome", "backend_data"])
        lead = Lead.objects.select_for_update().get(pk=call.lead_id)
        dialled = Contact.objects.select_for_update().filter(lead=lead, phone=call.phone).first()
        given_back = rules.number_after_dial_error(dialled) if dialled is not None else None
        if given_back is not None:
            dialled.status, dialled.attempts = given_back
            dialled.save(update_fields=["attempts", "status"])
        if lead.status != LeadStatus.PROCESSING:
            return True
        errors = lead.dial_errors + 1
        _audit([(lead.pk, lead.status, LeadStatus.RESCHEDULED)], now=now, actor=actor, reason=f"dial error: {error}")
        Lead.objects.filter(pk=lead.pk).update(
            status=LeadStatus.RESCHEDULED,
            attempts=Greatest(F("attempts") - 1, 0),
            dial_errors=errors,
            next_attempt_at=now + rules.dial_error_backoff(call.campaign, errors),
            next_position=call.position,
            last_outcome=CallOutcome.DIAL_ERROR,
            updated_at=now,
            **_NOT_WAITING,
        )
    return True
