"""When a number may be dialled: its calling window and its call caps
(results-and-compliance.md §3–§4).

A number's window is its campaign's hours and days intersected with every enabled
calling rule that matches it (its country calling code, and its US state or Canadian
province when a rule names one): each rule's earliest and latest local time, its
days and its holidays, read in each of the number's zones (``hours.zones_of``); with
several zones a moment is inside only when it is inside in every one. A rule's
``latest`` is the last moment a call may start (21:00 means up to 21:00:00), the
campaign's end is its whole minute (23:59 means until midnight), as before.

Caps: at most N calls to one number in any rolling 24 hours / 7 days, over every
campaign; the tightest matching rule wins. Every call counts whatever its outcome,
in flight or lost included, except a dial error, which never reached the provider
(nobody's phone rang). The claim reads them for a whole batch of numbers in one query
on the call_phone index (``CapCounts.read``).

Everything here is a pure function of its arguments and the rules table, which
``RuleBook.load`` reads once (one query of a few rows): a claim loads it once and
hands it to every check; so does whoever counts a campaign's leads outside their
window.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from campaigns.models import CallingRule, Campaign
from campaigns.validators import DAYS
from leads import phonedata
from leads.models import Call, CallOutcome

from .hours import zone_info, zones_of

# How far ahead an opening is looked for: beyond it a number "never" opens (a campaign
# with no allowed day, rules whose days or hours never meet).
HORIZON = datetime.timedelta(days=30)
DAY = datetime.timedelta(days=1)
WEEK = datetime.timedelta(days=7)
_LAST_OF_MINUTE = datetime.timedelta(seconds=59, microseconds=999_999)


@dataclass(frozen=True)
class Rule:
    """One enabled CallingRule, as the checks read it."""

    name: str
    country_code: str
    region: str
    earliest: datetime.time | None
    latest: datetime.time | None
    days: frozenset[str]  # empty: every day
    holidays: frozenset[datetime.date]
    max_calls_24h: int | None
    max_calls_7d: int | None

    @classmethod
    def of(cls, row: CallingRule) -> Rule:
        holidays = set()
        for day in row.holidays or []:
            try:
                holidays.add(datetime.date.fromisoformat(day))
            except (TypeError, ValueError):
                continue  # the form validates them; a row written around it loses a bad date only
        return cls(
            name=row.name,
            country_code=row.country_code,
            region=row.region,
            earliest=row.earliest,
            latest=row.latest,
            days=frozenset(row.days or ()),
            holidays=frozenset(holidays),
            max_calls_24h=row.max_calls_24h,
            max_calls_7d=row.max_calls_7d,
        )


@dataclass(frozen=True)
class Cap:
    """The tightest cap of one length among a number's rules."""

    calls: int
    period: datetime.timedelta
    rule: str

    def describe(self) -> str:
        return f"{self.calls} call{'s' if self.calls != 1 else ''} in {'24 hours' if self.period == DAY else '7 days'}"


@dataclass(frozen=True)
class Window:
    """A campaign's window narrowed by a number's rules: allowed local days (none
    excluded when ``days`` is None), local dates excluded, and the local times from
    ``start`` to ``end`` (both included)."""

    days: frozenset[str]
    holidays: frozenset[datetime.date]
    start: datetime.time
    end: datetime.time

    def allows_day(self, day: datetime.date) -> bool:
        return DAYS[day.weekday()] in self.days and day not in self.holidays

    def inside(self, zone: str, at: datetime.datetime) -> bool:
        local = at.astimezone(zone_info(zone))
        return self.allows_day(local.date()) and self.start <= local.time().replace(tzinfo=None) <= self.end

    def opening_in(self, zone: str, at: datetime.datetime, until: datetime.datetime) -> datetime.datetime | None:
        """``at`` when inside in ``zone``, else the first moment after it that is; None
        before ``until``."""
        if self.inside(zone, at):
            return at
        if self.start > self.end:
            return None
        tz = zone_info(zone)
        day = at.astimezone(tz).date()
        while True:
            # A start in a daylight-saving gap reads with the offset before the change
            # (fold=0): an hour later on the wall clock; inside() checks it is still in.
            opening = datetime.datetime.combine(day, self.start, tzinfo=tz).astimezone(datetime.UTC)
            if opening > until:
                return None
            if opening > at and self.inside(zone, opening):
                return opening
            day += DAY


