"""How long a bulk action's confirmation page over "select all" takes with a million
leads, and how long the skip counts its script asks for next take.

Uses the leads bench/changelist.py seeds (run it first; same database), posts each
action as the list's "select all" does, over every lead and over one campaign's, and
prints JSON with the median time of the list's own count (what the page counted before
it showed skips), of the page, and of the skip count with its answer:

    .venv/bin/python bench/confirmations.py [--runs R]

Target (issue 12): the page no slower than the count it always made, whatever the
selection; the skip counts are bounded by LEADS_ACTION_SKIPS_SECONDS.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from html import unescape

import common  # noqa: E402  (bench/ is on the path when a script runs; it puts the project there)


def median_ms(fn, runs: int):
    times, result = [], None
    for _ in range(runs + 1):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times[1:]), 1), result  # the first run warms caches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    common.setup_django("leadsite_bench")
    from django.contrib.auth import get_user_model
    from django.test import Client

    from campaigns.models import Campaign
    from leads.models import Lead

    if not Lead.objects.exists():
        raise SystemExit("No leads: run bench/changelist.py first.")
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    first, target = Campaign.objects.order_by("pk").first(), Campaign.objects.order_by("pk").last()
    actions = [
        ("reset", {"action": "reset_leads"}),
        ("reschedule", {"action": "reschedule_leads"}),
        ("do_not_call", {"action": "do_not_call"}),
        ("move_chosen_campaign", {"action": "move_to_campaign", "apply": "1", "campaign": str(target.pk)}),
    ]
    results: dict = {"database": "postgresql", "leads": Lead.objects.count()}
    for label, leads, query in [
        ("every_lead", Lead.objects.all(), ""),
        ("one_campaign", Lead.objects.filter(campaign=first), f"?campaign={first.pk}"),
    ]:
        ids = list(leads.values_list("pk", flat=True)[:100])
        row: dict = {"leads": leads.count(), "count_ms": median_ms(leads.count, args.runs)[0]}
        for name, extra in actions:
            data = {"select_across": "1", "_selected_action": ids, **extra}

            url = "/admin/leads/lead/" + query

            def page(data=data, url=url, name=name):
                response = client.post(url, data)
                html = response.content.decode()
                if response.status_code != 200 or "data-skips-status" not in html:
                    raise SystemExit(f"{name}: no confirmation page with deferred skips ({response.status_code})")
                previewed = re.search(r'name="previewed" value="([^"]*)"', html)
                return unescape(previewed.group(1)) if previewed else None

            page_ms, previewed = median_ms(page, args.runs)
            counting = {k: v for k, v in data.items() if k != "apply"} | {"count_skips": "1"}
            if previewed:
                counting["previewed"] = previewed
            skips_ms, answer = median_ms(
                lambda counting=counting, url=url: client.post(url, counting).json(), args.runs
            )
            row[name] = {"page_ms": page_ms, "skips_ms": skips_ms, "skips": answer}
        results[label] = row
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
