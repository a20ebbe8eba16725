"""Several real ``run_dialer`` processes against one PostgreSQL database, with real
transactions: no lead dialled twice at once, no campaign over its line limit, every
attempt accounted for, and a dialer killed mid-claim gives its leads back."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.db.models import Count, Max, Sum
from django.utils import timezone

from campaigns import services
from campaigns.tests.factories import make_campaign
from leads.models import Call, Contact, Lead, LeadStatus, StatusChange
from leads.tests.factories import bulk_leads, pass_at_any_hour

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Calls placed at the clock's time: the calling rules are not what these tests are about.
    pytest.mark.usefixtures("without_calling_rules"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="several dialers share PostgreSQL only"),
]

ROOT = Path(__file__).resolve().parents[3]  # the project, where manage.py is
ENDED = 2000  # calls the four dialers end before they are stopped


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_dialer(*args: str, scale: str = "0.002") -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "leadsite.settings.test",
        "LEADS_SIMULATED_DURATION_SCALE": scale,
        "LEADS_SIMULATED_SEED": "11",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_dialer", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(processes: list[subprocess.Popen]) -> tuple[list[int], str]:
    """SIGTERM (a dialer finishes its pass first); their exit codes and error output."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    errors = "".join(process.communicate(timeout=30)[1] for process in processes)
    return [process.returncode for process in processes], errors


def test_four_dialers_on_ten_thousand_due_leads():
    limits = {}
    for name, limit in [("A", 60), ("B", 40)]:
        # Cascade over two numbers: a lead's second call follows its first at once,
        # so a lead claimed again while in flight would show.
        campaign = make_campaign(name=name, max_calls_in_parallel=limit, max_retries=0, secondary_strategy="cascade")
        bulk_leads(campaign, 5000, secondaries=1, start=0 if name == "A" else 5000)
        services.campaign_start(campaign=campaign)
        limits[campaign.pk] = limit

    dialers = [start_dialer("--interval", "0.01", scale="0.001") for _ in range(4)]
    highest: dict[int, int] = {}
    deadline = time.monotonic() + 120
    try:
        # Until 2,000 calls have ended (every dialer has claimed, placed and closed
        # many by then: 20 rounds of both campaigns' lines), sampling the calls in
        # flight per campaign all along.
        while time.monotonic() < deadline and Call.objects.filter(ended_at__isnull=False).count() < ENDED:
            for row in Call.objects.filter(ended_at__isnull=True).values("campaign").annotate(n=Count("pk")):
                highest[row["campaign"]] = max(highest.get(row["campaign"], 0), row["n"])
            time.sleep(0.02)
    finally:
        codes, errors = stop(dialers)

    assert codes == [0, 0, 0, 0] and "Traceback" not in errors and "failed" not in errors, errors[-3000:]
    assert Call.objects.filter(ended_at__isnull=False).count() >= ENDED
    # Never over a campaign's limit, and the lines were used.
    for campaign_id, limit in limits.items():
        assert limit // 2 <= highest[campaign_id] <= limit, (campaign_id, highest)
    # No lead ever had two calls in flight: its calls follow one another.
    timeline: dict[int, list] = {}
    for lead_id, placed, ended in Call.objects.order_by("placed_at").values_list("lead", "placed_at", "ended_at"):
        timeline.setdefault(lead_id, []).append((placed, ended))
    for spans in timeline.values():
        for (_, ended), (next_placed, _) in zip(spans, spans[1:]):
            assert ended is not None and ended <= next_placed
    assert Call.objects.values("lead", "position").annotate(n=Count("pk")).aggregate(m=Max("n"))["m"] == 1
    # Every attempt accounted for: each call counted once on its number and its lead,
    # each lead in Processing has exactly its one open call, each claim is audited.
    calls = Call.objects.count()
    assert Contact.objects.aggregate(n=Sum("attempts"))["n"] == calls
    assert Lead.objects.aggregate(n=Sum("attempts"))["n"] == calls
    assert StatusChange.objects.filter(to_status=LeadStatus.PROCESSING).count() == calls
    in_flight = set(Call.objects.filter(ended_at__isnull=True).values_list("lead", flat=True))
    assert in_flight == set(Lead.objects.filter(status=LeadStatus.PROCESSING).values_list("pk", flat=True))


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_a_dialer_killed_mid_claim_gives_its_leads_back():
    campaign = make_campaign(max_calls_in_parallel=5)
    leads = bulk_leads(campaign, 5)
    services.campaign_start(campaign=campaign)

    # Another session has an open call for one of the leads, not committed yet: the
    # claim's insert of its own calls waits on the one-open-call-per-lead index, half
    # done, with its leads and numbers locked and nothing committed.
    with psycopg.connect(database_url(), autocommit=False) as blocker:
        blocker.execute(
            "INSERT INTO leads_call (id, lead_id, campaign_id, phone, position, attempt, backend, provider_call_id, "
            "placed_at, outcome, extracted_variables, summary, recording_url, variables, backend_data) "
            "VALUES (gen_random_uuid(), %s, %s, '+14155550100', 0, 1, 'test', '', now(), '', '{}', '', '', '{}', '{}')",
            [leads[-1].pk, campaign.pk],
        )
        dialer = start_dialer("--once")
        for _ in range(200):
            if _waiting_on_a_lock():
                break
            time.sleep(0.05)
        else:
            dialer.kill()
            pytest.fail("the dialer never reached the blocked insert: " + dialer.communicate()[1][-2000:])
        assert Lead.objects.filter(status=LeadStatus.PROCESSING).count() == 0  # nothing committed yet
        dialer.kill()
        dialer.wait(10)
        blocker.rollback()

    # The server notices the dead client and rolls its transaction back.
    for _ in range(200):
        if not _waiting_on_a_lock() and not Lead.objects.filter(status=LeadStatus.PROCESSING).exists():
            break
        time.sleep(0.05)
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.CREATED}
    assert not Call.objects.exists()
    assert Contact.objects.aggregate(n=Sum("attempts"))["n"] == 0
    assert not StatusChange.objects.filter(to_status=LeadStatus.PROCESSING).exists()

    # The next dialer takes them as if nothing happened.
    again = start_dialer("--once")
    assert again.wait(30) == 0
    assert Lead.objects.filter(status=LeadStatus.PROCESSING).count() == 5
    assert Call.objects.filter(ended_at__isnull=True).count() == 5


