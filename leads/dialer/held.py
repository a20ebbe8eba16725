"""Who of a campaign cannot be called now, and why (results-and-compliance.md §7;
issue 13, point 5): the leads outside their calling window now, over a calling cap,
without the consent the campaign requires, and when the next window opens. The
campaign's Start confirmation and its dashboard show them.

What is counted, each lead once, by the first reason a claim would meet:

- *without consent*: the campaign's dialable leads (Created, Scheduled, Rescheduled)
  without the consent it requires, due or not: no claim ever takes them.
- of the others, those a claim would take now (due) or that a claim already held
  (``Lead.waiting``, until ``next_attempt_at``):
  - *outside the window*: held for the window, or due and the number the strategy
    dials next (the first with attempts left from the lead's cursor, else the first:
    the primary unless it is spent) outside its effective window now;
  - *over a cap*: held for a cap, or due, inside the window, and that number already
    has as many calls (over all campaigns, dial errors aside: they never rang) in the
    rolling 24 hours or 7 days as its tightest cap allows.

Leads not yet due (a retry at a later hour) are waiting for their time, not held.

Cost: one scan of the campaign's due leads (the lead_due index) with each one's next
number (one index probe of its numbers), grouped in SQL by the lead's zone and the
number's deciding prefix (``leads.phonedata.prefix_depths``; a few hundred groups for a
country), then the window computed once per group; the numbers near a cap come from
the calls of the last 7 days, grouped by number, joined by number. Numbers of
countries with several zones outside the NANP, on leads without their own zone, are
grouped number by number: libphonenumber decides their zone from the whole number.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, F, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, Consent
from leads import phonedata
from leads.models import DIALABLE_LEAD_STATUSES, Call, CallOutcome, Contact, ContactStatus, Lead, Waiting
from leads.selectors import consent_missing_count

from .hours import zone_info, zones_of
from .windows import RuleBook, window_opening

DAY = datetime.timedelta(hours=24)
WEEK = datetime.timedelta(days=7)
# Number states a strategy never dials (leads.dialer.rules._SPENT).
SPENT = (ContactStatus.BLACKLISTED, ContactStatus.REACHED_MAX_RETRIES, ContactStatus.COMPLETED)


@dataclass(frozen=True)
class HeldLeads:
    """The leads a campaign's dialer leaves for now, at ``now``."""

    outside_window: int
    over_cap: int
    without_consent: int | None  # None: the campaign requires no consent
    now: datetime.datetime
    next_opening: datetime.datetime | None = None  # the soonest a lead outside its window may be dialled
    next_opening_zone: str = ""  # the zone it opens in (a lead's, its number's)
    required_consent: str = ""  # the campaign's requirement, as its page names it

    @property
    def any(self) -> bool:
        return bool(self.outside_window or self.over_cap or self.without_consent)

    @property
    def next_opening_local(self) -> str:
        """ "08:00 EST" (with the day when not today there: "Mon 08:00 EST")."""
        if self.next_opening is None:
            return ""
        zone = zone_info(self.next_opening_zone or "UTC")
        local, today = self.next_opening.astimezone(zone), self.now.astimezone(zone)
        return f"{local:%a} {local:%H:%M %Z}" if local.date() != today.date() else f"{local:%H:%M %Z}"

    @property
    def next_opening_in(self) -> str:
        """ "2 h 10 min", "35 min", "3 days 4 h"."""
        if self.next_opening is None:
            return ""
        minutes = max(0, round((self.next_opening - self.now).total_seconds() / 60))
        days, minutes = divmod(minutes, 24 * 60)
        hours, minutes = divmod(minutes, 60)
        parts = [f"{days} day{'' if days == 1 else 's'}"] if days else []
        parts += [f"{hours} h"] if hours else []
        parts += [f"{minutes} min"] if minutes and not days else []
        return " ".join(parts) or "now"


def consent_lacking(campaign: Campaign) -> Q:
    """Leads without the consent ``campaign`` requires (nothing when it requires none)."""
    accepted = campaign.satisfying_consents()
    return Q(pk__in=[]) if accepted is None else ~Q(consent__in=accepted)


def _next_number(campaign: Campaign) -> Coalesce:
    """The phone a claim would dial for the outer lead: the first number with attempts
    left at or after the lead's cursor, else the first with attempts left
    (leads.dialer.rules.number_to_dial), each read from (lead, position). Two
    subqueries, not one ordered by the cursor: SQLite cannot order a subquery in FROM
    by an outer column."""
    budget = campaign.attempts_per_number
    numbers = (
        Contact.objects.filter(lead=OuterRef("pk"), attempts__lt=budget + F("callback_attempts"))
        .exclude(status__in=SPENT)
        .order_by("position")
        .values("phone")
    )
    from_cursor = numbers.filter(position__gte=Coalesce(OuterRef("next_position"), Value(0)))
    return Coalesce(Subquery(from_cursor[:1]), Subquery(numbers[:1]))


def _prefix_key(column: str) -> tuple[str, list]:
    """A SQL expression of ``column`` (a phone) that two numbers share exactly when the
    zone and region tables answer them alike, and its parameters (see the module)."""
    by_depth: dict[int, list[str]] = {}
    for head, depth in phonedata.prefix_depths().items():
        by_depth.setdefault(depth, []).append(head)
    codes: dict[int, list[str]] = {}
    for code in phonedata.several_zone_codes():
        codes.setdefault(len(code), []).append(code)
    params: list = []
    whole = []
    for length, group in sorted(codes.items()):
        whole.append(f"SUBSTR({column}, 2, {length}) IN ({', '.join(['%s'] * len(group))})")
        params += sorted(group)
    sql = f"CASE WHEN tz = '' AND ({' OR '.join(whole)}) THEN {column} " if whole else "CASE "
    for depth, heads in sorted(by_depth.items()):
        sql += (
            f"WHEN SUBSTR({column}, 2, 4) IN ({', '.join(['%s'] * len(heads))}) THEN SUBSTR({column}, 1, {depth + 1}) "
        )
        params += sorted(heads)
    return sql + f"ELSE SUBSTR({column}, 1, 5) END", params


