"""How fast the leads list and a bulk action are with a million leads.

Seeds N leads (default 1,000,000; with secondary numbers, five variables and what
their calls found out: results, goal, disposition, callbacks, opt-outs) into a
PostgreSQL database of its own, once (it reuses them on the next run), then requests
the admin's pages in-process, as a logged-in operator would, and prints JSON with
the median time of each:

    .venv/bin/python bench/changelist.py [--leads N] [--runs R] [--reseed]

The database is DATABASE_URL when it names PostgreSQL, else
postgres://postgres@127.0.0.1:5432/leadsite_bench. Targets (issues 2 and 12): each page
(the result filters too, alone and with a campaign and a status) under 300 ms, the
bulk Reset of 100,000 selected leads under 5 s. Before each timed Reset the bench puts
the same leads back in Completed (untimed), then vacuums, as autovacuum would after
such a rewrite. ``--only result,goal`` times only the pages whose label contains
"result" or "goal" (and no Reset).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import timedelta

import common  # noqa: E402  (bench/ is on the path when a script runs; it puts the project there)

from leads.demo import FIRST, LAST  # plain data: needs no Django set up

CITIES = ["Austin", "Boston", "Chicago", "Denver", "Miami", "Seattle", "Portland", "Phoenix"]
STATUSES = [
    ("created", 50),
    ("scheduled", 8),
    ("rescheduled", 15),
    ("reached-max-retries", 10),
    ("completed", 15),
    ("blacklisted", 2),
]
CAMPAIGNS = 5
RESET_SIZE = 100_000
# What the calls found out, as the dialer leaves it: about 30% of leads had a
# conversation, 10% achieved the goal (and completed), a few % have a callback
# pending, about 1% opted out; each conversation extracted 2-3 results.
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
APPOINTMENT_TIMES = [f"{day} {hour:02d}:00" for day in DAYS for hour in range(9, 17)]
REASONS = [
    "too expensive",
    "already has a dentist",
    "not interested right now",
    "moving away",
    "needs to ask their partner",
    "prefers e-mail",
    "bad timing, call next month",
    "wrong person",
]
DISPOSITIONS = ["not-interested", "call-back-later", "interested", "wrong-person", "no-decision"]


def conversation(rng: random.Random, lead_id: int, status: str, now) -> dict:
    """The result fields of one lead, from its status (what its calls would have left)."""
    fields = {"results": {}, "goal_achieved": None, "disposition": "", "summary": "", "duration_seconds": None}
    fields.update(recording_url="", callback_at=None, opted_out_at=None)
    if status == "completed":
        talked, goal = True, rng.random() < 2 / 3  # 10% of all leads
    elif status in ("scheduled", "rescheduled", "reached-max-retries"):
        talked, goal = rng.random() < 0.45, False
    elif status == "blacklisted":
        talked, goal = rng.random() < 0.5, False  # half of them said so on a call
    else:
        talked, goal = False, None
    if not talked:
        return fields
    if goal:
        results = {"appointment_booked": True, "appointment_time": rng.choice(APPOINTMENT_TIMES)}
        if rng.random() < 0.5:
            results["notes"] = rng.choice(["bring x-rays", "first visit", "prefers Dr. Rossi", "wheelchair access"])
        disposition = rng.choice(["booked", "interested"])
    else:
        results = {"appointment_booked": False, "reason": rng.choice(REASONS)}
        if rng.random() < 0.4:
            results["best_time"] = rng.choice(["morning", "afternoon", "evening"])
        disposition = rng.choice(DISPOSITIONS)
    fields.update(
        results=results,
        # A report may leave the goal out: then it is unknown, conversation or not.
        goal_achieved=goal if rng.random() < 0.95 else None,
        disposition=disposition,
        summary=f"Spoke with the callee about the check-up; {results.get('reason', 'booked a visit')}.",
        duration_seconds=rng.randint(20, 400),
        recording_url=f"https://recordings.example.com/calls/{lead_id}.mp3",
    )
    if status == "blacklisted":
        fields["opted_out_at"] = now - timedelta(days=rng.randint(0, 30))
        fields["disposition"] = "do-not-call"
    elif status == "rescheduled" and rng.random() < 0.2:  # about 3% of all leads
        fields["callback_at"] = now + timedelta(hours=rng.randint(1, 72))
    return fields


def seed(n: int) -> dict:
    """Write n leads and their numbers with COPY; a few minutes for a million."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Assistant, Campaign, Variable

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_statuschange, leads_contact, leads_lead, leads_donotcallnumber, "
            "campaigns_campaign, campaigns_variable, campaigns_assistant RESTART IDENTITY CASCADE"
        )
    assistant = Assistant.objects.create(name="Bench assistant", timezone="America/New_York")
    for i, name in enumerate(["customer_name", "company", "city", "appointment_type", "language"]):
        Variable.objects.create(assistant=assistant, name=name, position=i, required=(i == 0))
    campaigns = [Campaign.objects.create(name=f"Bench {i}", assistant=assistant) for i in range(CAMPAIGNS)]

    rng = random.Random(42)
    statuses = [s for s, weight in STATUSES for _ in range(weight)]
    now = timezone.now()
    raw = connection.connection  # psycopg 3
    # The primary number carries the lead's attempts and its state, as after real calls.
    lead_status, lead_attempts = {}, {}
    contact_state = {
        "created": "created",
        "scheduled": "rescheduled",
        "rescheduled": "rescheduled",
        "reached-max-retries": "reached-max-retries",
        "completed": "completed",
        "blacklisted": "blacklisted",
    }
    contact_id = 0
    # Every number is distinct (E.164-shaped; the database checks only that).
    with raw.cursor() as cursor:
        with cursor.copy(
            "COPY leads_lead (id, campaign_id, status, timezone, next_attempt_at, attempts, last_outcome, "
            "last_attempt_at, created_at, updated_at, results, goal_achieved, disposition, summary, "
            "duration_seconds, recording_url, callback_at, opted_out_at) FROM STDIN"
        ) as copy:
            for lead_id in range(1, n + 1):
                status = lead_status[lead_id] = rng.choice(statuses)
                created = now - timedelta(minutes=n - lead_id)
                found = conversation(rng, lead_id, status, now)
                next_at = (
                    found["callback_at"] or now + timedelta(minutes=rng.randint(-600, 600))
                    if status in ("scheduled", "rescheduled")
                    else None
                )
                attempted = status not in ("created",)
                lead_attempts[lead_id] = rng.randint(1, 4) if attempted else 0
                outcome = "completed" if found["summary"] else rng.choice(["no-answer", "busy", "voicemail"])
                copy.write_row(
                    (
                        lead_id,
                        campaigns[lead_id % CAMPAIGNS].pk,
                        status,
                        "",
                        next_at,
                        lead_attempts[lead_id],
                        outcome if attempted else "",
                        created + timedelta(minutes=5) if attempted else None,
                        created,
                        created,
                        json.dumps(found["results"]),
                        found["goal_achieved"],
                        found["disposition"],
                        found["summary"],
                        found["duration_seconds"],
                        found["recording_url"],
                        found["callback_at"],
                        found["opted_out_at"],
                    )
                )
        with cursor.copy(
            "COPY leads_contact (id, lead_id, campaign_id, position, phone, status, attempts, last_outcome, variables) "
            "FROM STDIN"
        ) as copy:
            number = 0
            for lead_id in range(1, n + 1):
                count = rng.choice([1, 1, 1, 2, 2, 3])
                for position in range(count):
                    number += 1
                    contact_id += 1
                    variables = (
                        {
                            "customer_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                            "company": f"Company {lead_id % 997}",
                            "city": rng.choice(CITIES),
                            "appointment_type": rng.choice(["check-up", "cleaning"]),
                            "language": rng.choice(["English", "Spanish"]),
                        }
                        if position == 0
                        else ({"contact_name": rng.choice(FIRST)} if rng.random() < 0.3 else {})
                    )
                    primary = position == 0
                    copy.write_row(
                        (
                            contact_id,
                            lead_id,
                            campaigns[lead_id % CAMPAIGNS].pk,
                            position,
                            f"+1{2_012_000_000 + number * 7}",
                            contact_state[lead_status[lead_id]] if primary else "created",
                            lead_attempts[lead_id] if primary else 0,
                            "",
                            json.dumps(variables),
                        )
                    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('leads_lead_id_seq', %s)", [n])
        cursor.execute("SELECT setval('leads_contact_id_seq', %s)", [contact_id])
        # As autovacuum would have by the time anyone works on this data: without it,
        # the first pass over freshly copied rows rewrites every page (hint bits).
        cursor.execute("VACUUM ANALYZE leads_lead")
        cursor.execute("VACUUM ANALYZE leads_contact")
    return {"leads": n, "contacts": contact_id, "seconds": round(time.perf_counter() - started, 1)}


def result_pages(campaign_id: int) -> dict[str, str]:
    """The result filters (issue 12), each alone and with a campaign and a status."""
    filters = {
        "goal_achieved_yes": ("goal_achieved=true", "completed"),
        "goal_achieved_no": ("goal_achieved=false", "rescheduled"),
        "goal_achieved_unknown": ("goal_achieved=unknown", "created"),
        "disposition": ("disposition=call-back-later", "rescheduled"),
        "result_equals": ("result=appointment_time&result_value=Tuesday+15:00", "completed"),
        "result_equals_true": ("result=appointment_booked&result_value=true", "completed"),  # 10% of the leads
        "result_contains": ("result=reason&result_contains=PARTNER", "rescheduled"),
        "callback_pending_yes": ("callback_pending=true", "rescheduled"),
        "callback_pending_no": ("callback_pending=false", "rescheduled"),
        "opted_out_yes": ("opted_out=true", "blacklisted"),
        "opted_out_no": ("opted_out=false", "created"),
    }
    pages = {}
    for label, (query, status) in filters.items():
        pages[label] = f"/admin/leads/lead/?{query}"
        pages[f"{label}_campaign_status"] = f"/admin/leads/lead/?{query}&campaign={campaign_id}&status={status}"
    return pages


# --- Consent (issue 13): its own block, merged apart from the rest --------------------
# 60% of the leads have none recorded, 25% express, 10% express written, 5% an existing
# business relationship, given a day before they were created; the first campaign
# requires express written consent, the second express.
CONSENT_SHARES = ["none"] * 12 + ["express"] * 5 + ["express-written"] * 2 + ["existing-relationship"]


def seed_consent() -> dict | None:
    """Give the leads their consent, once (the seed writes none): a minute for a million."""
    from django.db import connection

    from campaigns.models import Campaign
    from leads.models import Lead

    # The requirements every run (cheap), the leads' consent once.
    first, second = Campaign.objects.order_by("id").values_list("pk", flat=True)[:2]
    Campaign.objects.filter(pk=first).update(requires_consent="express-written")
    Campaign.objects.filter(pk=second).update(requires_consent="express")
    if Lead.objects.exclude(consent="none").exists():
        return None
    started = time.perf_counter()
    cases = " ".join(f"WHEN {i} THEN '{level}'" for i, level in enumerate(CONSENT_SHARES))
    # A multiplicative hash of the id: shares unrelated to the campaign (id % 5).
    share = f"(id * 2654435761 % 4294967296) % {len(CONSENT_SHARES)}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE leads_lead SET consent = CASE {share} {cases} END, "
            "consent_at = created_at - interval '1 day', consent_source = 'https://forms.example.com/check-up' "
            f"WHERE {share} >= {CONSENT_SHARES.count('none')}"
        )
        cursor.execute("VACUUM ANALYZE leads_lead")
    return {"seconds": round(time.perf_counter() - started, 1)}


