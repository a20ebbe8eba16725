"""Call outcomes as they are reported: reading a report's payload, and keeping every
report in the call's history while ``leads.transitions.record_outcome`` moves the
lead (once per call, whatever arrives after)."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction

from leads import transitions
from leads.models import MAX_DISPOSITION, REPORTED_OUTCOMES, CallReport
from leads.transitions import Actor, Report

MAX_SUMMARY = 20_000
MAX_EXTRACTED = 100
MAX_DEPTH = 10
# A long call's conversation fits in the 1 MB body: turns and their length are bounded
# on their own so that one field cannot be the whole budget.
MAX_TURNS = 5_000
MAX_TURN_TEXT = 10_000
MAX_CALL_SECONDS = 86_400
# The Standard Webhooks specification sets no length for a webhook-id; providers use
# a few dozen characters (msg_2KWPBgLlAfxdpx2AI54pPJ85f4W). A longer one is refused
# whole rather than cut, since a cut id would make two messages one.
MAX_WEBHOOK_ID_LENGTH = 1000


class BadReport(ValueError):
    """A payload that is not an outcome report; the message says which field and why."""


def report_from_payload(payload: Any) -> Report:
    """The webhook body, by the spec's names, checked field by field."""
    if not isinstance(payload, dict):
        raise BadReport("The body must be a JSON object.")
    if _deeper_than(payload, MAX_DEPTH):
        raise BadReport(f"The body is nested deeper than {MAX_DEPTH} levels.")
    if _has_nul(payload):
        raise BadReport("The body holds a NUL character (\\u0000), which no text field can store.")
    outcome = payload.get("outcome")
    if outcome not in REPORTED_OUTCOMES:
        raise BadReport(f"outcome must be one of {', '.join(REPORTED_OUTCOMES)}; got {outcome!r}."[:300])
    duration = payload.get("duration_seconds")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int) or not 0 <= duration <= MAX_CALL_SECONDS
    ):
        raise BadReport(f"duration_seconds must be a whole number of seconds from 0 to {MAX_CALL_SECONDS}.")
    goal = payload.get("goal_achieved")
    if goal is not None and not isinstance(goal, bool):
        raise BadReport("goal_achieved must be true or false.")
    extracted = payload.get("extracted_variables", {})
    if extracted is None:
        extracted = {}
    if not isinstance(extracted, dict) or len(extracted) > MAX_EXTRACTED:
        raise BadReport(f"extracted_variables must be an object of at most {MAX_EXTRACTED} names.")
    summary = payload.get("summary") or ""
    if not isinstance(summary, str) or len(summary) > MAX_SUMMARY:
        raise BadReport(f"summary must be text of at most {MAX_SUMMARY} characters.")
    recording = payload.get("recording_url") or ""
    if (
        not isinstance(recording, str)
        or len(recording) > 2000
        or (recording and (urlsplit(recording).scheme not in ("http", "https") or not urlsplit(recording).netloc))
    ):
        raise BadReport("recording_url must be an http(s) address of at most 2000 characters.")
    opt_out = payload.get("opt_out")
    if opt_out is not None and not isinstance(opt_out, bool):
        raise BadReport("opt_out must be true or false.")
    disposition = payload.get("disposition") or ""
    if (
        not isinstance(disposition, str)
        or len(disposition) > MAX_DISPOSITION
        or any(ord(char) < 32 or ord(char) == 127 for char in disposition)
    ):
        raise BadReport(f"disposition must be a label of at most {MAX_DISPOSITION} characters, on one line.")
    return Report(
        outcome=outcome,
        duration_seconds=duration,
        goal_achieved=goal,
        extracted_variables=extracted,
        summary=summary,
        recording_url=recording,
        transcript=_transcript(payload.get("transcript")),
        opt_out=bool(opt_out),
        callback_at=_callback_at(payload.get("callback_at")),
        disposition=disposition.strip(),
    )


