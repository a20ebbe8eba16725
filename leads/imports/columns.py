"""Which column of a file goes where: the primary number, a variable, secondary
number n or one of its variables, the time zone, or nowhere.

A mapping is a list with one target per column of the file, as text so it can be
stored and posted from a form:

    "phone"                  the primary number
    "var:<name>"             a variable of the lead (declared by the assistant or extra)
    "secondary:<n>"          secondary number n (1..10)
    "secondary:<n>:<name>"   a variable of secondary number n
    "timezone"               the lead's time zone
    ""                       nothing (ignored)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leads.models import MAX_SECONDARY_NUMBERS

PHONE_ALIASES = ["phone_number", "phone", "number", "mobile", "telephone"]
# Other systems' names for a second number (a VICIdial export has alt_phone).
SECONDARY_ALIASES = ["alt_phone", "alternate_phone", "secondary_phone", "phone_2", "mobile_2"]
# What an export adds and the error report's own columns: read back, never imported.
IGNORED = {
    "status",
    "attempts",
    "last_outcome",
    "last_attempt_at",
    "next_attempt_at",
    "campaign",
    "created_at",
    "row",
    "errors",
}

_SECONDARY_PHONE = re.compile(r"^secondary_phone_(\d+)$")
_SECONDARY_VARIABLE = re.compile(r"^secondary_(\d+)_([a-z_][a-z0-9_]*)$")
_NOT_NAME = re.compile(r"[^a-z0-9_]+")


class MappingProblem(ValueError):
    """The mapping cannot import anything (no primary number column, a target twice)."""


def normalize_header(header: str) -> str:
    """Ignore case and surrounding space; space and - count as _ ("Customer Name" →
    customer_name)."""
    return re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").lower())


def variable_name(header: str) -> str:
    """The variable an unknown column becomes: its normalised header, with anything
    that cannot be in a variable name turned into _."""
    name = _NOT_NAME.sub("_", normalize_header(header)).strip("_")[:64]
    if not name:
        return ""
    return name if not name[0].isdigit() else f"_{name}"[:64]


def suggest_mapping(header: Sequence[str], assistant_variables: Iterable[str]) -> list[str]:
    """The mapping the spec's header rules give; the wizard shows it for editing."""
    declared = set(assistant_variables)
    targets: list[str] = []
    used: set[str] = set()
    normalized = [normalize_header(h) for h in header]
    # The primary number: the first column whose header is one of the aliases, in
    # the order of the aliases (phone_number wins over mobile).
    phone_index = next((normalized.index(alias) for alias in PHONE_ALIASES if alias in normalized), None)
    next_free_secondary = 1
    explicit_secondaries = {int(m.group(1)) for n in normalized if (m := _SECONDARY_PHONE.match(n))}
    for index, name in enumerate(normalized):
        target = ""
        if index == phone_index:
            target = "phone"
        elif name in IGNORED:
            target = ""
        elif name == "timezone":
            target = "timezone"
        elif (match := _SECONDARY_PHONE.match(name)) and 1 <= int(match.group(1)) <= MAX_SECONDARY_NUMBERS:
            target = f"secondary:{int(match.group(1))}"
        elif (match := _SECONDARY_VARIABLE.match(name)) and 1 <= int(match.group(1)) <= MAX_SECONDARY_NUMBERS:
            target = f"secondary:{int(match.group(1))}:{match.group(2)}"
        elif name in SECONDARY_ALIASES:
            while next_free_secondary in explicit_secondaries or f"secondary:{next_free_secondary}" in used:
                next_free_secondary += 1
            if next_free_secondary <= MAX_SECONDARY_NUMBERS:
                target = f"secondary:{next_free_secondary}"
        elif name in declared:
            target = f"var:{name}"
        elif variable_name(header[index]):
            target = f"var:{variable_name(header[index])}"
        if target in used:
            target = ""  # a second column for the same place is ignored, not merged
        if target:
            used.add(target)
        targets.append(target)
    return targets


@dataclass(frozen=True)
class Mapping:
    """A checked mapping, ready to read rows with."""

    header: list[str]
    targets: list[str]

    @property
    def phone_index(self) -> int:
        return self.targets.index("phone")

    @property
    def has_secondary_columns(self) -> bool:
        return any(t.startswith("secondary:") and t.count(":") == 1 for t in self.targets)

    def column_name(self, index: int) -> str:
        return self.header[index] if index < len(self.header) else f"column {index + 1}"


def check_mapping(header: Sequence[str], targets: Sequence[str]) -> Mapping:
    """Refuse mappings that cannot work, with a message for a person."""
    if len(targets) != len(header):
        raise MappingProblem("The mapping does not match the file's columns; choose the file again.")
    if "phone" not in targets:
        raise MappingProblem(
            "No column holds the primary phone number: name one phone_number (or phone, number, "
            "mobile, telephone), or choose it in the mapping."
        )
    seen: dict[str, int] = {}
    for index, target in enumerate(targets):
        if not target:
            continue
        if not _valid_target(target):
            raise MappingProblem(f"“{target}” is not a place a column can go.")
        if target in seen:
            raise MappingProblem(
                f"Columns “{header[seen[target]]}” and “{header[index]}” both go to {describe(target)}."
            )
        seen[target] = index
    return Mapping(header=list(header), targets=list(targets))


_TARGET = re.compile(r"^(phone|timezone|var:[a-z_][a-z0-9_]{0,63}|secondary:(\d+)(:[a-z_][a-z0-9_]{0,63})?)$")


def _valid_target(target: str) -> bool:
    match = _TARGET.match(target)
    if not match:
        return False
    return match.group(2) is None or 1 <= int(match.group(2)) <= MAX_SECONDARY_NUMBERS


def describe(target: str) -> str:
    """A target in words, for messages and the mapping page."""
    if target == "phone":
        return "the primary number"
    if target == "timezone":
        return "the time zone"
    if target.startswith("var:"):
        return f"variable {target[4:]}"
    if target.startswith("secondary:"):
        parts = target.split(":")
        return f"secondary number {parts[1]}" + (f", variable {parts[2]}" if len(parts) == 3 else "")
    return "nothing"


def parse_target(text: str) -> str:
    """A target as a person names it (as a file header would: phone_number,
    secondary_phone_2, secondary_2_contact_name, timezone, a variable name, or
    ignore) in the mapping's own form."""
    name = normalize_header(text)
    if name in ("", "ignore", "nothing", "-"):
        return ""
    if name in PHONE_ALIASES:
        return "phone"
    if name == "timezone":
        return "timezone"
    if (match := _SECONDARY_PHONE.match(name)) and 1 <= int(match.group(1)) <= MAX_SECONDARY_NUMBERS:
        return f"secondary:{int(match.group(1))}"
    if (match := _SECONDARY_VARIABLE.match(name)) and 1 <= int(match.group(1)) <= MAX_SECONDARY_NUMBERS:
        return f"secondary:{int(match.group(1))}:{match.group(2)}"
    if re.fullmatch(r"[a-z_][a-z0-9_]{0,63}", name):
        return f"var:{name}"
    raise MappingProblem(f"“{text}” is not a place a column can go.")
