"""Fixtures of the dialer's tests: a call in flight, placed by a dialer pass."""

import pytest

from campaigns import services
from campaigns.tests.factories import make_campaign
from leads.dialer.backends.simulated import SimulatedBackend
from leads.models import Call
from leads.tests.factories import make_lead, pass_at_any_hour

# Outcomes drawn but reported only after 1,000 times their length: the test reports them.
QUIET = SimulatedBackend(seed=1, duration_scale=1000)


@pytest.fixture
def call(without_calling_rules) -> Call:
    """A call placed at the clock's time: the calling rules are not what its tests are about."""
    campaign = make_campaign(goal_completion_variable="booked")
    make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    pass_at_any_hour(QUIET)
    return Call.objects.get()
