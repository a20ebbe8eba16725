"""PROVISIONAL, until s13-rules lands: a number's effective calling window and caps
(results-and-compliance.md §3, §4), to the contract s13-rules writes (``window_opening``,
the caps of a number). The campaign's Start confirmation and the dashboard's held
counts (``leads.dialer.held``) are written against it; at merge, s13-rules' module
replaces this one and ``held`` keeps calling the same names.

A number's zones: its lead's ``timezone``; else its prefix's (leads.phonedata), all of
them when it spans several; else the campaign's. The effective window is the
campaign's hours and days intersected with every enabled rule that matches the number
(its country calling code, and its US state / Canadian province when the rule names
one), in every one of those zones; no call on a rule's holiday (the local date).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from campaigns.models import CallingRule, Campaign
from campaigns.validators import DAYS
from leads import phonedata

from .hours import zone_info

# Further than this, a number's window "never" opens (a rule that allows no day).
HORIZON_DAYS = 31


@dataclass(frozen=True)
class Rule:
    """A calling rule as the window reads it: plain values, loaded once per count."""

    country_code: str
    region: str
    earliest: datetime.time | None
    latest: datetime.time | None
    days: tuple[str, ...]
    holidays: frozenset[datetime.date]
    max_calls_24h: int | None
    max_calls_7d: int | None


def load_rules() -> list[Rule]:
    return [
        Rule(
            country_code=rule.country_code,
            region=rule.region,
            earliest=rule.earliest,
            latest=rule.latest,
            days=tuple(rule.days),
            holidays=frozenset(datetime.date.fromisoformat(day) for day in rule.holidays),
            max_calls_24h=rule.max_calls_24h,
            max_calls_7d=rule.max_calls_7d,
        )
        for rule in CallingRule.objects.filter(enabled=True)
    ]


def rules_for(phone: str, rules: Sequence[Rule]) -> list[Rule]:
    """The rules that apply to ``phone`` (E.164)."""
    code = phonedata.country_code(phone)
    region = phonedata.region_for(phone) if code == "1" else ""
    return [rule for rule in rules if rule.country_code == code and rule.region in ("", region)]


def number_caps(phone: str, rules: Sequence[Rule]) -> tuple[int | None, int | None]:
    """The tightest 24-hour and 7-day caps on ``phone``; None where no rule caps it."""
    matching = rules_for(phone, rules)
    caps_24h = [rule.max_calls_24h for rule in matching if rule.max_calls_24h]
    caps_7d = [rule.max_calls_7d for rule in matching if rule.max_calls_7d]
    return min(caps_24h, default=None), min(caps_7d, default=None)


def zones_of(campaign: Campaign, phone: str, lead_timezone: str) -> tuple[str, ...]:
    """The zones the number's local time is read in (§3's order)."""
    if lead_timezone:
        return (lead_timezone,)
    return phonedata.zones_for(phone) or (campaign.effective_timezone(),)


def _allowed(campaign: Campaign, rules: Sequence[Rule], zone: str, moment: datetime.datetime) -> bool:
    local = moment.astimezone(zone_info(zone))
    minute = local.time().replace(second=0, microsecond=0)
    day = DAYS[local.weekday()]
    if day not in campaign.allowed_days or not campaign.allowed_hours_start <= minute <= campaign.allowed_hours_end:
        return False
    for rule in rules:
        if rule.days and day not in rule.days:
            return False
        if local.date() in rule.holidays:
            return False
        if rule.earliest and minute < rule.earliest or rule.latest and minute > rule.latest:
            return False
    return True


def window_opening(
    campaign: Campaign,
    phone: str,
    lead_timezone: str,
    at: datetime.datetime,
    *,
    rules: Sequence[Rule] | None = None,
) -> datetime.datetime | None:
    """``at`` when the number may be dialled then by its window, else the next moment
    it may (caps aside); None when that is not within ``HORIZON_DAYS``.

    The allowed moments are a union of intervals that each begin at a start of the
    hours (the campaign's or a rule's earliest) or at a local midnight, in one of the
    number's zones: those are the only candidates tried after ``at``."""
    applying = rules_for(phone, load_rules() if rules is None else rules)
    zones = zones_of(campaign, phone, lead_timezone)

    def allowed(moment: datetime.datetime) -> bool:
        return all(_allowed(campaign, applying, zone, moment) for zone in zones)

    if allowed(at):
        return at
    starts = {campaign.allowed_hours_start, datetime.time(0, 0)} | {r.earliest for r in applying if r.earliest}
    candidates: set[datetime.datetime] = set()
    for zone in zones:
        first = at.astimezone(zone_info(zone)).date()
        for ahead in range(HORIZON_DAYS + 1):
            day = first + datetime.timedelta(days=ahead)
            for start in starts:
                moment = datetime.datetime.combine(day, start, tzinfo=zone_info(zone)).astimezone(datetime.UTC)
                if moment > at:
                    candidates.add(moment)
    return next((moment for moment in sorted(candidates) if allowed(moment)), None)
