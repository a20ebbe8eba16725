"""How many signed outcome reports a running server applies per second.

Opens calls on a PostgreSQL database of its own (postgres://postgres@127.0.0.1:
5432/leadsite_bench_webhook unless DATABASE_URL names another PostgreSQL database)
through the dialer's own claim with the simulated backend, then posts each call's
outcome report to ``/hooks/calls/<id>/`` from --clients concurrent clients (threads,
one keep-alive connection each), signed as the platform signs them
(``leads.dialer.signing``, Standard Webhooks). Each report is what the simulated
backend says of a ten-minute conversation: a transcript of a few KB, summary,
disposition, extracted variables, recording, some opt-outs and callbacks.

    .venv/bin/python bench/webhook.py [--calls 2000] [--clients 8] [--servers django-stock,django,gunicorn]
    .venv/bin/python bench/webhook.py --url http://127.0.0.1:8000   # a server you started

First --in-process reports (default 200) go through Django's WSGI handler in this
process, one after the other, no HTTP: the Python CPU, the PostgreSQL backend's CPU
and the statements of one outcome, which a busy machine changes least (--profile adds
cProfile's top functions and the Python function calls per outcome). Then each of
--servers, one after the other, on --calls calls of its own, with the development
settings and DEBUG off like every bench:

- ``django-stock``: Django's threaded WSGI server (as runserver) in --processes
  processes sharing one port (SO_REUSEPORT), a database connection per request;
- ``django``: the same keeping each thread's connection (CONN_MAX_AGE, production's 60);
- ``gunicorn``: gunicorn's sync workers (--workers), CONN_MAX_AGE as production;
- ``gunicorn-gthread``: gthread workers of --threads threads each.

A --url server must use the same database and webhook secret as this script (the
same DATABASE_URL and settings).

Prints JSON: per server, outcomes applied per second, latency p50/p95 (ms), errors by
kind, CPU per outcome of the server processes, of PostgreSQL (every database's: on a
shared machine others' work counts in it) and of the clients, and the load average
before and after. Target (issue 12): at least 200 applied per second on a 2-core machine.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import math
import os
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


# The servers a run can measure, each on calls of its own, one after the other:
# Django's threaded WSGI server opening a database connection per request (as every
# request did before CONN_MAX_AGE), the same keeping them (as production does), and
# gunicorn's sync and gthread workers (production's server, issue 15).
SERVERS = ("django-stock", "django", "gunicorn", "gunicorn-gthread")


def serve(port: int) -> None:
    """One server process: Django's threaded WSGI server (a thread per connection, as
    runserver) on a port the others share."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Server(ThreadedWSGIServer):
        request_queue_size = 128

        def server_bind(self):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            super().server_bind()

        def get_request(self):
            # The handler writes a response's headers and its body in two sends: with
            # Nagle's algorithm the body waits for the client's delayed ACK (40 ms on
            # Linux) on a kept-alive connection. gunicorn sets TCP_NODELAY itself.
            connection, address = super().get_request()
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return connection, address

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = Server(("127.0.0.1", port), Quiet)
    server.set_app(get_wsgi_application())
    server.serve_forever()


def server_command(kind: str, port: int, *, processes: int, threads: int) -> list[list[str]]:
    """The command lines of one server: one per process for Django's (they share the
    port), one gunicorn master that forks its workers."""
    if kind.startswith("django"):
        script = str(Path(__file__).resolve())
        return [[sys.executable, script, "--serve", str(port)] for _ in range(processes)]
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "leadsite.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={processes}",
        "--log-level=warning",
        "--backlog=128",
    ]
    if kind == "gunicorn-gthread":
        command += ["--worker-class=gthread", f"--threads={threads}"]
    return [command]


def start_servers(commands: list[list[str]], port: int, env: dict[str, str]) -> list[subprocess.Popen]:
    children = [subprocess.Popen(command, env=env, cwd=common.ROOT) for command in commands]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/hooks/calls/00000000-0000-0000-0000-000000000000/")
            connection.getresponse().read()
            connection.close()
            time.sleep(1.0)  # the other processes come up alongside
            return children
        except OSError:
            time.sleep(0.2)
    stop(children)
    raise SystemExit("the bench's servers did not come up within a minute")


def stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        child.terminate()
    for child in children:
        child.wait(timeout=20)