def _transcript(value: Any) -> list[dict[str, Any]]:
    """The conversation as the spec has it, each turn kept as role, text and at (other
    keys a platform adds are dropped)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TURNS:
        raise BadReport(f"transcript must be a list of at most {MAX_TURNS} turns.")
    turns = []
    for index, turn in enumerate(value):
        if not isinstance(turn, dict):
            raise BadReport(f"transcript[{index}] must be an object with role, text and at.")
        role, text, at = turn.get("role"), turn.get("text"), turn.get("at")
        if role not in ("agent", "callee"):
            raise BadReport(f'transcript[{index}].role must be "agent" or "callee".')
        if not isinstance(text, str) or len(text) > MAX_TURN_TEXT:
            raise BadReport(f"transcript[{index}].text must be text of at most {MAX_TURN_TEXT} characters.")
        if at is not None and (
            isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at <= MAX_CALL_SECONDS
        ):
            raise BadReport(f"transcript[{index}].at must be seconds from the call's start, 0 to {MAX_CALL_SECONDS}.")
        turns.append({"role": role, "text": text, "at": at})
    return turns


def _callback_at(value: Any) -> datetime.datetime | None:
    """An ISO 8601 date and time, with or without an offset (without: the number's
    local time, applied by the transition that knows the number)."""
    if value is None or value == "":
        return None
    problem = (
        'callback_at must be an ISO 8601 date and time, e.g. "2026-12-04T15:00:00" or "2026-12-04T15:00:00-05:00".'
    )
    # A date alone is no appointment; fromisoformat would read it as midnight.
    if not isinstance(value, str) or len(value) > 64 or len(value) < 16 or value[10] not in "T ":
        raise BadReport(problem)
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise BadReport(problem) from None
    # Years at the calendar's ends overflow when moved between zones.
    if not 1970 <= moment.year <= 9998:
        raise BadReport("callback_at must be a year from 1970 to 9998.")
    return moment


def report_payload(report: Report) -> dict[str, Any]:
    """A report by the spec's names, as JSON, for the history of a report the dialer
    made itself (the simulated backend's, a timeout's)."""
    payload = asdict(report)
    if report.callback_at is not None:
        payload["callback_at"] = report.callback_at.isoformat()
    return payload


def _deeper_than(value: Any, levels: int) -> bool:
    if isinstance(value, dict | list):
        if levels == 0:
            return True
        items = value.values() if isinstance(value, dict) else value
        return any(_deeper_than(item, levels - 1) for item in items)
    return False


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def webhook_digest(webhook_id: str) -> str:
    """The key a message is de-duplicated by: the SHA-256 (hex) of its whole id."""
    # surrogatepass: a str that is not valid Unicode still has one digest, never an error.
    return hashlib.sha256(webhook_id.encode("utf-8", "surrogatepass")).hexdigest()


def outcome_receive(
    call_id: uuid.UUID,
    report: Report,
    *,
    payload: dict[str, Any],
    webhook_id: str | None,
    now: datetime.datetime,
    actor: Actor,
) -> str:
    """Apply a report to its call and keep it in the history.

    Returns "applied"; "kept" when the call was already closed (kept, moves
    nothing); "repeat" when this webhook message was received before (nothing kept
    twice). Raises BadReport for a webhook id longer than MAX_WEBHOOK_ID_LENGTH.
    """
    if webhook_id and len(webhook_id) > MAX_WEBHOOK_ID_LENGTH:
        raise BadReport(f"The webhook-id is longer than {MAX_WEBHOOK_ID_LENGTH} characters.")
    if webhook_id and any(ord(char) < 32 or ord(char) == 127 for char in webhook_id):
        # No HTTP header holds one, and PostgreSQL cannot store a NUL.
        raise BadReport("The webhook-id holds a control character.")
    digest = webhook_digest(webhook_id) if webhook_id else None
    # A message received before is found by its digest's unique index when its report
    # is kept, at the end: no look-up first on every report for the rare repeat. A
    # repeat finds its call closed already (its first delivery closed it), so it
    # moves nothing before the index refuses it and the transaction is rolled back.
    try:
        with transaction.atomic():
            applied = transitions.record_outcome(call_id, report, now=now, actor=actor)
            CallReport.objects.create(
                call_id=call_id,
                webhook_id=webhook_id or None,
                webhook_digest=digest,
                received_at=now,
                payload=payload,
                applied=applied,
                note="" if applied else "the call was already closed: kept, nothing moved",
            )
    except IntegrityError:
        # The same message delivered twice at once: the other delivery holds it.
        return "repeat"
    return "applied" if applied else "kept"