@dataclass
class RuleBook:
    """The enabled calling rules by country calling code, read once per claim."""

    by_country: dict[str, list[Rule]] = field(default_factory=dict)
    _windows: dict[tuple, Window | None] = field(default_factory=dict)

    @classmethod
    def load(cls) -> RuleBook:
        book: dict[str, list[Rule]] = defaultdict(list)
        for row in CallingRule.objects.filter(enabled=True).order_by("country_code", "region", "pk"):
            book[row.country_code].append(Rule.of(row))
        return cls(by_country=dict(book))

    def matching(self, phone: str) -> tuple[Rule, ...]:
        """Every rule of the number's country calling code that names no region or
        names the number's region."""
        rules = self.by_country.get(phonedata.country_code(phone), ())
        if not rules:
            return ()
        if any(rule.region for rule in rules):
            region = phonedata.region_for(phone)
            return tuple(rule for rule in rules if not rule.region or rule.region == region)
        return tuple(rules)

    def window(self, campaign: Campaign, rules: tuple[Rule, ...]) -> Window | None:
        """The campaign's window narrowed by ``rules``; None when nothing is left of it
        (no day, or the latest before the earliest). Cached per campaign's settings."""
        key = (
            tuple(campaign.allowed_days),
            campaign.allowed_hours_start,
            campaign.allowed_hours_end,
            rules,
        )
        if key not in self._windows:
            self._windows[key] = _narrowed(campaign, rules)
        return self._windows[key]

    def caps(self, phone: str) -> tuple[Cap, ...]:
        return caps_of(self.matching(phone))


def _narrowed(campaign: Campaign, rules: tuple[Rule, ...]) -> Window | None:
    days = frozenset(campaign.allowed_days)
    holidays: frozenset[datetime.date] = frozenset()
    start = campaign.allowed_hours_start
    end = (datetime.datetime.combine(datetime.date.min, campaign.allowed_hours_end) + _LAST_OF_MINUTE).time()
    for rule in rules:
        if rule.days:
            days &= rule.days
        holidays |= rule.holidays
        if rule.earliest is not None:
            start = max(start, rule.earliest)
        if rule.latest is not None:
            end = min(end, rule.latest)
    if not days or start > end:
        return None
    return Window(days=days, holidays=holidays, start=start, end=end)


def caps_of(rules: Iterable[Rule]) -> tuple[Cap, ...]:
    """The tightest 24-hour and 7-day caps of ``rules`` (none, one or both)."""
    caps = []
    for attr, period in (("max_calls_24h", DAY), ("max_calls_7d", WEEK)):
        tight = min((rule for rule in rules if getattr(rule, attr)), key=lambda r: getattr(r, attr), default=None)
        if tight is not None:
            caps.append(Cap(getattr(tight, attr), period, tight.name))
    return tuple(caps)


def opening(window: Window | None, zones: tuple[str, ...], at: datetime.datetime) -> datetime.datetime | None:
    """The first moment from ``at`` inside ``window`` in every one of ``zones``; None
    when none comes within the horizon.

    Each zone's own next opening is a lower bound of the common one (no moment before
    it is inside in that zone), so the latest of them is tried next until all agree.
    """
    if window is None:
        return None
    until = at + HORIZON
    moment = at
    while moment <= until:
        candidates = [window.opening_in(zone, moment, until) for zone in zones]
        if any(candidate is None for candidate in candidates):
            return None
        latest = max(candidates)
        if latest == moment:
            return moment
        moment = latest
    return None