def _process_cpu(pid: int) -> float:
    """Seconds of CPU a live process used (user + system); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(roots: list[int]) -> float:
    """CPU seconds of ``roots`` and every live process below them (gunicorn's workers)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
            parents.setdefault(int(rest.rsplit(")", 1)[1].split()[1]), []).append(int(pid))
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0.0, list(roots)
    while todo:
        pid = todo.pop()
        total += _process_cpu(pid)
        todo += parents.get(pid, [])
    return total


def postgres_cpu() -> float | None:
    """CPU seconds PostgreSQL used so far, every database's (the machine may be shared):
    the postmaster, its live processes and those it reaped. None when it runs elsewhere."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return reaped + _tree_cpu([postmaster])


def in_process(bodies: list[tuple[str, str]], *, profile: bool) -> dict:
    """The same reports through Django's WSGI handler in this process, one after the
    other on one kept connection, no HTTP: the CPU an outcome costs in Python and in
    its PostgreSQL backend, and its statements, which a busy machine changes least."""
    import cProfile
    import io
    import pstats

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from leads.dialer.signing import signed_headers

    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = None  # kept for the whole measure
    handler = WSGIHandler()
    answers: Counter = Counter()

    def start_response(status, headers, exc_info=None):
        answers[status] += 1

    def environ(index: int, call_id: str, body: str) -> dict:
        raw = body.encode()
        signed = signed_headers(f"msg_inproc_{index}_{call_id}", body, now=timezone.now())
        return {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": f"/hooks/calls/{call_id}/",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(raw)),
            "wsgi.input": io.BytesIO(raw),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in signed.items()},
        }

    def send(env: dict) -> None:
        response = handler(env, start_response)
        b"".join(response)
        response.close()

    environs = [environ(index, call_id, body) for index, (call_id, body) in enumerate(bodies)]
    with CaptureQueriesContext(connection) as queries:
        send(environs[0])  # also opens the connection and warms the handler
    statements = [query["sql"] for query in queries.captured_queries]  # read now: the next request clears them
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    measured = environs[1:]
    profiler = cProfile.Profile(time.process_time) if profile else None
    python_started, backend_started, started = time.process_time(), _process_cpu(backend), time.perf_counter()
    if profiler:
        profiler.enable()
    for env in measured:
        send(env)
    if profiler:
        profiler.disable()
    python = time.process_time() - python_started
    wall = time.perf_counter() - started
    backend_cpu = _process_cpu(backend) - backend_started
    connection.settings_dict["CONN_MAX_AGE"] = 0
    connection.close()
    calls = None
    if profiler:
        calls = pstats.Stats(profiler).total_calls
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue(), file=sys.stderr)
    count = len(measured)
    return {
        "outcomes": count,
        "answers": dict(answers),
        "python_cpu_ms": round(1000 * python / count, 2),
        "postgres_backend_cpu_ms": round(1000 * backend_cpu / count, 2),
        "wall_ms": round(1000 * wall / count, 2),
        # One report's, on the connection this measure keeps (none to open).
        "statements": len(statements),
        "statement_list": [sql[:60] + ("…" if len(sql) > 60 else "") for sql in statements],
        # Python function calls per outcome: what the CPU above does, counted the same
        # on a busy machine (the profiler slows the run: its CPU numbers are higher).
        "python_calls": round(calls / count) if calls else None,
    }


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


def run_server(kind: str, bodies: list[tuple[str, str]], args: argparse.Namespace) -> dict:
    """Start one kind of server, post ``bodies`` to it, stop it: its numbers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conn_max_age = 0 if kind == "django-stock" else args.conn_max_age
    processes = args.processes if kind.startswith("django") else args.workers
    env = {**os.environ, "CONN_MAX_AGE": str(conn_max_age)}
    children = start_servers(server_command(kind, port, processes=processes, threads=args.threads), port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        # A few reports first, untimed: every process has loaded the site and, when it
        # keeps them, opened its connections.
        warm = min(len(bodies) // 10, 4 * args.clients)
        if warm:
            post_all(url, bodies[:warm], args.clients)
        return measure(bodies[warm:], url=url, args=args, servers=[child.pid for child in children]) | {
            "server": kind,
            "description": {
                "django-stock": f"Django's threaded WSGI server, {processes} processes, a connection per request",
                "django": f"Django's threaded WSGI server, {processes} processes, CONN_MAX_AGE {conn_max_age}",
                "gunicorn": f"gunicorn, {processes} sync workers, CONN_MAX_AGE {conn_max_age}",
                "gunicorn-gthread": f"gunicorn, {processes} gthread workers x {args.threads} threads, "
                f"CONN_MAX_AGE {conn_max_age}",
            }[kind],
        }
    finally:
        stop(children)


def measure(bodies: list[tuple[str, str]], *, url: str, args: argparse.Namespace, servers: list[int]) -> dict:
    """Post ``bodies`` from the clients; the rate, and the CPU each side spent on it."""
    load_before = os.getloadavg()
    server_cpu, postgres, client_cpu = _tree_cpu(servers), postgres_cpu(), time.process_time()
    result = post_all(url, bodies, args.clients)
    client_cpu = time.process_time() - client_cpu
    server_cpu = _tree_cpu(servers) - server_cpu
    postgres = postgres_cpu() - postgres if postgres is not None else None
    applied = max(result["applied"], 1)
    return {
        **result,
        # What an outcome cost, whatever else the machine runs (PostgreSQL's is every
        # database's: other work on a shared machine counts in it).
        "cpu_ms_per_outcome": {
            "server": round(1000 * server_cpu / applied, 2) if servers else None,
            "postgres": round(1000 * postgres / applied, 2) if postgres is not None else None,
            "clients": round(1000 * client_cpu / applied, 2),
        },
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls to report to each server (default 2000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--servers",
        default="django-stock,django,gunicorn",
        help=f"the servers to measure, one after the other, each on calls of its own: any of {', '.join(SERVERS)} "
        "(default django-stock,django,gunicorn; gunicorn's are left out where it is not installed)",
    )
    parser.add_argument("--processes", type=int, default=2, help="Django server processes (default 2, the cores)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads of each gthread worker (default 4)")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="CONN_MAX_AGE of every server but django-stock (default 60, production's)",
    )
    parser.add_argument("--url", help="a running server's address (same database and secret) instead of --servers")
    parser.add_argument(
        "--in-process",
        type=int,
        default=200,
        help="reports applied in this process first, for CPU and statements per outcome (default 200; 0: none)",
    )
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of the in-process run")
    parser.add_argument(
        "--per-campaign",
        type=int,
        default=MAX_LINES,
        help=f"calls in each campaign (default {MAX_LINES}, the most one campaign may have in flight)",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # a server process the bench starts
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    common.setup_django(DATABASE)
    if args.serve:
        serve(args.serve)
        return
    servers = [] if args.url else [name.strip() for name in args.servers.split(",") if name.strip()]
    skipped = [name for name in servers if name.startswith("gunicorn") and importlib.util.find_spec("gunicorn") is None]
    servers = [name for name in servers if name not in skipped]
    if (
        not 1 <= args.calls <= 100_000
        or not 1 <= args.clients <= 64
        or not 1 <= args.processes <= 16
        or not 1 <= args.workers <= 32
        or not 1 <= args.threads <= 32
        or not 0 <= args.in_process <= 10_000
        or not 1 <= args.per_campaign <= MAX_LINES
        or not set(servers) <= set(SERVERS)
        or not (servers or args.url)
    ):
        parser.error(
            f"--calls 1..100000, --clients 1..64, --processes 1..16, --workers 1..32, --threads 1..32, "
            f"--in-process 0..10000, --per-campaign 1..{MAX_LINES}, --servers among {', '.join(SERVERS)}"
        )
    runs = len(servers) or 1
    inproc = args.in_process + 1 if args.in_process else 0
    bodies = prepare(inproc + args.calls * runs, args.per_campaign)
    from django.db import connection

    output: dict = {
        "database": "postgresql",
        "calls": args.calls,
        "clients": args.clients,
        "body_bytes": {
            "mean": round(statistics.mean(len(body) for _, body in bodies)),
            "min": min(len(body) for _, body in bodies),
            "max": max(len(body) for _, body in bodies),
        },
        "cores": os.cpu_count(),
    }
    if skipped:
        output["skipped"] = dict.fromkeys(skipped, "gunicorn is not installed (pip install gunicorn)")
    if inproc:
        output["in_process"] = in_process(bodies[:inproc], profile=args.profile)
    bodies = bodies[inproc:]
    if args.url:
        output["runs"] = [measure(bodies, url=args.url, args=args, servers=[]) | {"server": args.url}]
    else:
        output["runs"] = [
            run_server(kind, bodies[index * args.calls : (index + 1) * args.calls], args)
            for index, kind in enumerate(servers)
        ]
    from leads.models import Call, CallReport

    output["calls_closed"] = Call.objects.filter(ended_at__isnull=False).count()
    output["reports_applied"] = CallReport.objects.filter(applied=True).count()
    output["targets"] = {"applied_per_s_200": max(run["applied_per_s"] for run in output["runs"]) >= 200}
    connection.close()
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
