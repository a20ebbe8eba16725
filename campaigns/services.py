"""Campaign status changes: start (or resume), pause, complete. The dialer pauses and
completes campaigns through here too."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Campaign


@transaction.atomic
def campaign_start(*, campaign: Campaign) -> Campaign:
    """Start a draft, resume a paused, or restart a completed campaign.

    Needs at least one lead. Dialling starts with the dialer's next pass.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status == Campaign.Status.IN_PROGRESS:
        raise ValidationError("The campaign is already running.")
    if not campaign.leads.exists():
        raise ValidationError("A campaign needs at least one lead before it can start.")
    campaign.status = Campaign.Status.IN_PROGRESS
    campaign.status_reason = ""
    campaign.dial_errors_in_row = 0  # a resume starts the dial-error count again
    campaign.save(update_fields=["status", "status_reason", "dial_errors_in_row", "updated_at"])
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign, reason: str = "paused by hand") -> Campaign:
    """Stop starting new calls; calls in flight finish and their outcomes still count."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.IN_PROGRESS:
        raise ValidationError("Only a running campaign can be paused.")
    campaign.status = Campaign.Status.PAUSED
    campaign.status_reason = reason[:300]
    campaign.save(update_fields=["status", "status_reason", "updated_at"])
    return campaign


@transaction.atomic
def campaign_pause_by_dialer(*, campaign_id: int, reason: str) -> bool:
    """The dialer pauses a running campaign (too many dial errors); False if it was
    not running any more."""
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.IN_PROGRESS).update(
            status=Campaign.Status.PAUSED, status_reason=reason[:300], updated_at=timezone.now()
        )
    )


# The campaign's count of dial errors in a row is written here only: a dial error
# adds one, a placed call or a resume (campaign_start) starts it again. The dialer
# decides when the count pauses the campaign.


def campaign_dial_error(*, campaign_id: int) -> int:
    """One more dial error in a row for the campaign; how many there are now."""
    Campaign.objects.filter(pk=campaign_id).update(dial_errors_in_row=F("dial_errors_in_row") + 1)
    return Campaign.objects.values_list("dial_errors_in_row", flat=True).get(pk=campaign_id)


def campaign_call_placed(*, campaign_id: int) -> None:
    """A call of the campaign was placed: its dial errors are no longer in a row."""
    Campaign.objects.filter(pk=campaign_id, dial_errors_in_row__gt=0).update(dial_errors_in_row=0)


@transaction.atomic
def campaign_complete(*, campaign_id: int, reason: str) -> bool:
    """A running campaign is done; False if it was not running any more. Leads made
    dialable again by hand later wait until it is started again."""
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.IN_PROGRESS).update(
            status=Campaign.Status.COMPLETED, status_reason=reason[:300], updated_at=timezone.now()
        )
    )