def consent_pages(campaign_id: int, day: str) -> dict[str, str]:
    """The consent filters, each alone and with a campaign and a status."""
    filters = {
        "consent_express": "consent=express",
        "consent_express_written": "consent=express-written",
        "consent_two_levels": "consent=express&consent=existing-relationship",
        "consent_given_on_a_day": f"consent_from={day}&consent_to={day}",
        "consent_missing_yes": "consent_missing=true",
        "consent_missing_no": "consent_missing=false",
    }
    pages = {}
    for label, query in filters.items():
        pages[label] = f"/admin/leads/lead/?{query}"
        pages[f"{label}_campaign_status"] = f"/admin/leads/lead/?{query}&campaign={campaign_id}&status=created"
    return pages


def consent_count_ms(runs: int) -> dict:
    """leads.selectors.consent_missing_count (the campaign page's) for each campaign
    that requires consent, against counting the campaign's dialable leads in Python
    (the stock way: read each lead's consent and compare)."""
    from django.core.cache import cache

    from campaigns.models import Campaign
    from leads.models import DIALABLE_LEAD_STATUSES, Lead
    from leads.selectors import consent_missing_count

    figures = {}
    for campaign in Campaign.objects.exclude(requires_consent="none").order_by("id"):
        times = []
        for _ in range(runs + 1):
            cache.clear()  # the campaign page reuses it for a minute: time the counting itself
            started = time.perf_counter()
            count = consent_missing_count(campaign)
            times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        accepted = campaign.satisfying_consents()
        leads = Lead.objects.filter(campaign=campaign, status__in=DIALABLE_LEAD_STATUSES)
        stock = sum(1 for consent in leads.values_list("consent", flat=True).iterator() if consent not in accepted)
        figures[campaign.requires_consent] = {
            "leads_in_campaign": Lead.objects.filter(campaign=campaign).count(),
            "missing": count,
            "median_ms": round(statistics.median(times[1:]), 1),
            "stock_python_ms": round((time.perf_counter() - started) * 1000, 1),
            "same": stock == count,
        }
    return figures


