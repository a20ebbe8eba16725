"""How fast the calls and status-change lists and the calls export are on big tables.

Seeds N leads (default 300,000, one number each, named), 5 status changes and 3⅓ calls
per lead (1,500,000 and 1,000,000 by default; a third of the calls completed, with a
short transcript and extracted variables) into a PostgreSQL database of its own, once
(reused on the next run), then requests the admin's pages in-process, as a logged-in
operator would, and prints JSON: the median time of each page, and the export of one
campaign's calls (rows per second and the process's peak memory):

    .venv/bin/python bench/calls.py [--leads N] [--runs R] [--reseed]

The database is DATABASE_URL when it names PostgreSQL, else
postgres://postgres@127.0.0.1:5432/leadsite_bench_calls. Target: each page under 300 ms;
the export in flat memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import common  # noqa: E402  (bench/ is on the path when a script runs; it puts the project there)

CAMPAIGNS = 5
CHANGES_PER_LEAD = 5
CALLS_PER_3_LEADS = 10


def seed(n: int) -> dict:
    """Everything with INSERT … SELECT generate_series: a few minutes for the defaults."""
    from django.db import connection

    from campaigns.models import Assistant, Campaign

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_call, leads_statuschange, leads_contact, leads_lead, leads_donotcallnumber, "
            "campaigns_campaign, campaigns_variable, campaigns_assistant RESTART IDENTITY CASCADE"
        )
    assistant = Assistant.objects.create(name="Bench assistant", timezone="America/New_York")
    ids = [Campaign.objects.create(name=f"Bench {i}", assistant=assistant).pk for i in range(CAMPAIGNS)]
    changes, calls = n * CHANGES_PER_LEAD, n * CALLS_PER_3_LEADS // 3
    transcript = json.dumps(
        [
            {"role": "agent", "text": "Hello, this is the clinic calling about your check-up.", "at": 0.5},
            {"role": "callee", "text": "Oh, yes, hello.", "at": 4.2},
            {"role": "agent", "text": "Would Tuesday at ten suit you?", "at": 7.9},
            {"role": "callee", "text": "Tuesday is fine.", "at": 12.0},
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO leads_lead (id, campaign_id, status, timezone, attempts, last_outcome, dial_errors, "
            "created_at, updated_at) "
            "SELECT g, (%s::int[])[1 + g %% 5], 'completed', '', 1, 'completed', 0, "
            "now() - (%s - g) * interval '1 minute', now() FROM generate_series(1, %s) g",
            [ids, n, n],
        )
        cursor.execute("SELECT setval('leads_lead_id_seq', %s)", [n])
        cursor.execute(
            "INSERT INTO leads_contact (lead_id, campaign_id, position, phone, status, attempts, last_outcome, "
            "variables) SELECT g, (%s::int[])[1 + g %% 5], 0, '+1201' || lpad((2000000 + g * 7)::text, 7, '0'), "
            "'completed', 1, '', jsonb_build_object('customer_name', 'Name ' || g, 'city', 'Austin') "
            "FROM generate_series(1, %s) g",
            [ids, n],
        )
        cursor.execute(
            "INSERT INTO leads_statuschange (lead_id, operation, from_status, to_status, changed_at, source, reason) "
            "SELECT 1 + g %% %s, gen_random_uuid(), 'created', 'scheduled', "
            "now() - (%s - g) * interval '10 second', 'dialer', '' FROM generate_series(1, %s) g",
            [n, changes, changes],
        )
        cursor.execute(
            "INSERT INTO leads_call (id, lead_id, campaign_id, phone, position, attempt, backend, provider_call_id, "
            "placed_at, ended_at, outcome, duration_seconds, goal_achieved, extracted_variables, summary, "
            "recording_url, variables, backend_data, transcript, disposition, opt_out, callback_note) "
            "SELECT gen_random_uuid(), l, (%s::int[])[1 + l %% 5], '+1201' || lpad((2000000 + l * 7)::text, 7, '0'), "
            "0, 1, 'simulated', '', now() - (%s - g) * interval '10 second', "
            "now() - (%s - g) * interval '10 second' + interval '1 minute', "
            "CASE WHEN g %% 3 = 0 THEN 'completed' ELSE 'busy' END, CASE WHEN g %% 3 = 0 THEN 60 END, "
            "CASE WHEN g %% 3 = 0 THEN g %% 2 = 0 END, "
            "CASE WHEN g %% 3 = 0 THEN jsonb_build_object('appointment_booked', g %% 2 = 0, 'slot', 'Tuesday') "
            "ELSE '{}' END, CASE WHEN g %% 3 = 0 THEN 'Talked about the check-up.' ELSE '' END, "
            "CASE WHEN g %% 3 = 0 THEN 'https://rec.example.com/' || g || '.mp3' ELSE '' END, '{}', '{}', "
            "CASE WHEN g %% 3 = 0 THEN %s::jsonb ELSE '[]' END, CASE WHEN g %% 3 = 0 THEN 'interested' ELSE '' END, "
            "false, '' FROM (SELECT g, 1 + g %% %s AS l FROM generate_series(1, %s) g) s",
            [ids, calls, calls, transcript, n, calls],
        )
        for table in ("leads_lead", "leads_contact", "leads_statuschange", "leads_call"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"leads": n, "status_changes": changes, "calls": calls, "seconds": round(time.perf_counter() - started, 1)}


def median_ms(client, url: str, runs: int) -> tuple[float, int]:
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    shown = response.content.decode().count("<tr")
    return round(statistics.median(times[1:]), 1), shown  # the first run warms caches


def peak_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def bench_export(client, campaign_id: int) -> dict:
    """One campaign's calls (a fifth of them) through the calls list's Export CSV."""
    before = peak_mb()
    started = time.perf_counter()
    response = client.get(f"/admin/leads/call/export.csv?campaign__id__exact={campaign_id}")
    rows, size = 0, 0
    for chunk in response.streaming_content:  # the bench's cells hold no line breaks
        size += len(chunk)
        rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    return {
        "rows": rows - 1,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 1),
        "rows_per_second": round((rows - 1) / seconds),
        "peak_memory_mb_before": before,
        "peak_memory_mb_after": peak_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reseed", action="store_true", help="Seed again even if the data is there.")
    args = parser.parse_args()

    common.setup_django("leadsite_bench_calls")
    common.ensure_database()
    from django.core.management import call_command

    from leads.models import Call, Lead

    call_command("migrate", verbosity=0)
    seeded = None
    if args.reseed or Lead.objects.count() != args.leads:
        seeded = seed(args.leads)

    client = common.operator_client()

    campaign_id = Lead.objects.values_list("campaign_id", flat=True).first()
    lead = Lead.objects.order_by("id")[args.leads // 2]
    number = lead.contacts.get(position=0).phone
    pages = {
        "calls": "/admin/leads/call/",
        "calls_campaign": f"/admin/leads/call/?campaign__id__exact={campaign_id}",
        "calls_search_number": f"/admin/leads/call/?q={number[:2]}+{number[2:5]}+{number[5:]}",
        "calls_search_partial_number": f"/admin/leads/call/?q={number[-7:]}",
        "calls_search_name": f"/admin/leads/call/?q=Name+{lead.pk}",
        "calls_of_a_lead": f"/admin/leads/call/?lead={lead.pk}",
        "status_changes": "/admin/leads/statuschange/",
        "status_changes_campaign": f"/admin/leads/statuschange/?lead__campaign__id__exact={campaign_id}",
        "status_changes_campaign_and_source": (
            f"/admin/leads/statuschange/?lead__campaign__id__exact={campaign_id}&source__exact=dialer"
        ),
        "status_changes_search_number": f"/admin/leads/statuschange/?q={number}",
        "status_changes_of_a_lead": f"/admin/leads/statuschange/?lead={lead.pk}",
        "a_calls_page": f"/admin/leads/call/{Call.objects.filter(outcome='completed').first().pk}/change/",
    }
    results: dict = {
        "database": "postgresql",
        "leads": Lead.objects.count(),
        "calls": Call.objects.count(),
        "seeded": seeded,
        "pages_ms": {},
    }
    for label, url in pages.items():
        ms, shown = median_ms(client, url, args.runs)
        results["pages_ms"][label] = {"median": ms, "table_rows": shown, "url": url}
    results["export_one_campaign"] = bench_export(client, campaign_id)
    results["targets"] = {
        "page_under_ms": 300,
        "pages_ok": all(p["median"] < 300 for p in results["pages_ms"].values()),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
