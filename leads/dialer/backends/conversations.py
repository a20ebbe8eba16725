"""What the simulated backend's calls say: a short, plausible dialogue for each way a
conversation ends, addressed with the call's own variables (``customer_name``,
``contact_name``, ``company``, ``appointment_type``), with its summary and results.
Plain functions of a plan and a random generator: the same plan and seed give the
same words."""

from __future__ import annotations

import datetime
import random
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Exchanges that make a longer conversation longer, in no particular order.
SMALL_TALK = [
    ("Is this still the best number to reach you on?", "Yes, this number is fine."),
    ("Do you have any questions about the {appointment}?", "No, I think I know what to expect."),
    ("Would you prefer mornings or afternoons?", "Mornings are usually easier for me."),
    ("Is there anything we should know before your visit?", "Not that I can think of."),
    ("We can also send you a text reminder. Would that help?", "Yes, a text would be great."),
    ("Will you be coming by car? There is parking behind the building.", "Good to know, thanks."),
    ("Has anything changed with your insurance since your last visit?", "No, it's the same as before."),
    ("Please bring a photo ID with you.", "Sure, no problem."),
    ("Would you like a call if an earlier slot opens up?", "Yes, please do."),
    ("Is the address we have on file still correct?", "Yes, it hasn't changed."),
]
SLOT_HOURS = (9, 10, 11, 14, 15, 16)
CALLBACK_HOURS = (10, 11, 14, 15, 16, 17)
SENTIMENT = {
    "booked": "positive",
    "interested": "positive",
    "not-interested": "neutral",
    "wrong-person": "neutral",
    "call-back-later": "neutral",
    "do-not-call": "negative",
}
# Speech runs at about 15 characters a second, with a pause between turns.
CHARACTERS_PER_SECOND = 15


@dataclass(frozen=True)
class Plan:
    """What the dice decided about a conversation when the call was placed."""

    disposition: str
    duration: int
    placed_at: datetime.datetime
    # The callee's zone, read only when a callback needs "tomorrow" in it.
    zone: Callable[[], str] = lambda: "UTC"


@dataclass
class Said:
    transcript: list[dict[str, Any]]
    summary: str
    disposition: str = ""
    results: dict[str, Any] = field(default_factory=dict)
    opt_out: bool = False
    # Naive: the callee's own wall-clock time, as a platform reports it.
    callback_at: datetime.datetime | None = None


def _hour(hour: int) -> str:
    return f"{hour % 12 or 12} {'am' if hour < 12 else 'pm'}"


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _day(date: datetime.date, today: datetime.date) -> str:
    return "tomorrow" if date == today + datetime.timedelta(days=1) else f"on {date:%A}"


def _timed(turns: list[tuple[str, str]], duration: int, rng: random.Random) -> list[dict[str, Any]]:
    """Each turn with the second it starts at, paced like speech and fitted into the
    call's duration."""
    at, starts = rng.uniform(0.5, 2.0), []
    for _, text in turns:
        starts.append(at)
        at += len(text) / CHARACTERS_PER_SECOND + rng.uniform(0.4, 1.5)
    scale = min(1.0, duration * 0.97 / at) if at else 1.0
    return [{"role": role, "text": text, "at": round(start * scale, 1)} for (role, text), start in zip(turns, starts)]


def _addressed(variables: Mapping[str, Any]) -> tuple[str, str, str]:
    """Who answers (the number's own contact, else the lead's person), the business and
    the appointment, as the call's variables name them."""
    name = str(variables.get("contact_name") or variables.get("customer_name") or "").strip()
    company = str(variables.get("company") or "").strip() or "the clinic"
    appointment = str(variables.get("appointment_type") or "").strip() or "appointment"
    return name, company, appointment