# --- end of the consent block -------------------------------------------------------


def median_ms(client, url: str, runs: int) -> tuple[float, int]:
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    shown = response.content.decode().count('class="action-select"')
    return round(statistics.median(times[1:]), 1), shown  # the first run warms caches


def bench_reset(client, runs: int) -> dict:
    """ "Select all" + Reset over the ~100,000 Completed leads of one campaign, posted
    to the filtered list exactly as the admin page posts it."""
    from django.db import connection

    from leads import transitions
    from leads.models import Lead, LeadStatus
    from leads.transitions import Actor

    campaign_id = Lead.objects.values_list("campaign_id", flat=True).first()
    in_campaign = Lead.objects.filter(campaign_id=campaign_id)
    # 100,000 of the million; a smaller run (--leads) takes half a campaign.
    size = min(RESET_SIZE, in_campaign.count() // 2)
    edge = in_campaign.order_by("id").values_list("id", flat=True)[size]
    first, rest = in_campaign.filter(id__lt=edge), in_campaign.filter(id__gte=edge)
    url = f"/admin/leads/lead/?campaign={campaign_id}&status=completed"
    times, moved = [], 0
    for _ in range(runs):
        # Untimed: make the first 100,000 leads of the campaign (less the do-not-call
        # ones, which stay put) its only Completed ones, so each run moves the same set.
        transitions.reset(rest.filter(status=LeadStatus.COMPLETED), actor=Actor.system())
        transitions.complete(first, actor=Actor.system())
        # The preparation just rewrote these rows; autovacuum would clean up after it
        # within minutes, and no operator's Reset follows such a rewrite of the same
        # 100,000 leads. Measure from that steady state, not from the bench's own churn.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE leads_lead")
            cursor.execute("VACUUM ANALYZE leads_contact")
        selected = in_campaign.filter(status=LeadStatus.COMPLETED).count()
        page_ids = list(in_campaign.filter(status=LeadStatus.COMPLETED).values_list("id", flat=True)[:100])
        started = time.perf_counter()
        response = client.post(
            url, {"action": "reset_leads", "select_across": "1", "index": "0", "_selected_action": page_ids}
        )
        times.append(time.perf_counter() - started)
        if response.status_code != 302:
            raise SystemExit(f"reset answered {response.status_code}")
        moved = first.filter(status=LeadStatus.CREATED).count()
        if moved != selected:
            raise SystemExit(f"reset moved {moved} of {selected}")
    return {
        "selected": selected,
        "moved": moved,
        "median_s": round(statistics.median(times), 2),
        "runs_s": [round(t, 2) for t in times],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reset-runs", type=int, default=3)
    parser.add_argument("--reseed", action="store_true", help="Seed again even if the data is there.")
    parser.add_argument(
        "--only", default="", help="Time only the pages whose label contains one of these, comma-separated (no Reset)."
    )
    args = parser.parse_args()

    common.setup_django("leadsite_bench")
    common.ensure_database()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from leads.models import Contact, Lead

    call_command("migrate", verbosity=0)
    seeded = None
    # A database seeded before the leads had results is seeded again.
    if args.reseed or Lead.objects.count() != args.leads or not Lead.objects.exclude(results={}).exists():
        seeded = seed(args.leads)

    consent_seeded = seed_consent()
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    campaign_id = Lead.objects.values_list("campaign_id", flat=True).first()
    sample = Contact.objects.filter(position=1).order_by("id")[5000]
    partial_number = sample.phone[-7:]  # the last 7 digits of a secondary number
    name = Contact.objects.filter(position=0).order_by("id")[7000].variables["customer_name"]
    week_ago = (Lead.objects.order_by("-id").values_list("created_at", flat=True)[300_000]).date().isoformat()
    pages = {
        "first_page": "/admin/leads/lead/",
        "campaign": f"/admin/leads/lead/?campaign={campaign_id}",
        "campaign_and_status": f"/admin/leads/lead/?campaign={campaign_id}&status=rescheduled",
        "search_partial_number": f"/admin/leads/lead/?q={partial_number}",
        "search_variable_value": f"/admin/leads/lead/?q={name.replace(' ', '+')}",
        # o= counts the checkbox column: 4 is the status, 7 the next attempt, 8 created.
        "sorted_by_next_attempt": "/admin/leads/lead/?o=7",
        "sorted_by_status": "/admin/leads/lead/?o=4",
        "sorted_oldest_first": "/admin/leads/lead/?o=8",
        "filtered_by_created_range": f"/admin/leads/lead/?created_from={week_ago}&created_to={week_ago}",
        **result_pages(campaign_id),
        **consent_pages(campaign_id, week_ago),
        # How busy the machine is: a page with no consent filter, in the same run.
        "consent_reference_campaign_and_status": f"/admin/leads/lead/?campaign={campaign_id}&status=rescheduled",
    }
    results: dict = {"database": "postgresql", "leads": Lead.objects.count(), "seeded": seeded, "pages_ms": {}}
    results["consent_seeded"] = consent_seeded
    for label, url in pages.items():
        if args.only and not any(part in label for part in args.only.split(",")):
            continue
        ms, shown = median_ms(client, url, args.runs)
        results["pages_ms"][label] = {"median": ms, "rows_on_page": shown, "url": url}
    results["targets"] = {
        "page_under_ms": 300,
        "pages_ok": all(p["median"] < 300 for p in results["pages_ms"].values()),
    }
    if not args.only or "consent" in args.only:
        results["consent_missing_count_ms"] = consent_count_ms(args.runs)
    if not args.only:
        results["bulk_reset"] = bench_reset(client, args.reset_runs)
        results["targets"].update(bulk_reset_under_s=5, bulk_reset_ok=results["bulk_reset"]["median_s"] < 5)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
