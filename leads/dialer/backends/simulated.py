"""The simulated backend: calls nobody, and reports what a voice-AI platform would,
drawn from configured odds: the outcome and, for a call with a conversation, a
transcript, a summary, a disposition, the extracted results, a recording, and now and
then an opt-out or a requested callback."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static

from leads.dialer import hours, outcomes
from leads.models import Call, CallOutcome, Lead
from leads.transitions import Report

from . import DialError, Placed
from .conversations import Plan, conversation, voicemail

# Odds of each outcome, and how long each kind of call lasts (seconds, low..high).
DEFAULT_ODDS = {"completed": 35, "voicemail": 15, "no-answer": 30, "busy": 10, "failed": 5, "invalid-number": 5}
DURATIONS = {
    "completed": (40, 240),
    "voicemail": (20, 45),
    "no-answer": (25, 40),
    "busy": (3, 8),
    "failed": (1, 5),
    "invalid-number": (1, 4),
}
# How a conversation that achieved nothing else ends.
PLAIN_ENDINGS = ("interested", "not-interested", "wrong-person")
# The one recording every simulated conversation links to (a few seconds of speech,
# generated once with espeak-ng and sox; it is a static file, not a dependency).
RECORDING = "leadsite/demo-call.mp3"


def _chance(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ImproperlyConfigured(f"LEADS_DIALER SIMULATED {name}: a chance from 0 to 1, not {value!r}.")
    return float(value)


def recording_url(callback_base_url: str) -> str:
    """The demo recording's address as a browser reaches it (this site's own static
    file): empty without a base address."""
    if not callback_base_url:
        return ""
    try:
        parts = urlsplit(callback_base_url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable:
        raise ImproperlyConfigured(
            f"LEADS_CALLBACK_BASE_URL: this site's http(s) address, which the simulated backend's recordings "
            f"are served from, not {callback_base_url!r}."
        )
    return callback_base_url.rstrip("/") + static(RECORDING)


class SimulatedBackend:
    """Calls nobody: each call's outcome, duration, goal, disposition, opt-out and
    callback are drawn when it is placed (from the seed, the lead, the number and the
    attempt, so a seeded run is the same every time) and reported once that duration
    has passed, with the transcript and summary they make."""

    name = "simulated"

    @classmethod
    def from_settings(cls, options: dict) -> SimulatedBackend:
        simulated = options.get("SIMULATED", {})
        return cls(
            seed=simulated.get("SEED"),
            odds=simulated.get("ODDS"),
            goal_odds=simulated.get("GOAL_ODDS", 0.5),
            opt_out_odds=simulated.get("OPT_OUT_ODDS", 0.05),
            callback_odds=simulated.get("CALLBACK_ODDS", 0.15),
            dial_error_odds=simulated.get("DIAL_ERROR_ODDS", 0.0),
            duration_scale=simulated.get("DURATION_SCALE", 1.0),
            recording_url=recording_url(options.get("CALLBACK_BASE_URL", "")),
        )

    def __init__(
        self,
        *,
        seed: int | str | None = None,
        odds: dict[str, float] | None = None,
        goal_odds: float = 0.5,
        opt_out_odds: float = 0.05,
        callback_odds: float = 0.15,
        dial_error_odds: float = 0.0,
        duration_scale: float = 1.0,
        recording_url: str = "",
    ):
        self.seed = seed if seed is not None else random.randrange(2**32)
        self.odds = {**DEFAULT_ODDS, **(odds or {})}
        unknown = set(self.odds) - set(DEFAULT_ODDS)
        if unknown:
            raise ImproperlyConfigured(f"LEADS_DIALER SIMULATED ODDS: unknown outcomes {sorted(unknown)}")
        weights = list(self.odds.values())
        if not all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0 for w in weights) or not sum(
            weights
        ):
            raise ImproperlyConfigured("LEADS_DIALER SIMULATED ODDS: weights are numbers of 0 or more, not all 0.")
        self.goal_odds = _chance("GOAL_ODDS", goal_odds)
        # Of the conversations that did not achieve the goal: the share that opt out,
        # then, of the rest, the share that ask to be called back.
        self.opt_out_odds = _chance("OPT_OUT_ODDS", opt_out_odds)
        self.callback_odds = _chance("CALLBACK_ODDS", callback_odds)
        self.dial_error_odds = _chance("DIAL_ERROR_ODDS", dial_error_odds)
        if isinstance(duration_scale, bool) or not isinstance(duration_scale, int | float) or not duration_scale > 0:
            raise ImproperlyConfigured(f"LEADS_DIALER SIMULATED DURATION_SCALE: more than 0, not {duration_scale!r}.")
        self.duration_scale = duration_scale
        self.recording_url = recording_url

    def place(self, call: Call, *, now: datetime.datetime) -> Placed:
        draw = random.Random(f"{self.seed}:{call.lead_id}:{call.position}:{call.attempt}")
        if draw.random() < self.dial_error_odds:
            raise DialError("simulated dial error")
        outcome = draw.choices(list(self.odds), weights=list(self.odds.values()))[0]
        low, high = DURATIONS[outcome]
        duration = draw.uniform(low, high)
        answered = outcome == CallOutcome.COMPLETED
        goal = answered and draw.random() < self.goal_odds
        opt_out = answered and not goal and draw.random() < self.opt_out_odds
        callback = answered and not goal and not opt_out and draw.random() < self.callback_odds
        if not answered:
            disposition = ""
        elif goal:
            disposition = "booked"
        elif opt_out:
            disposition = "do-not-call"
        elif callback:
            disposition = "call-back-later"
        else:
            disposition = draw.choice(PLAIN_ENDINGS)
        # The call is reported after its duration times the scale (a demo runs
        # faster than life); the report states the unscaled duration.
        ends_at = now + datetime.timedelta(seconds=duration * self.duration_scale)
        return Placed(
            provider_call_id=f"sim-{call.pk.hex[:12]}",
            backend_data={
                "outcome": outcome,
                "duration": round(duration),
                "goal": goal,
                "disposition": disposition,
                "ends_at": ends_at.isoformat(),
                # The words of the conversation are drawn from this when it is
                # reported, by whichever dialer reports it.
                "talk": draw.randrange(2**32),
            },
        )

    def payload(self, call: Call) -> dict[str, Any]:
        """The outcome webhook body a platform would post for ``call`` (placed by this
        backend), by the spec's names."""
        plan = call.backend_data
        body: dict[str, Any] = {"outcome": plan["outcome"], "duration_seconds": plan["duration"]}
        if plan["outcome"] == CallOutcome.VOICEMAIL:
            said = voicemail(call.variables, random.Random(plan.get("talk", 0)), duration=plan["duration"])
            body.update(transcript=said.transcript, summary=said.summary)
        elif plan["outcome"] == CallOutcome.COMPLETED:
            goal_name = call.campaign.goal_completion_variable
            said = conversation(
                Plan(
                    disposition=plan.get("disposition") or ("booked" if plan["goal"] else "interested"),
                    duration=plan["duration"],
                    placed_at=call.placed_at,
                    # Read only for a callback: "tomorrow" where the number is.
                    zone=lambda: hours.number_zone(
                        Lead.objects.select_related("campaign__assistant").get(pk=call.lead_id)
                    ),
                ),
                call.variables,
                random.Random(plan.get("talk", 0)),
            )
            body.update(
                goal_achieved=plan["goal"],
                extracted_variables={**said.results, **({goal_name: plan["goal"]} if goal_name else {})},
                summary=said.summary,
                transcript=said.transcript,
                disposition=said.disposition,
                opt_out=said.opt_out,
            )
            if said.callback_at is not None:
                body["callback_at"] = said.callback_at.isoformat(timespec="minutes")
        else:
            return body
        if self.recording_url:
            body["recording_url"] = self.recording_url
        return body

    def reports(self, calls: Iterable[Call], *, now: datetime.datetime) -> Iterator[tuple[Call, Report]]:
        for call in calls:
            plan = call.backend_data
            if call.backend != self.name or "ends_at" not in plan:
                continue
            if datetime.datetime.fromisoformat(plan["ends_at"]) > now:
                continue
            # Read as the webhook reads a platform's body: what the demo shows is
            # what a real report could have said.
            yield call, outcomes.report_from_payload(self.payload(call))
