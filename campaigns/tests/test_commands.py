"""ensure_admin, as make run calls it."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command


@pytest.mark.django_db
def test_ensure_admin_creates_the_user_once_and_prints_the_login(tmp_path, capsys):
    settings.BASE_DIR, base = tmp_path, settings.BASE_DIR
    try:
        call_command("ensure_admin")
        first = capsys.readouterr().out
        call_command("ensure_admin")
        second = capsys.readouterr().out
    finally:
        settings.BASE_DIR = base
    password = (tmp_path / ".admin-password").read_text().strip()
    assert f"'admin' with password '{password}'" in first
    assert first == second
    assert get_user_model().objects.get(username="admin").check_password(password)
