"""How many signed outcome reports a running server applies per second.

Opens --calls calls on a PostgreSQL database of its own (postgres://postgres@127.0.0.1:
5432/leadsite_bench_webhook unless DATABASE_URL names another PostgreSQL database)
through the dialer's own claim with the simulated backend, then posts each call's
outcome report to ``/hooks/calls/<id>/`` from --clients concurrent clients (threads,
one keep-alive connection each), signed as the platform signs them
(``leads.dialer.signing``, Standard Webhooks). Each report is what the simulated
backend says of a ten-minute conversation: a transcript of a few KB, summary,
disposition, extracted variables, recording, some opt-outs and callbacks.

    .venv/bin/python bench/webhook.py [--calls 2000] [--clients 8] [--processes 2]
    .venv/bin/python bench/webhook.py --url http://127.0.0.1:8000   # a server you started

Without --url it serves the site itself, as ``manage.py serve`` does (Django's own
threaded WSGI server, with the development settings and DEBUG off like every
bench), in --processes processes
sharing one port (SO_REUSEPORT: the kernel spreads the connections), since no other
WSGI server is a dependency. A --url server must use the same database and webhook
secret as this script (the same DATABASE_URL and settings).

Prints JSON: outcomes applied per second, latency p50/p95 (ms), errors by kind, body
sizes, and the machine's load average before and after (the machine may be shared).
Target (issue 12): at least 200 applied per second on a 2-core machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import common  # noqa: E402  (bench/ is on the path when a script runs; it puts the project there)

DATABASE = "leadsite_bench_webhook"
MAX_LINES = 1000  # the most one campaign may have in flight
LONG_CALL = 600  # seconds: the conversations' length, for transcripts of a few KB


def prepare(calls: int, per_campaign: int = MAX_LINES) -> list:
    """A fresh database with ``calls`` open calls, ``per_campaign`` in each campaign,
    placed by the dialer's own pass."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from campaigns import services
    from campaigns.models import Assistant, Campaign
    from leads import transitions
    from leads.dialer import passes
    from leads.dialer.backends import dialer_settings
    from leads.dialer.backends.simulated import SimulatedBackend, recording_url
    from leads.models import Call, Contact, Lead

    common.ensure_database()
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_callreport, leads_call, leads_statuschange, leads_contact, leads_lead, "
            "leads_donotcallnumber, campaigns_campaign, campaigns_variable, campaigns_assistant RESTART IDENTITY CASCADE"
        )
    assistant = Assistant.objects.create(name="Bench", timezone="America/New_York")
    campaigns = [
        Campaign.objects.create(
            name=f"Bench {i}",
            assistant=assistant,
            max_calls_in_parallel=per_campaign,
            goal_completion_variable="appointment_booked",
        )
        for i in range(math.ceil(calls / per_campaign))
    ]
    # Two numbers each: an opt-out puts both on the do-not-call list.
    leads = Lead.objects.bulk_create(
        Lead(campaign=campaigns[i // per_campaign], status=transitions.new_lead_status()) for i in range(calls)
    )
    Contact.objects.bulk_create(
        Contact(
            lead=lead,
            campaign_id=lead.campaign_id,
            position=position,
            phone=f"+1415{position}{lead.pk:06d}",
            variables={"customer_name": "Ana García", "company": "Acme Dental"} if position == 0 else {},
        )
        for lead in leads
        for position in (0, 1)
    )
    for campaign in campaigns:
        services.campaign_start(campaign=campaign)
    # Every call a conversation; the calls are reported by this bench, not by the backend.
    backend = SimulatedBackend(
        seed=12,
        odds=dict.fromkeys(("voicemail", "no-answer", "busy", "failed", "invalid-number"), 0),
        goal_odds=0.6,
        duration_scale=1000,
        recording_url=recording_url(dialer_settings()["CALLBACK_BASE_URL"]),
    )
    passes.run_pass(now=timezone.now(), backend=backend)
    opened = list(Call.objects.filter(ended_at__isnull=True).select_related("campaign__assistant"))
    assert len(opened) == calls, (len(opened), calls)
    bodies = []
    for call in opened:
        # A long conversation, for the transcript's length (the plan is not saved).
        call.backend_data = {**call.backend_data, "duration": LONG_CALL}
        bodies.append((str(call.pk), json.dumps(backend.payload(call), separators=(",", ":"))))
    return bodies


def serve(port: int, conn_max_age: int | None) -> None:
    """One server process: Django's threaded WSGI server (a thread per connection, as
    runserver) on a port the others share."""
    from django.conf import settings

    if conn_max_age is not None:
        # Each client's connection has its own thread: its database connection is kept.
        settings.DATABASES["default"]["CONN_MAX_AGE"] = conn_max_age
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Server(ThreadedWSGIServer):
        request_queue_size = 128

        def server_bind(self):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            super().server_bind()

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = Server(("127.0.0.1", port), Quiet)
    server.set_app(get_wsgi_application())
    server.serve_forever()


def start_servers(processes: int, conn_max_age: int | None) -> tuple[str, list[subprocess.Popen]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = str(Path(__file__).resolve())
    children = [
        subprocess.Popen(
            [sys.executable, script, "--serve", str(port)]
            + ([] if conn_max_age is None else ["--conn-max-age", str(conn_max_age)]),
            env=os.environ.copy(),
        )
        for _ in range(processes)
    ]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/hooks/calls/00000000-0000-0000-0000-000000000000/")
            connection.getresponse().read()
            connection.close()
            time.sleep(1.0)  # the other processes come up alongside
            return url, children
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the bench's servers did not come up within a minute")


def post_all(url: str, bodies: list[tuple[str, str]], clients: int) -> dict:
    """Post every body once from ``clients`` threads; each keeps one connection."""
    from django.utils import timezone

    from leads.dialer.signing import signed_headers

    parts = urllib.parse.urlsplit(url)
    base = parts.path.rstrip("/")
    lock = threading.Lock()
    work = iter(enumerate(bodies))
    latencies: list[float] = []
    results: Counter = Counter()

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
        while True:
            with lock:
                item = next(work, None)
            if item is None:
                break
            index, (call_id, body) = item
            headers = {
                "Content-Type": "application/json",
                **signed_headers(f"msg_bench_{index}_{call_id}", body, now=timezone.now()),
            }
            started = time.perf_counter()
            try:
                connection.request("POST", f"{base}/hooks/calls/{call_id}/", body=body.encode(), headers=headers)
                response = connection.getresponse()
                answer = json.loads(response.read() or b"{}")
                kind = answer.get("result") if response.status == 200 else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException, ValueError) as error:
                kind = f"{type(error).__name__}"
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                results[kind] += 1
        connection.close()

    workers = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    applied = results.pop("applied", 0)
    return {
        "applied": applied,
        "seconds": round(seconds, 2),
        "applied_per_s": round(applied / seconds, 1),
        "latency_ms": {
            "p50": round(1000 * statistics.median(latencies), 1),
            "p95": round(1000 * latencies[int(len(latencies) * 0.95)], 1),
            "max": round(1000 * latencies[-1], 1),
        },
        "errors": dict(results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls to report (default 2000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--processes", type=int, default=2, help="server processes (default 2, the cores)")
    parser.add_argument("--url", help="a running server's address (same database and secret); default: start one")
    parser.add_argument(
        "--per-campaign",
        type=int,
        default=MAX_LINES,
        help=f"calls in each campaign (default {MAX_LINES}, the most one campaign may have in flight)",
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        help="keep each server thread's database connection this many seconds (the settings close it per request)",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # a server process the bench starts
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    common.setup_django(DATABASE)
    if args.serve:
        serve(args.serve, args.conn_max_age)
        return
    if (
        not 1 <= args.calls <= 100_000
        or not 1 <= args.clients <= 64
        or not 1 <= args.processes <= 16
        or not 1 <= args.per_campaign <= MAX_LINES
    ):
        parser.error(f"--calls 1..100000, --clients 1..64, --processes 1..16, --per-campaign 1..{MAX_LINES}")
    bodies = prepare(args.calls, args.per_campaign)
    from django.db import connection

    connection.close()
    children: list[subprocess.Popen] = []
    load_before = os.getloadavg()
    try:
        if args.url:
            url = args.url
        else:
            url, children = start_servers(args.processes, args.conn_max_age)
        client_cpu = time.process_time()
        result = post_all(url, bodies, args.clients)
        client_cpu = time.process_time() - client_cpu
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)
    # CPU the server processes used (their start-up included): with the clients', what
    # an outcome costs this side of PostgreSQL, whatever else the machine runs.
    served = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ms = {
        "server": round(1000 * (served.ru_utime + served.ru_stime) / max(result["applied"], 1), 2)
        if children
        else None,
        "clients": round(1000 * client_cpu / max(result["applied"], 1), 2),
    }
    from leads.models import Call, CallReport

    sizes = sorted(len(body) for _, body in bodies)
    print(
        json.dumps(
            {
                "database": "postgresql",
                "server": url
                if args.url
                else f"Django's threaded WSGI server, {args.processes} processes, DEBUG off"
                + ("" if args.conn_max_age is None else f", CONN_MAX_AGE {args.conn_max_age}"),
                "calls": args.calls,
                "campaigns": math.ceil(args.calls / args.per_campaign),
                "clients": args.clients,
                **result,
                "calls_closed": Call.objects.filter(ended_at__isnull=False).count(),
                "reports_applied": CallReport.objects.filter(applied=True).count(),
                "cpu_ms_per_outcome": cpu_ms,
                "body_bytes": {"mean": round(statistics.mean(sizes)), "min": sizes[0], "max": sizes[-1]},
                "load_average": {
                    "before": [round(x, 2) for x in load_before],
                    "after": [round(x, 2) for x in os.getloadavg()],
                },
                "cores": os.cpu_count(),
                "targets": {"applied_per_s_200": result["applied_per_s"] >= 200},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
