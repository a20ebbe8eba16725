"""What every Leadsite admin list shares: a filter PostgreSQL could not even compare
(a NUL character) is an incorrect filter, never a server error."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("url", "params"), [
    ("admin:leads_lead_changelist", {"status": "a\x00"}),
    ("admin:leads_lead_changelist", {"variable": "a", "value": "b\x00"}),
    ("admin:leads_lead_changelist", {"q": "a\x00b"}),
    ("admin:leads_call_changelist", {"outcome": "\x00"}),
    ("admin:leads_call_changelist", {"lead": "\x00"}),
    ("admin:leads_statuschange_changelist", {"source": "\x00"}),
    ("admin:leads_statuschange_changelist", {"to_status\x00": "created"}),
    ("admin:leads_exportrecord_changelist", {"status": "\x00"}),
    ("admin:leads_importrecord_changelist", {"status": "\x00"}),
    ("admin:leads_donotcallnumber_changelist", {"q": "\x00"}),
    ("admin:campaigns_campaign_changelist", {"status": "\x00"}),
    ("admin:leads_lead_export", {"status": "\x00"}),
])
def test_a_nul_character_in_a_filter_is_an_incorrect_filter(admin_client_logged, url, params):
    response = admin_client_logged.get(reverse(url), params)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")
