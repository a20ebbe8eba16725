"""Writes to leads and their numbers that are not status changes: creating a lead,
editing its numbers and variables, and keeping the do-not-call list.

Status changes go through ``leads.transitions``; these functions call it when an edit
makes a lead Do not call (every number on the list) or releases it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import transitions
from .consent import CONSENT_FIELDS
from .models import MAX_SECONDARY_NUMBERS, Contact, DoNotCallNumber, Lead, LeadStatus
from .transitions import Actor, TransitionResult


@dataclass(frozen=True)
class Number:
    """A number as the operator wants it: E.164 already, its own variable values, and
    the contact it edits (None for a new one)."""

    phone: str
    variables: dict[str, str] = field(default_factory=dict)
    contact_id: int | None = None


class LeadBusy(ValidationError):
    """A call to the lead is in progress; nothing about it changes by hand until it ends."""


def _check_numbers(campaign_id: int, lead_id: int | None, primary: str, secondaries: Sequence[Number]) -> None:
    if len(secondaries) > MAX_SECONDARY_NUMBERS:
        raise ValidationError(f"A lead has at most {MAX_SECONDARY_NUMBERS} secondary numbers.")
    seen = {primary}
    for number in secondaries:
        if number.phone in seen:
            raise ValidationError(f"{number.phone} is listed twice; each number of a lead must differ.")
        seen.add(number.phone)
    taken = Contact.objects.filter(campaign_id=campaign_id, position=0, phone=primary)
    if lead_id is not None:
        taken = taken.exclude(lead_id=lead_id)
    if taken.exists():
        raise ValidationError(f"Another lead of this campaign already has the primary number {primary}.")


def _blocked(phones: Iterable[str]) -> set[str]:
    return set(DoNotCallNumber.objects.filter(phone__in=list(phones)).values_list("phone", flat=True))


@transaction.atomic
def lead_create(
    *, lead: Lead, primary_phone: str, variables: dict[str, str], secondaries: Sequence[Number] = (), actor: Actor
) -> Lead:
    """Save the unsaved ``lead`` (campaign and timezone set) with its numbers.

    Numbers on the do-not-call list start as Do not call; a lead all of whose numbers
    are on it becomes Do not call at once.
    """
    _check_numbers(lead.campaign_id, None, primary_phone, secondaries)
    lead.save()
    numbers = [Number(primary_phone, variables), *secondaries]
    blocked = _blocked(n.phone for n in numbers)
    Contact.objects.bulk_create(
        Contact(
            lead=lead,
            campaign_id=lead.campaign_id,
            position=position,
            phone=number.phone,
            variables=number.variables,
            status=transitions.new_number_status(on_do_not_call_list=number.phone in blocked),
        )
        for position, number in enumerate(numbers)
    )
    _reconcile_do_not_call(lead, actor)
    return lead


def _refuse_if_processing(lead: Lead) -> None:
    current = Lead.objects.select_for_update().filter(pk=lead.pk).values_list("status", flat=True).first()
    if current == LeadStatus.PROCESSING:
        raise LeadBusy("A call to this lead is in progress; edit it when the call has ended.")


@transaction.atomic
def lead_update(*, lead: Lead, primary_phone: str, variables: dict[str, str], actor: Actor) -> Lead:
    """Save the lead's own fields, its primary number and the lead's variables.

    A primary number that changes is a new number: it starts with a fresh budget.
    """
    _refuse_if_processing(lead)
    _check_numbers(lead.campaign_id, lead.pk, primary_phone, [])
    lead.save(update_fields=["timezone", *CONSENT_FIELDS, "updated_at"])
    primary = Contact.objects.get(lead=lead, position=0)
    if primary.phone != primary_phone:
        if Contact.objects.filter(lead=lead, phone=primary_phone).exists():
            raise ValidationError(f"{primary_phone} is already one of this lead's secondary numbers.")
        primary.phone = primary_phone
        primary.status = transitions.new_number_status(on_do_not_call_list=bool(_blocked([primary_phone])))
        primary.attempts = 0
        primary.last_outcome = ""
    primary.variables = variables
    primary.save(update_fields=["phone", "status", "attempts", "last_outcome", "variables"])
    _numbers_changed(lead, actor)
    return lead


@transaction.atomic
def lead_set_secondary_numbers(*, lead: Lead, numbers: Sequence[Number], actor: Actor) -> None:
    """Make the lead's secondary numbers exactly ``numbers``, in that order.

    A kept number keeps its state and attempts whatever its new position; a number
    whose digits change is a new number with a fresh budget. Contacts that move are
    deleted and inserted again under the same id in one transaction: that is the one
    way to permute positions that works on SQLite and PostgreSQL alike while
    (lead, position) stays unique at every statement.
    """
    _refuse_if_processing(lead)
    existing = {c.pk: c for c in Contact.objects.filter(lead=lead, position__gt=0)}
    primary_phone = Contact.objects.filter(lead=lead, position=0).values_list("phone", flat=True).get()
    _check_numbers(lead.campaign_id, lead.pk, primary_phone, numbers)
    blocked = _blocked(n.phone for n in numbers)

    desired: list[Contact] = []
    for position, number in enumerate(numbers, start=1):
        old = existing.get(number.contact_id) if number.contact_id else None
        if old is not None and old.phone == number.phone:
            contact = Contact(pk=old.pk, status=old.status, attempts=old.attempts, last_outcome=old.last_outcome)
        else:
            contact = Contact(status=transitions.new_number_status(on_do_not_call_list=number.phone in blocked))
        contact.lead = lead
        contact.campaign_id = lead.campaign_id
        contact.position = position
        contact.phone = number.phone
        contact.variables = number.variables
        desired.append(contact)

    unchanged = {
        c.pk
        for c in desired
        if c.pk in existing and (existing[c.pk].position, existing[c.pk].phone) == (c.position, c.phone)
    }
    Contact.objects.filter(lead=lead, position__gt=0).exclude(pk__in=unchanged).delete()
    for contact in desired:
        if contact.pk in unchanged and contact.variables != existing[contact.pk].variables:
            contact.save(update_fields=["variables"])
    Contact.objects.bulk_create([c for c in desired if c.pk not in unchanged])
    _numbers_changed(lead, actor)


def _numbers_changed(lead: Lead, actor: Actor) -> None:
    """An edit changed the lead's numbers: its attempt total, and maybe its Do not
    call, follow (both read back onto ``lead``)."""
    transitions.recount_attempts(Lead.objects.filter(pk=lead.pk))
    _reconcile_do_not_call(lead, actor)


def _reconcile_do_not_call(lead: Lead, actor: Actor) -> None:
    one = Lead.objects.filter(pk=lead.pk)
    transitions.mark_do_not_call(one, actor=actor)
    transitions.release_do_not_call(one, actor=actor)
    lead.refresh_from_db(fields=["status", "next_attempt_at", "attempts"])


# --- Do-not-call list --------------------------------------------------------------


@dataclass
class DoNotCallResult:
    numbers_added: int
    leads: TransitionResult


@transaction.atomic
def do_not_call_add(*, phones: Iterable[str], reason: str = "", actor: Actor) -> DoNotCallResult:
    """Put numbers (E.164) on the list; see ``transitions.block_numbers`` for what follows."""
    transitions.lock_do_not_call_list()
    phones = sorted(set(phones))
    before = DoNotCallNumber.objects.filter(phone__in=phones).count()
    DoNotCallNumber.objects.bulk_create(
        [DoNotCallNumber(phone=phone, reason=reason[:300], added_by=actor.user) for phone in phones],
        ignore_conflicts=True,
    )
    added = DoNotCallNumber.objects.filter(phone__in=phones).count() - before
    listed = DoNotCallNumber.objects.filter(phone__in=phones).values("phone")
    return DoNotCallResult(numbers_added=added, leads=transitions.block_numbers(listed, actor=actor))


def do_not_call_leads_skip_rules() -> list[tuple[str, Q]]:
    """The leads (and so the numbers) the Do not call action skips; its confirmation
    page counts them."""
    return [transitions.SKIP_PROCESSING, ("already do not call", Q(status=LeadStatus.BLACKLISTED))]


@transaction.atomic
def do_not_call_leads(*, leads: QuerySet[Lead], actor: Actor) -> DoNotCallResult:
    """The admin action: every number of the selected leads goes on the list, in a
    few statements however many leads are selected.

    Leads in Processing or already Do not call are skipped, and so are their numbers.
    """
    transitions.lock_do_not_call_list()
    selection = Lead.objects.filter(pk__in=leads.order_by().values("pk"))
    skipped, _ = transitions.count_skips(selection, do_not_call_leads_skip_rules())
    eligible = selection.exclude(status__in=[LeadStatus.PROCESSING, LeadStatus.BLACKLISTED])
    phones = Contact.objects.filter(lead__in=eligible.values("pk")).order_by().values("phone").distinct()
    before = DoNotCallNumber.objects.count()
    try:
        select_sql, select_params = phones.query.sql_with_params()
    except EmptyResultSet:  # an empty selection (leads.none()): no number to list
        return DoNotCallResult(numbers_added=0, leads=TransitionResult(skipped=skipped))
    with connection.cursor() as cursor:
        # INSERT … SELECT: the numbers never travel through Python.
        cursor.execute(
            f"INSERT INTO {DoNotCallNumber._meta.db_table} (phone, reason, added_by_id, created_at) "
            f"SELECT sel.phone, %s, %s, %s FROM ({select_sql}) sel WHERE true "
            "ON CONFLICT (phone) DO NOTHING",
            [
                "do not call (lead action)",
                actor.user.pk if actor.user is not None else None,
                DoNotCallNumber._meta.get_field("created_at").get_db_prep_value(timezone.now(), connection),
                *select_params,
            ],
        )
    added = DoNotCallNumber.objects.count() - before
    result = transitions.block_numbers(phones, actor=actor)
    result.skipped = skipped
    return DoNotCallResult(numbers_added=added, leads=result)


@transaction.atomic
def do_not_call_remove(*, phones: Iterable[str], actor: Actor) -> TransitionResult:
    """Take numbers off the list; see ``transitions.release_numbers`` for what follows."""
    phones = sorted(set(phones))
    DoNotCallNumber.objects.filter(phone__in=phones).delete()
    return transitions.release_numbers(phones, actor=actor)