def _near_caps(book: RuleBook, now: datetime.datetime):
    """The calls of the last 7 days per number (over all campaigns), of the numbers that
    reach the loosest cap of any rule (a query), or None when no rule caps calls."""
    rules = [rule for of_country in book.by_country.values() for rule in of_country]
    caps_24h = [rule.max_calls_24h for rule in rules if rule.max_calls_24h]
    caps_7d = [rule.max_calls_7d for rule in rules if rule.max_calls_7d]
    if not caps_24h and not caps_7d:
        return None
    reach = Q()
    if caps_24h:
        reach |= Q(c24__gte=min(caps_24h))
    if caps_7d:
        reach |= Q(c7__gte=min(caps_7d))
    return (
        Call.objects.filter(placed_at__gt=now - (WEEK if caps_7d else DAY), placed_at__lte=now)
        .exclude(outcome=CallOutcome.DIAL_ERROR)
        .order_by()
        .values("phone")
        .annotate(c24=Count("pk", filter=Q(placed_at__gt=now - DAY)), c7=Count("pk"))
        .filter(reach)
        .values("phone", "c24", "c7")
    )


def held_leads(campaign: Campaign, *, now: datetime.datetime) -> HeldLeads:
    """The counts of the module's docstring for ``campaign`` at ``now``, in three or
    four queries whatever the number of leads, plus the window once per group."""
    dialable = Lead.objects.filter(campaign=campaign, status__in=DIALABLE_LEAD_STATUSES).order_by()
    lacking = consent_lacking(campaign)
    without_consent = consent_missing_count(campaign) if campaign.satisfying_consents() is not None else None
    consenting = dialable.exclude(lacking)
    held = dict(
        consenting.exclude(waiting="").filter(next_attempt_at__gt=now).values_list("waiting").annotate(n=Count("pk"))
    )
    next_held = consenting.filter(waiting=Waiting.WINDOW, next_attempt_at__gt=now).aggregate(
        first=Min("next_attempt_at")
    )["first"]
    due = (
        consenting.alias(due=Coalesce("next_attempt_at", "created_at"))
        .filter(due__lte=now)
        .annotate(tz=F("timezone"), dial=_next_number(campaign))
        .values("tz", "dial")
    )
    rules = RuleBook.load()
    inner_sql, inner_params = due.query.sql_with_params()
    key_sql, key_params = _prefix_key("dial")
    near = _near_caps(rules, now)
    if near is None:
        joined, join_params, counts = "", (), "NULL, NULL"
    else:
        near_sql, join_params = near.query.sql_with_params()
        joined, counts = f"LEFT JOIN ({near_sql}) calls ON calls.phone = leads.dial", "calls.c24, calls.c7"
    # MATERIALIZED (PostgreSQL 12+, SQLite 3.35+): each lead's next number is looked up
    # once; as a plain subquery, PostgreSQL copies the lookup into every use of ``dial``
    # in the prefix's CASE (21 s instead of under one for 200,000 leads).
    sql = (
        f"WITH leads AS MATERIALIZED ({inner_sql}) "
        f"SELECT tz, {key_sql} AS prefix, {counts}, COUNT(*), MIN(dial) "
        f"FROM leads {joined} WHERE dial IS NOT NULL GROUP BY 1, 2, 3, 4"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The planner misjudges the join by phone (millions of rows for thousands)
            # and compiles the query: 2 s of JIT for a query of 2 s.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, [*inner_params, *key_params, *join_params])
        groups = cursor.fetchall()

    outside = held.get(Waiting.WINDOW, 0)
    over_cap = held.get(Waiting.CAP, 0)
    opening, opening_zone = next_held, ""
    openings: dict[tuple[str, str], datetime.datetime | None] = {}
    for tz, prefix, calls_24h, calls_7d, n, phone in groups:
        if (tz, prefix) not in openings:
            openings[(tz, prefix)] = window_opening(campaign, phone, tz, now, rules=rules)
        opens = openings[(tz, prefix)]
        if opens != now:
            outside += n
            if opens is not None and (opening is None or opens < opening):
                opening, opening_zone = opens, zones_of(phone, tz, campaign)[0][0]
            continue
        cap_24h, cap_7d = number_caps(phone, rules)
        if cap_24h and (calls_24h or 0) >= cap_24h or cap_7d and (calls_7d or 0) >= cap_7d:
            over_cap += n
    if opening is not None and not opening_zone:
        opening_zone = campaign.effective_timezone()
    return HeldLeads(
        outside_window=outside,
        over_cap=over_cap,
        without_consent=without_consent,
        now=now,
        next_opening=opening,
        next_opening_zone=opening_zone,
        required_consent=Consent(campaign.requires_consent).label if without_consent is not None else "",
    )


def number_caps(phone: str, rules: RuleBook) -> tuple[int | None, int | None]:
    """The tightest 24-hour and 7-day caps of the number's rules (None: no cap)."""
    caps = {cap.period: cap.calls for cap in rules.caps(phone)}
    return caps.get(DAY), caps.get(WEEK)
