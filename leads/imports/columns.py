"""Which column of a file goes where, as the import decides it: the layout's columns
(``leads.layout``) found among free-form headers, with their aliases and other
systems' names, and a mapping checked before any row is read.

A mapping is a list with one ``Target.key`` per column of the file ("" for a column
that goes nowhere), as text so it can be stored and posted from a form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from leads.layout import CONSENT, LEAD_COLUMNS, PHONE, PRIMARY, RESULT_PREFIX, TIMEZONE, Target, key_of, parse_header
from leads.models import MAX_SECONDARY_NUMBERS

# Headers (normalised: any case, space and - as _) that name the primary number, the
# first found in this order winning; other systems and people also write "Tel",
# "Cell" and "Mobile phone".
PHONE_ALIASES = ["phone_number", "phone", "number", "mobile", "telephone", "mobile_phone", "cell", "tel"]
# Other systems' names for a second number (a VICIdial export has alt_phone).
SECONDARY_ALIASES = ["alt_phone", "alternate_phone", "secondary_phone", "phone_2", "mobile_2"]
# What an export adds (the lead's state, what its calls found out, and its results,
# ``result_<name>``) and the error report's own columns: read back, never imported.
IGNORED = {*LEAD_COLUMNS, "row", "errors"}


def ignored(name: str) -> bool:
    """Whether the column with the normalised header ``name`` is one the import never
    reads, so an exported file imports back unchanged."""
    return name in IGNORED or name.startswith(RESULT_PREFIX)


_NOT_NAME = re.compile(r"[^a-z0-9_]+")


class MappingProblem(ValueError):
    """The mapping cannot import anything (no primary number column, a target twice)."""


def phone_alias_list() -> str:
    """The other names of the primary number's column, as a person reads them
    ("phone, number, …, mobile phone, …")."""
    return ", ".join(alias.replace("_", " ") for alias in PHONE_ALIASES[1:])


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


def _numbered(name: str) -> Target | None:
    """The layout's columns a header names other than the primary number (which its
    aliases find) and the variables (declared, or named by ``variable_name``): the
    time zone, the consent columns, a secondary number, a secondary number's variable.
    Only their own names (under the header rules: "Consent At" is consent_at): other
    spellings ("consent date") become variables, as the spec's column rules say, and
    the mapping step can send them anywhere."""
    target = parse_header(name, state=False)
    return target if target is not None and (target.kind in (TIMEZONE, CONSENT) or target.position) else None


def suggest_mapping(header: Sequence[str], assistant_variables: Iterable[str]) -> list[str]:
    """The mapping the spec's header rules give; the wizard shows it for editing."""
    declared = set(assistant_variables)
    targets: list[Target | None] = []
    used: set[Target] = set()
    normalized = [normalize_header(h) for h in header]
    # The primary number: the first column whose header is one of the aliases, in
    # the order of the aliases (phone_number wins over mobile).
    phone_index = next((normalized.index(alias) for alias in PHONE_ALIASES if alias in normalized), None)
    next_free_secondary = 1
    explicit_secondaries = {t.position for n in normalized if (t := _numbered(n)) is not None and t.kind == PHONE}
    for index, name in enumerate(normalized):
        target = None
        if index == phone_index:
            target = PRIMARY
        elif ignored(name):
            target = None
        elif numbered := _numbered(name):
            target = numbered
        elif name in SECONDARY_ALIASES:
            while next_free_secondary in explicit_secondaries or Target.phone(next_free_secondary) in used:
                next_free_secondary += 1
            if next_free_secondary <= MAX_SECONDARY_NUMBERS:
                target = Target.phone(next_free_secondary)
        elif name in declared:
            target = Target.variable(name)
        elif extra := variable_name(header[index]):
            target = Target.variable(extra)
        if target in used:
            target = None  # a second column for the same place is ignored, not merged
        if target is not None:
            used.add(target)
        targets.append(target)
    return [key_of(target) for target in targets]


@dataclass(frozen=True)
class Mapping:
    """A checked mapping, ready to read rows with."""

    header: list[str]
    targets: list[Target | None]
    # Worked out once, for reading every row: (column name, index, target) of each
    # column that goes somewhere, in order; the primary number's column.
    mapped: list[tuple[str, int, Target]] = field(init=False, repr=False, compare=False)
    phone_column: str = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        mapped = [(self.column_name(i), i, t) for i, t in enumerate(self.targets) if t is not None]
        object.__setattr__(self, "mapped", mapped)
        object.__setattr__(self, "phone_column", self.column_name(self.phone_index))

    @property
    def phone_index(self) -> int:
        return self.targets.index(PRIMARY)

    @property
    def has_secondary_columns(self) -> bool:
        return any(t is not None and t.kind == PHONE and t.position for t in self.targets)

    def column_name(self, index: int) -> str:
        return self.header[index] if index < len(self.header) else f"column {index + 1}"


def _target(key: str) -> Target | ValueError | None:
    try:
        return Target.from_key(key)
    except ValueError as problem:
        return problem


def check_mapping(header: Sequence[str], keys: Sequence[str]) -> Mapping:
    """Refuse mappings that cannot work, with a message for a person."""
    if len(keys) != len(header):
        raise MappingProblem("The mapping does not match the file's columns; choose the file again.")
    targets = [_target(key) for key in keys]
    if PRIMARY not in targets:
        raise MappingProblem(
            f"No column holds the primary phone number: name one phone_number (or {phone_alias_list()}), "
            "or choose it in the mapping."
        )
    seen: dict[Target, int] = {}
    for index, target in enumerate(targets):
        if isinstance(target, ValueError):
            raise MappingProblem(str(target))
        if target is None:
            continue
        if target in seen:
            raise MappingProblem(
                f"Columns “{header[seen[target]]}” and “{header[index]}” both go to {target.describe()}."
            )
        seen[target] = index
    return Mapping(header=list(header), targets=targets)


def parse_target(text: str) -> str:
    """A target as a person names it (as a file header would: phone_number,
    secondary_phone_2, secondary_2_contact_name, timezone, consent_at, a variable
    name, or ignore) in the mapping's own form."""
    name = normalize_header(text)
    if name in ("", "ignore", "nothing", "-"):
        return key_of(None)
    target = PRIMARY if name in PHONE_ALIASES else parse_header(name, state=False)
    if target is None:
        raise MappingProblem(f"“{text}” is not a place a column can go.")
    return target.key