def window_opening(
    campaign: Campaign, phone: str, lead_timezone: str, at: datetime.datetime, *, rules: RuleBook | None = None
) -> datetime.datetime | None:
    """``at`` when the number may be dialled then by its window, else the next moment
    it may; None when it may not within 30 days. Caps are not looked at.

    ``rules``: the calling rules as ``RuleBook.load`` read them; pass one book to many
    calls (each call without one reads the table).
    """
    book = rules if rules is not None else RuleBook.load()
    zones, _ = zones_of(phone, lead_timezone, campaign)
    return opening(book.window(campaign, book.matching(phone)), zones, at)


# --- caps ------------------------------------------------------------------------------


@dataclass
class CapCounts:
    """The calls of some numbers in the last 7 days (newest last), over every campaign,
    read in one query; the claim adds the calls it opens as it goes."""

    placed: dict[str, list[datetime.datetime]]

    @classmethod
    def read(cls, phones: Iterable[str], *, now: datetime.datetime, period: datetime.timedelta = WEEK) -> CapCounts:
        phones = sorted(set(phones))
        placed: dict[str, list[datetime.datetime]] = defaultdict(list)
        if phones:
            rows = (
                Call.objects.filter(phone__in=phones, placed_at__gt=now - period, placed_at__lte=now)
                .exclude(outcome=CallOutcome.DIAL_ERROR)
                .order_by("phone", "placed_at")
                .values_list("phone", "placed_at")
            )
            for phone, at in rows:
                placed[phone].append(at)
        return cls(placed=placed)

    def frees_at(
        self, phone: str, caps: tuple[Cap, ...], now: datetime.datetime
    ) -> tuple[datetime.datetime, Cap] | None:
        """None when a call to ``phone`` at ``now`` stays under every cap; else the
        moment it would (the latest over the caps it is at) and the cap that holds it
        longest."""
        calls = self.placed.get(phone, [])
        worst: tuple[datetime.datetime, Cap] | None = None
        for cap in caps:
            recent = [at for at in calls if at > now - cap.period]
            if len(recent) < cap.calls:
                continue
            # Once the oldest len - calls + 1 of them are out of the period, one more fits.
            frees = recent[len(recent) - cap.calls] + cap.period
            if worst is None or frees > worst[0]:
                worst = (frees, cap)
        return worst

    def add(self, phone: str, at: datetime.datetime) -> None:
        self.placed.setdefault(phone, []).append(at)


# A key space of PostgreSQL's advisory locks: "a claim is counting this number's calls".
CAP_LOCK_SPACE = 0x4C43_4150  # "LCAP"


def lock_numbers(phones: Iterable[str]) -> set[str]:
    """Take, without waiting, a transaction-level advisory lock on each number (on
    PostgreSQL), and return those another transaction holds: a claim counts a
    number's calls and opens one only under its lock, so two dialers claiming the same
    number for two campaigns never both count the calls before the other's. The lock
    ends with the claim's transaction, after its call is committed, so the next count
    sees it. A number held elsewhere is left for the next pass: waiting could queue
    a dialer behind another's whole claim.

    On SQLite a writing transaction holds the whole database: no other claim runs
    meanwhile, and nothing is locked here.
    """
    phones = sorted(set(phones))  # one order for every claim
    if not phones or connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT phone FROM unnest(%s::text[]) AS phone WHERE NOT pg_try_advisory_xact_lock(%s, hashtext(phone))",
            [phones, CAP_LOCK_SPACE],
        )
        return {row[0] for row in cursor.fetchall()}


