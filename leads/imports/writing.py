"""Writing validated lead rows in bulk: what an import (from a file, or a Dataset
through ``LeadImportResource``) does once its rows are checked.

On PostgreSQL new leads and their numbers go in with COPY, with ids reserved from
the table's own sequence; elsewhere with bulk_create. Nothing here resets a
sequence: ids always come from it, so concurrent inserts never collide.
"""

from __future__ import annotations

import datetime
import json
from itertools import islice

from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign, Consent
from leads import transitions
from leads.consent import CONSENT_FIELDS
from leads.models import Contact, DoNotCallNumber, ImportRecord, Lead, LeadStatus
from leads.selectors import phone_in
from leads.transitions import Actor

from .validation import ParsedRow


def write_rows(
    campaign: Campaign,
    rows: list[ParsedRow],
    *,
    update: bool,
    replace_secondaries: bool,
    actor: Actor,
    import_record: ImportRecord | None = None,
) -> None:
    """Write validated rows: new leads with their numbers and variables, and (with
    ``update``) the leads the campaign already has. A fixed number of queries per
    call, whatever the number of rows; the caller holds the transaction."""
    # Checked again: leads may have arrived since validation (another import).
    in_campaign = {
        phone: (lead_id, status)
        for phone, lead_id, status in Contact.objects.filter(
            phone_in("phone", [r.phone for r in rows]), campaign=campaign, position=0
        ).values_list("phone", "lead_id", "lead__status")
    }
    new_rows = [r for r in rows if r.phone not in in_campaign]
    new_ids = _insert_leads(campaign, import_record, new_rows)
    _insert_contacts(
        campaign,
        (
            (lead_id, position, phone, values)
            for lead_id, r in zip(new_ids, new_rows)
            for position, (phone, values) in enumerate([(r.phone, r.variables), *r.secondaries])
        ),
    )
    if new_ids:
        # Numbers on the do-not-call list start blocked (one listed since validation,
        # or a secondary): one join with the list over the batch's id range, which the
        # (lead, position) index serves. Another lead's number in that range that is on
        # the list (a batch written side by side takes ids in between) is blocked too,
        # which is only right; rows not committed yet are not seen, nor waited for.
        transitions.block_listed_numbers(
            Contact.objects.filter(lead_id__gte=min(new_ids), lead_id__lte=max(new_ids)), actor=actor
        )
    if update:
        existing = {
            phone: lead_id for phone, (lead_id, status) in in_campaign.items() if status != LeadStatus.PROCESSING
        }
        _update_existing(campaign, [r for r in rows if r.phone in existing], existing, replace_secondaries)


def _consent_values(row: ParsedRow) -> dict:
    """The lead's consent fields as the row gives them (the defaults for the others)."""
    given = row.consent
    at = given.get("consent_at")
    return {
        "consent": given.get("consent", Consent.NONE.value),
        "consent_at": datetime.datetime.fromisoformat(at) if at else None,
        "consent_source": given.get("consent_source", ""),
        "consent_certificate": given.get("consent_certificate", ""),
    }


def _insert_leads(campaign: Campaign, import_record: ImportRecord | None, rows: list[ParsedRow]) -> list[int]:
    """Insert one new lead per row (its time zone and consent); return their ids, in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        leads = Lead.objects.bulk_create(
            [
                Lead(campaign=campaign, timezone=r.timezone, import_record=import_record, **_consent_values(r))
                for r in rows
            ],
            batch_size=2000,
        )
        return [lead.pk for lead in leads]
    # Ids reserved from the sequence, then COPY: a multi-row INSERT of thousands of
    # leads spends more time parsing its parameters than writing.
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        now = timezone.now().isoformat()
        status = transitions.new_lead_status()
        record_id = import_record.pk if import_record else "\\N"
        text = "".join(
            f"{lead_id}\t{campaign.pk}\t{status}\t{_copy_text(r.timezone)}\t0\t\t{record_id}\t{now}\t{now}\t"
            f"{_copy_consent(r)}\n"
            for lead_id, r in zip(ids, rows)
        )
        with cursor.cursor.copy(
            f"COPY {table} (id, campaign_id, status, timezone, attempts, last_outcome, import_record_id, created_at, "
            f"updated_at, {', '.join(CONSENT_FIELDS)}) FROM STDIN"
        ) as copy:
            copy.write(text)
    return ids


def _copy_consent(row: ParsedRow) -> str:
    """The row's consent fields, in CONSENT_FIELDS' order, in COPY's text format."""
    values = _consent_values(row)
    at = values["consent_at"]
    return "\t".join(
        [
            values["consent"],
            at.isoformat() if at else "\\N",
            _copy_text(values["consent_source"]),
            _copy_text(values["consent_certificate"]),
        ]
    )


