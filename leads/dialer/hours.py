"""Calling hours: whether a lead's local time is inside its campaign's allowed hours
and days, as a filter on the leads table.

A number's zones are its lead's own, else its prefix's (``leads.phonedata``), else
the campaign's (else the assistant's, else the site's): ``zones_of``. The campaign's
hours are a necessary condition the claim checks in SQL: zones are validated IANA
names, so "which leads with a zone of their own may be inside their window now" is
"which of the ~600 zones are", a short list computed in Python, then one ``timezone
IN (…)`` (or ``NOT IN``, whichever is shorter), which keeps the claim on its index.
Leads without a zone pass it (their number decides); ``leads.dialer.windows`` checks
each number exactly, with the calling rules.
"""

from __future__ import annotations

import datetime
import zoneinfo
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from django.db.models import Q

from campaigns.models import Campaign
from campaigns.validators import DAYS
from leads import phonedata

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
    """A filter on leads for "may be inside the campaign's calling hours now": exact
    for leads with a zone of their own, true for those without (their numbers' zones
    decide, in ``windows``); None when no lead can be (every zone is outside)."""
    minute = now.astimezone(datetime.UTC).replace(second=0, microsecond=0)
    inside, outside = _zones_by_window(
        tuple(campaign.allowed_days),
        campaign.allowed_hours_start,
        campaign.allowed_hours_end,
        minute,
    )
    if not inside:
        return None
    if not outside:
        return Q()
    return Q(timezone__in=inside) if len(inside) <= len(outside) else ~Q(timezone__in=outside)


@lru_cache(maxsize=256)
def _zones_by_window(
    days: tuple[str, ...], start: datetime.time, end: datetime.time, minute: datetime.datetime
) -> tuple[list[str], list[str]]:
    """The zones inside and outside the window during ``minute`` (UTC); leads without a
    zone of their own ("") are inside as soon as any zone is (their number's zones may
    be any). Campaigns with the same hours share it, and it changes once a minute at
    most: cached, as a pass asks it per campaign."""
    inside: list[str] = []
    outside: list[str] = []
    for name in _zone_names():
        (inside if _inside(days, start, end, name, minute) else outside).append(name)
    if inside:
        inside.append("")
    return inside, outside


def zoned(moment: datetime.datetime, zone: str) -> str:
    """``moment`` in ``zone``, naming it: "2026-12-04 15:00 EST (America/New_York)". A
    zone this system does not know (a row written around the forms) shows UTC."""
    try:
        local = moment.astimezone(zone_info(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone, local = "UTC", moment.astimezone(datetime.UTC)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone})"


# Where a number's zones came from (results-and-compliance.md §3), in the order tried.
ZONE_SOURCES = {"lead": "the lead's zone", "number": "the number's zone", "campaign": "the campaign's zone"}


def zones_of(phone: str, lead_timezone: str, campaign: Campaign) -> tuple[tuple[str, ...], str]:
    """The zones a number's calling window is read in, and where they came from: the
    lead's own ``timezone``; else the zones of the number's prefix (several when it
    spans them); else the campaign's effective zone. A lead zone this system does not
    know (a row written around the forms) is passed over, as if blank."""
    if lead_timezone and lead_timezone in _known_zones():
        return (lead_timezone,), "lead"
    zones = tuple(zone for zone in phonedata.zones_for(phone) if zone in _known_zones())
    if zones:
        return zones, "number"
    return (campaign.effective_timezone(),), "campaign"


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(_zone_names())


def number_zones(lead: Lead, contact: Contact | None = None) -> tuple[tuple[str, ...], str]:
    """The zones of one of the lead's numbers (``contact``; without one, its campaign's
    zone unless the lead has its own) and where they came from: "lead", "number" or
    "campaign"."""
    return zones_of(contact.phone if contact is not None else "", lead.timezone, lead.campaign)


def number_zone(lead: Lead, contact: Contact | None = None) -> str:
    """The first of ``number_zones``: the zone a number's times are named in (the
    callback notes, a naive callback time, the call page)."""
    return number_zones(lead, contact)[0][0]


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
