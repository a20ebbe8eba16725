"""The campaign's count of dial errors in a row: every write of it is a service here.
(The dialer's tests drive the pause it leads to, in leads/dialer/tests/test_passes.py.)"""

import pytest

from campaigns import services
from campaigns.models import Campaign
from campaigns.tests.factories import make_campaign
from leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db


def in_row(campaign: Campaign) -> int:
    return Campaign.objects.values_list("dial_errors_in_row", flat=True).get(pk=campaign.pk)


def test_each_dial_error_counts_one_more_in_a_row_and_says_how_many():
    campaign, other = make_campaign(), make_campaign()
    assert [services.campaign_dial_error(campaign_id=campaign.pk) for _ in range(3)] == [1, 2, 3]
    assert in_row(other) == 0


def test_a_placed_call_or_a_resume_starts_the_count_again():
    placing, resumed = make_campaign(), make_campaign(status=Campaign.Status.PAUSED)
    make_lead(campaign=resumed)
    for campaign in (placing, resumed):
        services.campaign_dial_error(campaign_id=campaign.pk)
        services.campaign_dial_error(campaign_id=campaign.pk)

    services.campaign_call_placed(campaign_id=placing.pk)
    services.campaign_start(campaign=resumed)

    assert in_row(placing) == in_row(resumed) == 0
    assert services.campaign_dial_error(campaign_id=placing.pk) == 1