def conversation(plan: Plan, variables: Mapping[str, Any], rng: random.Random) -> Said:
    """The dialogue of a call that was answered and ended as ``plan.disposition``."""
    name, company, appointment = _addressed(variables)
    first = name.split()[0] if name else "there"
    ending = plan.disposition
    turns = [
        (
            "agent",
            f"Hello, this is the scheduling assistant calling from {company}. Am I speaking with {name or 'the right person'}?",
        )
    ]
    results: dict[str, Any] = {"sentiment": SENTIMENT.get(ending, "neutral")}
    said = Said(transcript=[], summary="", disposition=ending)

    if ending == "wrong-person":
        turns += [
            ("callee", f"No, there's no {first} here. I think you have the wrong number."),
            ("agent", "I'm sorry to have bothered you. I'll make a note of it. Goodbye."),
        ]
        results["right_person"] = False
        said.summary = f"Wrong person: {name or 'the person asked for'} cannot be reached at this number."
    else:
        turns += [
            ("callee", rng.choice(["Yes, speaking.", "Yes, that's me.", f"Yes, this is {first}. Who is calling?"])),
            ("agent", f"I'm calling because you are due for your {appointment}. Would you like to book a time?"),
        ]
    if ending in ("booked", "interested"):
        today = plan.placed_at.date()
        slot_day = today + datetime.timedelta(days=rng.randint(2, 9))
        slot = f"{slot_day:%A} at {_hour(rng.choice(SLOT_HOURS))}"
        talk = rng.sample(SMALL_TALK, min(len(SMALL_TALK), max(0, (plan.duration - 40) // 20)))
        middle = [line for pair in talk for line in zip(("agent", "callee"), pair)]
        middle = [(role, text.format(appointment=appointment)) for role, text in middle]
        if ending == "booked":
            turns += [
                ("callee", "Yes, I've been meaning to. What do you have?"),
                ("agent", f"I can offer {slot}, or later in the week if that suits you better."),
                ("callee", f"{slot} works for me."),
                *middle,
                ("agent", f"You're booked for your {appointment} on {slot}. You'll get a reminder the day before."),
                ("callee", "Thank you, goodbye."),
            ]
            results["appointment_slot"] = slot
            said.summary = f"{name or 'The callee'} booked {_a(appointment)} for {slot}."
        else:
            turns += [
                ("callee", "Maybe. I'd have to check my schedule first."),
                *middle,
                ("agent", f"No problem. Call {company} when you know, and we'll find a time."),
                ("callee", "Will do, thanks."),
            ]
            said.summary = f"{name or 'The callee'} is interested in {_a(appointment)} but did not book yet."
    elif ending == "not-interested":
        turns += [
            ("callee", "No thanks, I'm not interested right now."),
            ("agent", f"Understood. Thank you for your time, {first}. Goodbye."),
        ]
        said.summary = f"{name or 'The callee'} is not interested in {_a(appointment)}."
    elif ending == "call-back-later":
        local_today = plan.placed_at.astimezone(zoneinfo.ZoneInfo(plan.zone())).date()
        day = local_today + datetime.timedelta(days=rng.choice([1, 1, 1, 2, 3]))
        hour = rng.choice(CALLBACK_HOURS)
        when = f"{_day(day, local_today)} at {_hour(hour)}"
        turns += [
            ("callee", f"I can't talk right now. Could you call me back {when}?"),
            ("agent", f"Of course. I'll call you back {when}. Goodbye."),
        ]
        said.callback_at = datetime.datetime.combine(day, datetime.time(hour))
        said.summary = f"{name or 'The callee'} asked to be called back {when}."
    elif ending == "do-not-call":
        turns += [
            ("callee", "Please don't call me again. Take my number off your list."),
            ("agent", "I'm sorry for the trouble. I've noted that you don't want to be called again. Goodbye."),
        ]
        said.opt_out = True
        said.summary = f"{name or 'The callee'} asked not to be called again."
    said.transcript = _timed(turns, plan.duration, rng)
    said.results = results
    return said


def voicemail(variables: Mapping[str, Any], rng: random.Random, *, duration: int) -> Said:
    """The message the assistant leaves on a voicemail."""
    name, company, appointment = _addressed(variables)
    greeting = f"Hello {name.split()[0]}, this" if name else "Hello, this"
    text = (
        f"{greeting} is the scheduling assistant from {company}, calling about your {appointment}. "
        "We'll try you again soon. Have a nice day."
    )
    return Said(transcript=_timed([("agent", text)], duration, rng), summary="Left a voicemail.")
