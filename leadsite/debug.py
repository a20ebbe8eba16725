"""What the development error page (DEBUG on) and error e-mails may show.

Django hides settings and request.META entries whose *name* looks secret (KEY,
SECRET, PASS, …). A credential inside a *value* slips through: runserver copies the
whole environment into request.META, so ``DATABASE_URL=postgres://user:password@…``
was printed on every technical 500 page. This filter also blanks the password of any
URL with credentials, wherever it appears (request.META, settings, nested values),
and keeps the rest of the URL, which is what one debugs with.
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@ (the user may be empty: redis://:password@host). The
# password runs to the last "@" before the path, as URL parsers read it.
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s:/@]*:)(?P<password>[^\s/]*)(?P<at>@)", re.I)


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    # Django's names, plus those of connection strings that may carry a password
    # without one in URL form (a libpq DSN: "host=… password=…").
    hidden_settings = re.compile(r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DSN|CREDENTIAL", flags=re.I)

    def cleanse_url_passwords(self, value: str) -> str:
        # str(): a lazy string (django-axes keeps one among the settings) passes
        # isinstance(value, str) but is not one for re.
        return URL_PASSWORD.sub(lambda match: match["head"] + self.cleansed_substitute + match["at"], str(value))

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        return self.cleanse_url_passwords(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> list[tuple[str, Any]]:
        # A frame that read the environment (settings, a database connection) holds
        # the same URLs as local variables.
        return [
            (name, self.cleanse_url_passwords(value) if isinstance(value, str) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