def test_the_same_outcome_delivered_twice_at_once_is_applied_once():
    from leads.dialer import outcomes
    from leads.dialer.backends.simulated import SimulatedBackend
    from leads.models import CallReport
    from leads.transitions import Actor, Report
    from leadsite.testing import at_once

    campaign = make_campaign()
    bulk_leads(campaign, 1)
    services.campaign_start(campaign=campaign)
    pass_at_any_hour(SimulatedBackend(seed=1, duration_scale=1000))
    call = Call.objects.get()
    results = at_once(
        lambda: outcomes.outcome_receive(
            call.pk,
            Report(outcome="busy"),
            payload={"outcome": "busy"},
            webhook_id="msg-twice",
            now=call.placed_at,
            actor=Actor.system(),
        )
    )

    assert sorted(results) == ["applied", "repeat"]
    assert CallReport.objects.filter(call=call).count() == 1
    assert StatusChange.objects.filter(lead_id=call.lead_id, from_status=LeadStatus.PROCESSING).count() == 1


def test_a_claim_never_waits_on_a_number_someone_else_holds():
    import threading

    from leads.dialer import passes
    from leads.dialer.backends.simulated import SimulatedBackend

    campaign = make_campaign(max_calls_in_parallel=5)
    leads = bulk_leads(campaign, 3)
    services.campaign_start(campaign=campaign)
    backend = SimulatedBackend(seed=1, duration_scale=1000)
    contact = Contact.objects.get(lead=leads[0])

    with psycopg.connect(database_url(), autocommit=False) as holder:
        # Another session (a do-not-call in progress, say) holds one number's row.
        holder.execute("SELECT id FROM leads_contact WHERE id = %s FOR UPDATE", [contact.pk])
        finished = threading.Event()
        opened = []

        def claim():
            opened.extend(passes.claim(campaign, backend=backend, now=timezone.now()))
            finished.set()
            connection.close()

        worker = threading.Thread(target=claim)
        worker.start()
        assert finished.wait(5), "the claim waited on the held number"
        worker.join()
        holder.rollback()

    assert opened == [] and not Call.objects.exists()  # the batch was given back whole
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.CREATED}
    assert len(passes.claim(campaign, backend=backend, now=timezone.now())) == 3  # and taken on the next pass


def test_two_dialers_claiming_one_number_in_two_campaigns_never_go_over_its_cap():
    from campaigns.models import CallingRule
    from leads.dialer import passes
    from leads.dialer.backends.simulated import SimulatedBackend
    from leads.tests.factories import make_lead
    from leadsite.testing import at_once

    CallingRule.objects.create(name="one call a day", country_code="1", max_calls_24h=1)
    backend = SimulatedBackend(seed=1, duration_scale=1000)
    for round_ in range(5):
        first, second = make_campaign(), make_campaign()
        number = f"+1212556{9000 + round_:04d}"
        make_lead(campaign=first, primary=number)
        make_lead(campaign=second, primary=number)
        services.campaign_start(campaign=first)
        services.campaign_start(campaign=second)
        campaigns, now = iter([first, second]), timezone.now()
        at_once(lambda campaigns=campaigns, now=now: passes.claim(next(campaigns), backend=backend, now=now))
        assert Call.objects.filter(phone=number).count() == 1, round_
