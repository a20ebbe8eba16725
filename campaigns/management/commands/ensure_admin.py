"""The local admin login for ``make run``: created once with a random password kept in
``.admin-password`` (git-ignored), printed on every run."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local admin user once and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/", help="Where the admin is served.")

    def handle(self, *args, username: str, url: str, **options):
        password_file = settings.BASE_DIR / ".admin-password"
        User = get_user_model()
        if not User.objects.filter(username=username).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username, f"{username}@example.com", password)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        if password_file.exists():
            password = password_file.read_text().strip()
            self.stdout.write(self.style.SUCCESS(f"Log in at {url} as {username!r} with password {password!r}"))
        else:
            self.stdout.write(f"Log in at {url} as {username!r} with the password you set.")
