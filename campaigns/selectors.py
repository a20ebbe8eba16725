"""Reads of campaigns that callers share."""

from __future__ import annotations

from .models import Campaign


def campaign_by_id_or_name(key: str) -> Campaign | None:
    """The campaign whose id is ``key`` (when it is all digits), else whose name is."""
    campaign = Campaign.objects.filter(pk=key).first() if key.isdigit() else None
    return campaign or Campaign.objects.filter(name=key).first()
