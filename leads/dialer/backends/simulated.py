"""The simulated backend: calls nobody, reports outcomes drawn from configured odds."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable, Iterator

from django.core.exceptions import ImproperlyConfigured

from leads.models import Call, CallOutcome
from leads.transitions import Report

from . import DialError, Placed

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


class SimulatedBackend:
    """Calls nobody: each call's outcome, duration and goal are drawn when it is
    placed (from the seed, the lead, the number and the attempt, so a seeded run is
    the same every time) and reported once that duration has passed."""

    name = "simulated"

    @classmethod
    def from_settings(cls, options: dict) -> SimulatedBackend:
        simulated = options.get("SIMULATED", {})
        return cls(
            seed=simulated.get("SEED"),
            odds=simulated.get("ODDS"),
            goal_odds=simulated.get("GOAL_ODDS", 0.5),
            dial_error_odds=simulated.get("DIAL_ERROR_ODDS", 0.0),
            duration_scale=simulated.get("DURATION_SCALE", 1.0),
        )

    def __init__(
        self,
        *,
        seed: int | str | None = None,
        odds: dict[str, float] | None = None,
        goal_odds: float = 0.5,
        dial_error_odds: float = 0.0,
        duration_scale: float = 1.0,
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
        for name, value in (("GOAL_ODDS", goal_odds), ("DIAL_ERROR_ODDS", dial_error_odds)):
            if not 0 <= value <= 1:
                raise ImproperlyConfigured(f"LEADS_DIALER SIMULATED {name}: a chance from 0 to 1, not {value}.")
        if not duration_scale > 0:
            raise ImproperlyConfigured(f"LEADS_DIALER SIMULATED DURATION_SCALE: more than 0, not {duration_scale}.")
        self.goal_odds, self.dial_error_odds, self.duration_scale = goal_odds, dial_error_odds, duration_scale

    def place(self, call: Call, *, now: datetime.datetime) -> Placed:
        draw = random.Random(f"{self.seed}:{call.lead_id}:{call.position}:{call.attempt}")
        if draw.random() < self.dial_error_odds:
            raise DialError("simulated dial error")
        outcome = draw.choices(list(self.odds), weights=list(self.odds.values()))[0]
        low, high = DURATIONS[outcome]
        duration = draw.uniform(low, high)
        goal = outcome == CallOutcome.COMPLETED and draw.random() < self.goal_odds
        # The call is reported after its duration times the scale (a demo runs
        # faster than life); the report states the unscaled duration.
        ends_at = now + datetime.timedelta(seconds=duration * self.duration_scale)
        return Placed(
            provider_call_id=f"sim-{call.pk.hex[:12]}",
            backend_data={
                "outcome": outcome,
                "duration": round(duration),
                "goal": goal,
                "ends_at": ends_at.isoformat(),
            },
        )

    def reports(self, calls: Iterable[Call], *, now: datetime.datetime) -> Iterator[tuple[Call, Report]]:
        for call in calls:
            plan = call.backend_data
            if call.backend != self.name or "ends_at" not in plan:
                continue
            if datetime.datetime.fromisoformat(plan["ends_at"]) > now:
                continue
            goal_name = call.campaign.goal_completion_variable
            answered = plan["outcome"] == CallOutcome.COMPLETED
            yield (
                call,
                Report(
                    outcome=plan["outcome"],
                    duration_seconds=plan["duration"],
                    goal_achieved=plan["goal"] if answered else None,
                    extracted_variables={goal_name: plan["goal"]} if answered and goal_name else {},
                    summary="Simulated call." if answered else "",
                ),
            )
