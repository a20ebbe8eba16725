"""Fixtures of the leads app's tests."""

import pytest
from django.contrib.auth.models import Permission


@pytest.fixture
def viewer(client, django_user_model):
    """A client logged in as staff who may only view leads, campaigns and numbers."""
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_lead", "view_campaign", "view_contact"]))
    client.force_login(user)
    return client