# --- a claim's check of its leads' numbers ------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What a claim does with one lead: dial ``number``; or hold it until ``until``
    (``waiting`` "window" or "cap", ``note`` saying why); or, with neither, leave it
    as it is for the next pass (a number another dialer is counting)."""

    number: object | None = None
    until: datetime.datetime | None = None
    waiting: str = ""
    note: str = ""


@dataclass
class Gate:
    """One claim's view of the rules and of the calls of the numbers it may dial:
    ``prepare`` reads the calls of a batch's capped numbers (one query) and locks
    them; ``verdict`` then decides each lead in memory."""

    campaign: Campaign
    now: datetime.datetime
    book: RuleBook = field(default_factory=RuleBook.load)
    counts: CapCounts = field(default_factory=lambda: CapCounts(placed={}))
    busy: set[str] = field(default_factory=set)

    def prepare(self, numbers: Iterable) -> None:
        """For a batch's candidate numbers: lock those with a cap and read their
        recent calls, so that ``verdict`` counts what is committed (PostgreSQL: the
        other dialers' calls to them too)."""
        capped = {n.phone for n in numbers if self.book.caps(n.phone)}
        capped -= set(self.counts.placed) | self.busy
        if not capped:
            return
        self.busy |= lock_numbers(capped)
        longest = max(cap.period for phone in capped for cap in self.book.caps(phone))
        read = CapCounts.read(capped - self.busy, now=self.now, period=longest)
        for phone in capped - self.busy:
            self.counts.placed[phone] = read.placed.get(phone, [])

    def verdict(self, lead, candidates: list) -> Verdict:
        """The first of ``candidates`` (the strategy's order) inside its window and
        under its caps; else the hold until the earliest moment one of them may be
        dialled, saying why for that one."""
        soonest: tuple[datetime.datetime, str, str] | None = None
        for number in candidates:
            if number.phone in self.busy:
                return Verdict()
            zones, source = zones_of(number.phone, lead.timezone, self.campaign)
            rules = self.book.matching(number.phone)
            window = self.book.window(self.campaign, rules)
            opens = opening(window, zones, self.now)
            caps = caps_of(rules)
            held = self.counts.frees_at(number.phone, caps, self.now) if caps else None
            if opens == self.now and held is None:
                self.counts.add(number.phone, self.now)
                return Verdict(number=number)
            if held is not None:
                frees, cap = held
                ready = opening(window, zones, max(frees, self.now))
                why = ("cap", cap_note(cap, frees, zones[0]))
            else:
                ready = opens
                why = ("window", window_note(number.phone, zones, source, self.now, opens))
            ready = ready or self.now + HORIZON  # looked at again then
            if soonest is None or ready < soonest[0]:
                soonest = (ready, *why)
        if soonest is None:
            return Verdict()
        return Verdict(until=soonest[0], waiting=soonest[1], note=soonest[2][:300])


def _shown(phone: str) -> str:
    """A number as an operator reads it: "+1 212-555-0101"."""
    import phonenumbers

    try:
        return phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return phone


def _local(moment: datetime.datetime, zone: str, *, day: bool) -> str:
    local = moment.astimezone(zone_info(zone))
    return f"{local:%a %H:%M} {local.tzname()}" if day else f"{local:%H:%M}"


def window_note(
    phone: str, zones: tuple[str, ...], source: str, now: datetime.datetime, opens: datetime.datetime | None
) -> str:
    """ "+1 212-555-0101 is in America/New_York (the number's zone): 22:14 there; opens
    Thu 08:00 EST"."""
    shown = zones[:3]
    where = ", ".join(shown) + (f" and {len(zones) - len(shown)} more zones" if len(zones) > len(shown) else "")
    times = " / ".join(_local(now, zone, day=False) for zone in shown)
    when = f"opens {_local(opens, zones[0], day=True)}" if opens else "no opening in the next 30 days"
    origin = {"lead": "the lead's zone", "number": "the number's zone" if len(zones) == 1 else "the number's zones"}
    return f"{_shown(phone)} is in {where} ({origin.get(source, 'the campaign zone')}): {times} there; {when}"


def cap_note(cap: Cap, frees: datetime.datetime, zone: str) -> str:
    """ "3 calls in 24 hours (US federal rule): frees Thu 14:05 EST"."""
    return f"{cap.describe()} ({cap.rule}): frees {_local(frees, zone, day=True)}"
