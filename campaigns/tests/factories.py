"""Test data for campaigns: plain functions, real rows."""

import itertools

from campaigns.models import Assistant, Campaign, Variable

_counter = itertools.count(1)


def make_assistant(*, variables: list[dict] | None = None, **fields) -> Assistant:
    fields.setdefault("name", f"Assistant {next(_counter)}")
    assistant = Assistant.objects.create(**fields)
    for position, spec in enumerate(variables or []):
        Variable.objects.create(assistant=assistant, position=position, **spec)
    return assistant


def make_campaign(*, assistant: Assistant | None = None, **fields) -> Campaign:
    fields.setdefault("name", f"Campaign {next(_counter)}")
    return Campaign.objects.create(assistant=assistant or make_assistant(), **fields)