def _copy_text(value: str) -> str:
    """A value in PostgreSQL's COPY text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _insert_contacts(campaign: Campaign, contacts) -> None:
    """Insert (lead_id, position, phone, variables) rows as new numbers."""
    created = transitions.new_number_status(on_do_not_call_list=False)
    if connection.vendor == "postgresql":
        # COPY, several times faster than INSERT for hundreds of thousands of numbers,
        # sent in chunks formatted as text: PostgreSQL updates its indexes for one
        # chunk while the next is formatted here.
        lines = (
            f"{lead_id}\t{campaign.pk}\t{position}\t{_copy_text(phone)}\t{created}\t0\t\t{_copy_text(json.dumps(values))}\n"
            for lead_id, position, phone, values in contacts
        )
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {Contact._meta.db_table} (lead_id, campaign_id, position, phone, status, attempts, last_outcome, variables) "
                "FROM STDIN"
            ) as copy,
        ):
            while chunk := "".join(islice(lines, 1000)):
                copy.write(chunk)
    else:
        Contact.objects.bulk_create(
            [
                Contact(
                    lead_id=lead_id, campaign=campaign, position=position, phone=phone, status=created, variables=values
                )
                for lead_id, position, phone, values in contacts
            ],
            batch_size=2000,
        )


def _update_existing(campaign, rows: list[ParsedRow], existing: dict[str, int], replace_secondaries: bool) -> None:
    """Non-empty cells overwrite, empty cells keep the old value; secondary numbers are
    replaced only when the file has secondary columns; the status is untouched."""
    if not rows:
        return
    lead_ids = [existing[r.phone] for r in rows]
    primaries = {c.lead_id: c for c in Contact.objects.filter(lead_id__in=lead_ids, position=0)}
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=lead_ids)}
    for r in rows:
        contact = primaries[existing[r.phone]]
        contact.variables = {**contact.variables, **r.variables}
        lead = leads[contact.lead_id]
        if r.timezone:
            lead.timezone = r.timezone
        # As any other field: a consent cell the row fills overwrites, an empty one keeps.
        for name, value in _consent_values(r).items():
            if name in r.consent:
                setattr(lead, name, value)
    Contact.objects.bulk_update(primaries.values(), ["variables"], batch_size=1000)
    Lead.objects.bulk_update(leads.values(), ["timezone", *CONSENT_FIELDS], batch_size=1000)
    if replace_secondaries:
        # Kept numbers keep their state and attempts; others start fresh.
        old = {(c.lead_id, c.phone): c for c in Contact.objects.filter(lead_id__in=lead_ids, position__gt=0)}
        listed = set(
            DoNotCallNumber.objects.filter(phone_in("phone", [p for r in rows for p, _ in r.secondaries])).values_list(
                "phone", flat=True
            )
        )
        Contact.objects.filter(lead_id__in=lead_ids, position__gt=0).delete()
        fresh = []
        for r in rows:
            lead_id = existing[r.phone]
            for position, (phone, values) in enumerate(r.secondaries, start=1):
                before = old.get((lead_id, phone))
                fresh.append(
                    Contact(
                        lead_id=lead_id,
                        campaign=campaign,
                        position=position,
                        phone=phone,
                        variables=values,
                        status=before.status
                        if before
                        else transitions.new_number_status(on_do_not_call_list=phone in listed),
                        attempts=before.attempts if before else 0,
                        last_outcome=before.last_outcome if before else "",
                    )
                )
        Contact.objects.bulk_create(fresh, batch_size=2000)
        transitions.recount_attempts(Lead.objects.filter(pk__in=lead_ids))
