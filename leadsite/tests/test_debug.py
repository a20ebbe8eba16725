"""The development error page (DEBUG on) and the error e-mail never show a password
that sits inside a URL, as DATABASE_URL does."""

import os
import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter, technical_500_response

PASSWORD = "s3cr3t-Pw"
DATABASE_URL = f"postgres://leadsite:{PASSWORD}@db.internal:5432/leadsite"


def failing_request_reports(request, **settings_values):
    """The error page and the e-mail text of an exception raised while answering ``request``."""
    database_url = DATABASE_URL  # noqa: F841  (a local of the failing frame, shown on the page)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
        text = ExceptionReporter(request, *sys.exc_info()).get_traceback_text()
    return page, text


@pytest.fixture
def request_like_runserver(monkeypatch, settings):
    import axes.conf  # noqa: F401  (as after a first login: it adds lazy strings to the settings)

    # runserver copies the process environment into every request's META.
    settings.DEBUG = True
    monkeypatch.setitem(os.environ, "DATABASE_URL", DATABASE_URL)
    return RequestFactory().get(
        "/admin/",
        **{
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": f"redis://:{PASSWORD}@cache/0",
            "HTTP_PROXY_URL": f"http://me:{PASSWORD}@proxy:3128/",
        },
    )


def test_the_error_page_blanks_the_password_of_database_url(request_like_runserver):
    page, text = failing_request_reports(request_like_runserver)

    for report in (page, text):
        assert "boom" in report  # the page itself is there
        assert PASSWORD not in report
        # What one debugs with stays: the user, the host, the port, the database.
        assert "postgres://leadsite:********************@db.internal:5432/leadsite" in report


def test_a_setting_holding_a_url_with_a_password_is_blanked_too(request_like_runserver, settings):
    settings.LEADS_DIALER = {**settings.LEADS_DIALER, "URL": f"https://user:{PASSWORD}@platform.example.com/calls"}
    settings.CACHE_LOCATION = f"redis://:{PASSWORD}@cache:6379/1"
    page, text = failing_request_reports(request_like_runserver)

    assert PASSWORD not in page and PASSWORD not in text
    assert "https://user:********************@platform.example.com/calls" in page


@pytest.mark.parametrize(
    "url",
    [
        "postgres://leadsite@db:5432/leadsite",
        "http://127.0.0.1:8000/admin/",
        "https://example.com/a@b",
        "sqlite:///db.sqlite3",
    ],
)
def test_urls_without_a_password_are_shown_as_they_are(url):
    from leadsite.debug import ExceptionReporterFilter

    assert ExceptionReporterFilter().cleanse_setting("SOME_URL", url) == url
