"""What every bench script shares: Django set up against a PostgreSQL database of the
bench's own (DATABASE_URL when it names PostgreSQL), created when missing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def setup_django(default_database: str) -> None:
    """Settings as in development, without the query log (measure what production
    does), on DATABASE_URL if it is PostgreSQL, else on ``default_database``."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{default_database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings.dev")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()


def ensure_database() -> None:
    """Create the database named by the settings if the server does not have it."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def operator_client():
    """A test client logged in as the bench's superuser (created when missing), to
    request the admin's pages in-process."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client
