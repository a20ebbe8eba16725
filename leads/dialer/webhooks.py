"""The outcome webhook: ``POST /hooks/calls/<call id>/`` from the voice-AI platform.

Verified as the Standard Webhooks specification says (signature over id, timestamp
and body; a timestamp within 5 minutes), idempotent by ``webhook-id`` and by call.
Every answer is JSON with a reason: 400 for a body that is not a valid report (or is
oversized, or its webhook-id is too long to keep whole), 401 for a bad or missing
signature, 404 for an unknown call, 405 for anything but POST, 503 while this site's
webhook secret is unusable or the database could not write the outcome (the platform
retries). Never a 500 for what a remote system sends.
"""

from __future__ import annotations

import binascii
import json
import logging
import uuid

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from standardwebhooks.webhooks import WebhookVerificationError

from leads.dialer.signing import signer
from leads.models import Call, StatusChange
from leads.transitions import Actor

from . import outcomes

WEBHOOK = Actor(source=StatusChange.Source.WEBHOOK)
logger = logging.getLogger(__name__)


def _refuse_constant(name: str):
    # Python reads NaN and Infinity; JSON has no such values, and a database would
    # refuse to store them.
    raise ValueError(f"{name} is not JSON")


def _answer(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"status": status, "message": message, **extra}, status=status)


def _unknown_call(call_id: uuid.UUID) -> JsonResponse | None:
    """The 404 for a call that does not exist, which comes before what is wrong with
    the body. Asked only of a body that is refused: a report applied finds its call
    by locking it, and a missing one is a 404 there."""
    if Call.objects.filter(pk=call_id).exists():
        return None
    return _answer(404, "No call has this id.")


@csrf_exempt
@require_POST
def call_outcome(request: HttpRequest, call_id: uuid.UUID) -> JsonResponse:
    length = request.headers.get("Content-Length", "")
    limit = settings.LEADS_WEBHOOK_MAX_BYTES
    if length and (not length.isdigit() or int(length) > limit):
        return _answer(400, f"The body is larger than {limit} bytes.")
    body = request.body  # Django reads no more than Content-Length
    if len(body) > limit:
        return _answer(400, f"The body is larger than {limit} bytes.")
    try:
        verifier = signer()
    except ImproperlyConfigured:
        # LEADS_WEBHOOK_SECRET is unusable (`manage.py check` says why): the platform
        # is told to retry later, when the site is fixed, rather than lose the outcome.
        logger.error("outcome webhook refused: LEADS_WEBHOOK_SECRET is unusable; run manage.py check")
        return _answer(503, "This site cannot verify webhooks now (its webhook secret is misconfigured).")
    try:
        text = body.decode("utf-8")
        verifier.verify(text, dict(request.headers), json_parse=False)
    except (WebhookVerificationError, UnicodeDecodeError, ValueError, binascii.Error):
        # ValueError and binascii.Error: a signature header that is not "v1,<base64>".
        return _answer(401, "The webhook signature is missing, wrong or too old (Standard Webhooks, 5 minutes).")
    try:
        payload = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python reads
        return _unknown_call(call_id) or _answer(400, "The body is not valid JSON.")
    try:
        report = outcomes.report_from_payload(payload)
        result = outcomes.outcome_receive(
            call_id,
            report,
            payload=payload,
            webhook_id=request.headers["webhook-id"],
            now=timezone.now(),
            actor=WEBHOOK,
        )
    except Call.DoesNotExist:  # found by locking it
        return _answer(404, "No call has this id.")
    except outcomes.BadReport as problem:
        return _unknown_call(call_id) or _answer(400, str(problem))
    except OperationalError:
        # A deadlock or a lost connection (an opt-out marks numbers in other leads,
        # which an operator's bulk action may hold): nothing was written, and the
        # platform retries on a 5xx.
        logger.exception("outcome webhook for call %s could not be written; the platform will retry", call_id)
        return _answer(503, "The outcome could not be written now; send it again.")
    messages = {
        "applied": "Outcome recorded.",
        "kept": "The call was already closed: the outcome is kept in its history and moves nothing.",
        "repeat": "This message was received before; nothing changed.",
    }
    return _answer(200, messages[result], result=result)
