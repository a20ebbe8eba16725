from django.apps import AppConfig
from django.db.backends.signals import connection_created

from .folding import FUNCTION, sqlite_fold


def _sqlite_fold(sender, connection, **kwargs) -> None:
    """SQLite's UPPER() and LIKE fold ASCII only, and know no accents; the search needs
    "GARCIA" to find "García" (leads.folding), as it does on PostgreSQL."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(FUNCTION, 1, sqlite_fold, deterministic=True)


def _sqlite_unicode_upper(sender, connection, **kwargs) -> None:
    """Upper case beyond ASCII for the result filters (leads.filters._UnicodeUpper),
    as PostgreSQL's ILIKE compares."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "unicode_upper", 1, lambda text: None if text is None else str(text).upper(), deterministic=True
        )


def _sqlite_result_text(sender, connection, **kwargs) -> None:
    """A lead's result as text on SQLite, as the export writes it and as PostgreSQL's
    ``->>`` gives it (SQLite's JSON_EXTRACT gives true as 1 and objects without
    spaces), for leads.filters.ResultText."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("leads_result_text", 2, _result_text, deterministic=True)


def _result_text(results: str | None, name: str) -> str | None:
    import json

    from .variables import value_text

    value = json.loads(results).get(name) if results else None
    return None if value is None else value_text(value)


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self) -> None:
        connection_created.connect(_sqlite_fold, dispatch_uid="leads_sqlite_fold")
        connection_created.connect(_sqlite_unicode_upper, dispatch_uid="leads_sqlite_unicode_upper")
        connection_created.connect(_sqlite_result_text, dispatch_uid="leads_sqlite_result_text")
        from . import checks  # noqa: F401  (registers the limits' system checks)
        from .dialer import checks as dialer_checks  # noqa: F401  (and the dialer's)
