"""How fast the dialer claims leads, and whether a claim's cost grows with the table.

Seeds a PostgreSQL database of its own (postgres://postgres@127.0.0.1:5432/
leadsite_bench_dialer unless DATABASE_URL names another PostgreSQL database) with due
leads, then prints JSON:

- ``claim_ms``: the median time of one claim (the campaign's free lines, default 50
  leads, locked, numbers read, calls opened, committed) with 10,000 and with
  1,000,000 leads in the table, all due. Target (issue 5): the same for both.
- ``claims_per_s``: claims and leads claimed per second by 1, 2 and 4 processes,
  each running the dialer's own ``claim`` over 8 campaigns for --seconds.

    .venv/bin/python bench/dialer.py [--big 1000000] [--small 10000] [--seconds 10]

Calls are opened but not placed (no backend work is measured); between claims the
bench closes the calls it opened, untimed, so every claim has free lines.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time

import common  # noqa: E402  (bench/ is on the path when a script runs; it puts the project there)

DATABASE = "leadsite_bench_dialer"
CAMPAIGNS = 8
LINES = 50


def prepare() -> None:
    from django.core.management import call_command

    common.ensure_database()
    call_command("migrate", verbosity=0)


def seed(leads: int) -> None:
    """``leads`` Created leads with one number each, spread over the campaigns, written
    by SQL (generate_series): seconds for a million."""
    from django.db import connection

    from campaigns.models import Assistant, Campaign

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_callreport, leads_call, leads_statuschange, leads_contact, leads_lead, "
            "campaigns_campaign, campaigns_variable, campaigns_assistant RESTART IDENTITY CASCADE"
        )
    assistant = Assistant.objects.create(name="Bench")
    ids = [
        Campaign.objects.create(
            name=f"Bench {i}", assistant=assistant, max_calls_in_parallel=LINES, status=Campaign.Status.IN_PROGRESS
        ).pk
        for i in range(CAMPAIGNS)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO leads_lead (campaign_id, status, timezone, attempts, last_outcome, dial_errors, created_at, "
            f"updated_at) SELECT (ARRAY[{','.join(map(str, ids))}])[1 + i % {CAMPAIGNS}], 'created', '', 0, '', 0, "
            f"now() - interval '1 day' + i * interval '1 millisecond', now() FROM generate_series(1, {leads}) i"
        )
        cursor.execute(
            "INSERT INTO leads_contact (lead_id, campaign_id, position, phone, status, attempts, last_outcome, "
            "variables) SELECT id, campaign_id, 0, '+1415' || lpad(id::text, 7, '0'), 'created', 0, '', "
            '\'{"customer_name": "Bench"}\' FROM leads_lead'
        )
        cursor.execute("VACUUM ANALYZE leads_lead")
        cursor.execute("VACUUM ANALYZE leads_contact")


def claim_times(samples: int) -> list[float]:
    from django.utils import timezone

    from campaigns.models import Campaign
    from leads.dialer import passes
    from leads.dialer.backends.simulated import SimulatedBackend
    from leads.models import Call

    backend = SimulatedBackend(seed=1)
    campaign = Campaign.objects.get(name="Bench 0")
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        opened = passes.claim(campaign, backend=backend, now=timezone.now())
        times.append(time.perf_counter() - started)
        assert len(opened) == LINES, len(opened)
        Call.objects.filter(ended_at__isnull=True).update(ended_at=timezone.now(), outcome="completed")
    return times


def _claimer(seconds: float, queue) -> None:
    common.setup_django(DATABASE)
    from django.utils import timezone

    from campaigns.models import Campaign
    from leads.dialer import passes
    from leads.dialer.backends.simulated import SimulatedBackend
    from leads.models import Call

    backend = SimulatedBackend(seed=1)
    campaigns = list(Campaign.objects.order_by("pk"))
    claims = leads = 0
    claiming = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for campaign in campaigns:
            started = time.perf_counter()
            opened = passes.claim(campaign, backend=backend, now=timezone.now())
            claiming += time.perf_counter() - started
            if opened:
                claims += 1
                leads += len(opened)
                Call.objects.filter(pk__in=[c.pk for c in opened]).update(ended_at=timezone.now(), outcome="completed")
    queue.put((claims, leads, claiming))


def throughput(processes: int, seconds: float) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_claimer, args=(seconds, queue)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    claims = sum(r[0] for r in results)
    leads = sum(r[1] for r in results)
    return {
        "processes": processes,
        "claims_per_s": round(claims / seconds, 1),
        "leads_per_s": round(leads / seconds),
        "mean_claim_ms": round(1000 * sum(r[2] for r in results) / max(claims, 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    common.setup_django(DATABASE)
    prepare()
    result: dict = {"database": "postgresql", "lines_per_claim": LINES, "claim_ms": {}, "claims_per_s": []}
    for size in (args.small, args.big):
        seed(size)
        times = claim_times(samples=max(1, min(20, size // CAMPAIGNS // LINES)))
        result["claim_ms"][str(size)] = {
            "median": round(1000 * statistics.median(times), 1),
            "p90": round(1000 * sorted(times)[int(len(times) * 0.9)], 1),
        }
    from django.db import connection

    connection.close()
    for processes in (1, 2, 4):
        result["claims_per_s"].append(throughput(processes, args.seconds))
    small, big = (result["claim_ms"][str(n)]["median"] for n in (args.small, args.big))
    result["targets"] = {"claim_time_flat": big <= max(small * 1.5, small + 5)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
