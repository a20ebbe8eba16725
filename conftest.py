"""Fixtures shared by every app's tests."""

import os
from collections.abc import Iterator

import pytest
from django.db import reset_queries
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings

# Property tests (test_*_properties.py). "ci", the default: a bounded number of examples
# per test so the property suite adds about a minute to a run, and the same examples on
# every run (derandomize), so a failure cannot come and go between CI runs; no deadline,
# since a database example's time depends on the machine's load. Database tests keep
# their function-scoped fixtures across examples and undo each example's writes
# themselves (leadsite.testing.rolled_back), hence the suppressed health checks.
# HYPOTHESIS_PROFILE=explore searches ten times as long, with new examples each run.
_PROPERTY_SETTINGS = {
    "deadline": None,
    # Not the "explain" phase: it reruns a failing test hundreds of times (half a
    # minute for one webhook test) to list the lines only failures ran.
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    "print_blob": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
}
hypothesis_settings.register_profile("ci", max_examples=25, derandomize=True, **_PROPERTY_SETTINGS)
hypothesis_settings.register_profile("explore", max_examples=250, **_PROPERTY_SETTINGS)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def pytest_report_header(config) -> str:
    from django.conf import settings as django_settings

    engine = django_settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"leadsite: DEBUG {'on' if django_settings.DEBUG else 'off'}, {engine}"


@pytest.fixture(autouse=True)
def empty_query_log() -> None:
    """With DEBUG on, each connection keeps its last 9000 queries from test to test,
    and CaptureQueriesContext counts from the log's length: a full log would capture
    nothing, and a query count pass without counting. Each test starts with an empty
    log, as each request does (pytest.ini makes a full log an error)."""
    reset_queries()


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """What a test leaves in the cache (the campaign page's settled hours of calls, the
    campaigns list's counts, by campaign id) is not there for the next one, whose rows
    may have the same ids."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads and reports of each test go to its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def shipped_calling_rules(request) -> None:
    """Every database test starts with the calling rules a fresh install has (the
    default one of campaigns' migration 0004: country 1, 08:00-21:00): a test with
    ``transaction=True`` ends by emptying every table, the migration's rows too, and
    the tests after it would dial without them. A test about other rules changes them
    itself."""
    if request.node.get_closest_marker("django_db") is None and not {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    ):
        return
    request.getfixturevalue("_django_db_helper")
    import importlib

    from django.apps import apps

    from campaigns.models import CallingRule

    if not CallingRule.objects.exists():
        importlib.import_module("campaigns.migrations.0004_compliance").federal_default(apps, None)


@pytest.fixture
def without_calling_rules(request) -> None:
    """No calling rule at all, for tests about something else that dial at the clock's
    own time (a webhook's call, a backend's request, the demo): without it the hour the
    suite runs at would decide whether their call is placed. The rules' own tests
    (leads/dialer/tests/test_windows.py) set the rules they test."""
    request.getfixturevalue("_django_db_helper")
    from campaigns.models import CallingRule

    CallingRule.objects.all().delete()


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "pw-admin-123")


@pytest.fixture
def admin_client_logged(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """One headless Chromium for the session (Debian's, never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread while it lives; the
    # ORM calls made meanwhile (test data, flushes) are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator", "op@example.com", "pw-operator-1")


@pytest.fixture
def signed_in(page, operator):
    """A browser page logged in as an operator, on the leads list."""
    from playwright.sync_api import expect

    page.goto("/admin/login/?next=/admin/leads/lead/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "pw-operator-1")
    page.click("input[type=submit]")
    expect(page.locator("#result_list, .paginator").first).to_be_visible()
    return page
