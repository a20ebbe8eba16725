from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _sqlite_unicode_upper(sender, connection, **kwargs) -> None:
    """SQLite's UPPER() and LIKE fold ASCII only; search needs "GARCÍA" to find
    "García", as it does on PostgreSQL."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "unicode_upper", 1, lambda text: None if text is None else str(text).upper(), deterministic=True
        )


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self) -> None:
        connection_created.connect(_sqlite_unicode_upper, dispatch_uid="leads_sqlite_unicode_upper")
        from . import checks  # noqa: F401  (registers the limits' system checks)
        from .dialer import checks as dialer_checks  # noqa: F401  (and the dialer's)
