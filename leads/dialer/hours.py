"""Calling hours: whether a lead's local time is inside its campaign's allowed hours
and days, as a filter on the leads table.

A lead's zone is its own, else the campaign's (else the assistant's, else the
site's). Zones are validated IANA names, so "which leads are inside their window
now" is "which of the ~600 zones are": a short list computed in Python, then one
``timezone IN (…)`` (or ``NOT IN``, whichever is shorter) in the claim query, which
works the same on every database and keeps the claim on its index.
"""

from __future__ import annotations

import datetime
import zoneinfo
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from django.db.models import Q

from campaigns.models import Campaign
from campaigns.validators import DAYS

if TYPE_CHECKING:
    from leads.models import Contact, Lead


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


@cache
def zone_info(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _inside(days: tuple[str, ...], start: datetime.time, end: datetime.time, zone: str, now: datetime.datetime) -> bool:
    """``now`` in ``zone`` is on an allowed day, between the start and the end of the
    calling hours (the end minute included: 23:59 means until midnight)."""
    local = now.astimezone(zone_info(zone))
    minute = local.time().replace(second=0, microsecond=0)
    return DAYS[local.weekday()] in days and start <= minute <= end


def window_filter(campaign: Campaign, now: datetime.datetime) -> Q | None:
    """A filter on leads for "inside the calling window now"; None when no lead can
    be (every zone is outside)."""
    minute = now.astimezone(datetime.UTC).replace(second=0, microsecond=0)
    inside, outside = _zones_by_window(
        tuple(campaign.allowed_days),
        campaign.allowed_hours_start,
        campaign.allowed_hours_end,
        campaign.effective_timezone(),
        minute,
    )
    if not inside:
        return None
    if not outside:
        return Q()
    return Q(timezone__in=inside) if len(inside) <= len(outside) else ~Q(timezone__in=outside)


@lru_cache(maxsize=256)
def _zones_by_window(
    days: tuple[str, ...], start: datetime.time, end: datetime.time, default_zone: str, minute: datetime.datetime
) -> tuple[list[str], list[str]]:
    """The zones inside and outside the window during ``minute`` (UTC); leads without a
    zone of their own ("") use ``default_zone``. Campaigns with the same hours share
    it, and it changes once a minute at most: cached, as a pass asks it per campaign."""
    inside: list[str] = []
    outside: list[str] = []
    for name in _zone_names():
        (inside if _inside(days, start, end, name, minute) else outside).append(name)
    (inside if _inside(days, start, end, default_zone, minute) else outside).append("")
    return inside, outside


def zoned(moment: datetime.datetime, zone: str) -> str:
    """``moment`` in ``zone``, naming it: "2026-12-04 15:00 EST (America/New_York)". A
    zone this system does not know (a row written around the forms) shows UTC."""
    try:
        local = moment.astimezone(zone_info(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone, local = "UTC", moment.astimezone(datetime.UTC)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone})"


def number_zone(lead: Lead, contact: Contact | None = None) -> str:
    """The zone a number's local time is read in: its lead's, else its campaign's
    (else the assistant's, else the site's). One place, so that a zone per number
    (from its prefix) can join later without touching the callers."""
    return lead.timezone or lead.campaign.effective_timezone()


def next_opening(campaign: Campaign, zone: str, at: datetime.datetime) -> datetime.datetime | None:
    """``at`` when it is inside the campaign's calling window in ``zone``, else the
    window's next opening after it (an aware time); None when no allowed day comes
    within a week (a campaign with no allowed day).

    The opening is the start of the calling hours on the next allowed local day. A
    start that falls in a daylight-saving gap is read with the offset before the
    change (zoneinfo's fold=0), i.e. one hour later on the wall clock, which is inside
    the window still.
    """
    days, start, end = tuple(campaign.allowed_days), campaign.allowed_hours_start, campaign.allowed_hours_end
    if _inside(days, start, end, zone, at):
        return at
    local = at.astimezone(zone_info(zone))
    for ahead in range(8):
        day = local.date() + datetime.timedelta(days=ahead)
        if DAYS[day.weekday()] not in days:
            continue
        opening = datetime.datetime.combine(day, start, tzinfo=zone_info(zone)).astimezone(datetime.UTC)
        if opening > at:
            return opening
    return None
