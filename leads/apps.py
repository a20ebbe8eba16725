from django.apps import AppConfig
from django.db.backends.signals import connection_created

from .folding import FUNCTION, sqlite_fold


def _sqlite_fold(sender, connection, **kwargs) -> None:
    """SQLite's UPPER() and LIKE fold ASCII only, and know no accents; the search needs
    "GARCIA" to find "García" (leads.folding), as it does on PostgreSQL."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(FUNCTION, 1, sqlite_fold, deterministic=True)


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self) -> None:
        connection_created.connect(_sqlite_fold, dispatch_uid="leads_sqlite_fold")
        from . import checks  # noqa: F401  (registers the limits' system checks)
        from .dialer import checks as dialer_checks  # noqa: F401  (and the dialer's)
