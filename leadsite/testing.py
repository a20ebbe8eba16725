"""What tests of several apps share."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import connection, transaction

T = TypeVar("T")


def at_once(function: Callable[[], T], times: int = 2) -> list[T]:
    """Call ``function`` in ``times`` threads released together, each on its own
    database connection (closed after), as separate processes would; return what they
    returned, or raise the first exception one of them raised."""
    start = threading.Barrier(times)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            results.append(function())
        except BaseException as error:  # raised again in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


@contextmanager
def rolled_back() -> Iterator[None]:
    """Undo what the block wrote, whatever happens in it: each example of a property
    test runs in one, so no example sees another's rows (the test's fixtures, made
    before, stay)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# In-page checks for browser tests (Playwright's page.evaluate).
# What would run without a static file: <script> bodies and on… attributes.
INLINE_SCRIPTS_JS = """() => [
  ...Array.from(document.querySelectorAll("script:not([src])"))
    .filter((script) => script.textContent.trim() && !/json/.test(script.type))
    .map((script) => script.textContent.trim().slice(0, 60)),
  ...Array.from(document.querySelectorAll("*")).flatMap((element) =>
    Array.from(element.attributes)
      .filter((attribute) => /^on/i.test(attribute.name))
      .map((attribute) => `${element.tagName.toLowerCase()} ${attribute.name}`)),
]"""
# The selects a screen reader would announce without a name: no label with text, no
# aria-label, no aria-labelledby naming an element with text.
UNNAMED_SELECTS_JS = """() => Array.from(document.querySelectorAll("select"))
  .filter((select) => {
    const text = (element) => element && element.textContent.trim();
    if (Array.from(select.labels).some(text) || (select.getAttribute("aria-label") || "").trim()) return false;
    const ids = (select.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    return !ids.some((id) => text(document.getElementById(id)));
  })
  .map((select) => select.name || select.id || select.outerHTML.slice(0, 80))"""
