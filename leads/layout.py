"""The sheet's layout, once: which column holds what, read both ways, and the one rule
that keeps a spreadsheet from running a cell of ours as a formula.

Columns
-------
A lead file has these columns, in this order when Leadsite writes it (an import reads
them in any order):

    phone_number                the primary number
    <variable>                  a variable of the lead
    secondary_phone_<n>         secondary number n (1..10)
    secondary_<n>_<variable>    a variable of secondary number n
    timezone                    the lead's time zone
    status, attempts, …         the lead's state (STATE_COLUMNS): exported, never imported
    goal_achieved, …            what its calls found out (RESULT_COLUMNS): exported, never imported
    result_<name>               one of its results (a call's extracted variable): exported,
                                never imported
    consent, consent_at, …      the lead's consent (CONSENT_COLUMNS): exported and imported

What one column holds is a ``Target``; ``Target.header`` names its column and
``parse_header`` reads a column's name back (exact names: what the import accepts of
free-form headers, aliases and spelling, is the import's own, in
``leads.imports.columns``). Variables are named as Leadsite names every variable
(``campaigns.validators.VARIABLE_NAME_RE``).

Mapping keys
------------
An import's mapping (``ImportRecord.mapping``, ``SavedMapping.mapping``, the values the
mapping page posts) keeps each column's target as text, ``Target.key``, which
``Target.from_key`` reads (stored in databases: the format does not change):

    "phone"                 the primary number
    "var:<name>"            a variable of the lead (declared by the assistant or extra)
    "secondary:<n>"         secondary number n
    "secondary:<n>:<name>"  a variable of secondary number n
    "timezone"              the lead's time zone
    "consent", "consent_at", "consent_source", "consent_certificate"
                            the lead's consent, by its column's name
    ""                      nothing (the column is ignored): ``key_of(None)``

Formulas
--------
A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (after
any run of ``'``) gets one more leading ``'``, in every file Leadsite writes (exports,
error reports, the import's sample file). What the column holds decides the only
exception: in a phone column a phone number (``+`` then digits and the spaces,
brackets, dots and dashes numbers are written with) keeps its ``+``, as the spec says
phone numbers do; anywhere else ``+10`` is text, and a spreadsheet would turn it into
10. Reading a cell back (``unneutralise``, which the import applies to every cell)
removes one leading ``'`` before such a start, so every value comes back as it was,
one that began with ``'`` included.

The patterns are written once, in the syntax Python's ``re`` and PostgreSQL's regular
expressions share, so ``neutralise_sql`` (the COPY export) is the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from campaigns.validators import VARIABLE_NAME_RE
from leads.models import MAX_SECONDARY_NUMBERS

# --- Columns -----------------------------------------------------------------------

Kind = Literal["phone", "variable", "timezone", "state", "result", "consent"]
PHONE: Kind = "phone"  # a number's phone: position 0 the primary, n secondary number n
VARIABLE: Kind = "variable"  # one of a number's variables
TIMEZONE: Kind = "timezone"  # the lead's time zone
STATE: Kind = "state"  # one of the lead's LEAD_COLUMNS, named by ``name``
RESULT: Kind = "result"  # one of the lead's results, named by ``name`` (any text: the platform names them)
CONSENT: Kind = "consent"  # one of the lead's CONSENT_COLUMNS, named by ``name``

STATE_COLUMNS = ("status", "attempts", "last_outcome", "last_attempt_at", "next_attempt_at", "campaign", "created_at")
# What the lead's calls found out (results-and-compliance.md §2b), after the state.
RESULT_COLUMNS = (
    "goal_achieved",
    "disposition",
    "summary",
    "duration_seconds",
    "recording_url",
    "callback_at",
    "opted_out_at",
)
# The lead's own fields, by name: exported, never imported.
LEAD_COLUMNS = STATE_COLUMNS + RESULT_COLUMNS
# Then one column per result: ``result_<name>``.
RESULT_PREFIX = "result_"
# Then the lead's consent (results-and-compliance.md §2b, §5), read back by the import.
CONSENT_COLUMNS = ("consent", "consent_at", "consent_source", "consent_certificate")
_CONSENT_WORDS = {
    "consent": "the lead's consent",
    "consent_at": "when the consent was given",
    "consent_source": "where the consent was given",
    "consent_certificate": "the consent's certificate",
}

_NAME = VARIABLE_NAME_RE.pattern.removeprefix("^").removesuffix("$")
_VARIABLE_NAME = re.compile(_NAME)
_SECONDARY_PHONE = re.compile(r"secondary_phone_([0-9]+)")
_SECONDARY_VARIABLE = re.compile(rf"secondary_([0-9]+)_({_NAME})")
_KEY = re.compile(rf"phone|timezone|var:(?P<variable>{_NAME})|secondary:(?P<n>[0-9]+)(?::(?P<name>{_NAME}))?")


def _secondary(digits: str) -> int | None:
    """Secondary number n written as ``digits``; None when there is no such number (a
    name with a thousand digits is none either, and int() would refuse it)."""
    digits = digits.lstrip("0")
    n = int(digits) if 0 < len(digits) <= 2 else 0
    return n if 1 <= n <= MAX_SECONDARY_NUMBERS else None


@dataclass(frozen=True, slots=True)
class Target:
    """What one column holds. ``position`` is the number's (0 the primary, n secondary
    number n) for a phone or a variable; ``name`` is a variable's or a state column's."""

    kind: Kind
    position: int = 0
    name: str = ""

    @classmethod
    def phone(cls, position: int = 0) -> Target:
        return cls(PHONE, position)

    @classmethod
    def variable(cls, name: str, position: int = 0) -> Target:
        return cls(VARIABLE, position, name)

    @classmethod
    def timezone(cls) -> Target:
        return cls(TIMEZONE)

    @classmethod
    def state(cls, name: str) -> Target:
        return cls(STATE, 0, name)

    @classmethod
    def result(cls, name: str) -> Target:
        return cls(RESULT, 0, name)

    @classmethod
    def consent(cls, name: str) -> Target:
        return cls(CONSENT, 0, name)

    @property
    def header(self) -> str:
        """The name of the column that holds this."""
        if self.kind == PHONE:
            return f"secondary_phone_{self.position}" if self.position else "phone_number"
        if self.kind == VARIABLE:
            return f"secondary_{self.position}_{self.name}" if self.position else self.name
        if self.kind == TIMEZONE:
            return "timezone"
        if self.kind == RESULT:
            return RESULT_PREFIX + self.name
        return self.name

    @property
    def key(self) -> str:
        """This target in a mapping's stored form (the module says which). A state
        or result column has none: it is never imported."""
        if self.kind == PHONE:
            return f"secondary:{self.position}" if self.position else "phone"
        if self.kind == VARIABLE:
            return f"secondary:{self.position}:{self.name}" if self.position else f"var:{self.name}"
        if self.kind == TIMEZONE:
            return "timezone"
        if self.kind == CONSENT:
            return self.name
        raise ValueError(f"The {self.header} column is exported, never imported: it has no mapping key.")

    @classmethod
    def from_key(cls, key: str) -> Target | None:
        """The target a mapping's ``key`` stands for, None for nothing (""); raises
        ValueError, with a message for a person, for anything else."""
        if not key:
            return None
        if key in CONSENT_COLUMNS:
            return cls.consent(key)
        match = _KEY.fullmatch(key)
        if match is not None and match["n"] is None:
            return cls.phone() if key == "phone" else cls.timezone() if key == "timezone" else cls.variable(match[1])
        n = _secondary(match["n"]) if match is not None else None
        if n is None:
            raise ValueError(f"“{key}” is not a place a column can go.")
        return cls.variable(match["name"], n) if match["name"] else cls.phone(n)

    def describe(self) -> str:
        """This target in words, for messages and the mapping page."""
        if self.kind == PHONE:
            return f"secondary number {self.position}" if self.position else "the primary number"
        if self.kind == VARIABLE:
            return (
                f"secondary number {self.position}, variable {self.name}" if self.position else f"variable {self.name}"
            )
        if self.kind == TIMEZONE:
            return "the time zone"
        if self.kind == RESULT:
            return f"the lead's result {self.name}"
        if self.kind == CONSENT:
            return _CONSENT_WORDS[self.name]
        return f"the lead's {self.name}"


PRIMARY = Target.phone()


def key_of(target: Target | None) -> str:
    """A mapping's stored form of ``target``, "" for nothing."""
    return "" if target is None else target.key


def parse_header(header: str, *, state: bool = True) -> Target | None:
    """What the column named exactly ``header`` holds; None for a name that is not in
    the layout (neither one of its columns nor a variable name). The state and result
    columns are the export's; ``state=False`` (the import, which never writes them)
    reads their names as the variables they would name. The consent columns are read
    both ways. ``parse_header(target.header) == target`` for every target whose header
    is not another column's name (a variable called ``timezone``, ``consent``,
    ``secondary_phone_1``, ``status``, ``summary`` or ``result_code`` has no column of
    its own)."""
    if header == "phone_number":
        return PRIMARY
    if header == "timezone":
        return Target.timezone()
    if header in CONSENT_COLUMNS:
        return Target.consent(header)
    if state and header in LEAD_COLUMNS:
        return Target.state(header)
    if state and header.startswith(RESULT_PREFIX):
        return Target.result(header.removeprefix(RESULT_PREFIX))
    if (match := _SECONDARY_PHONE.fullmatch(header)) and (n := _secondary(match[1])):
        return Target.phone(n)
    if (match := _SECONDARY_VARIABLE.fullmatch(header)) and (n := _secondary(match[1])):
        return Target.variable(match[2], n)
    if _VARIABLE_NAME.fullmatch(header):
        return Target.variable(header)
    return None


@dataclass
class Columns:
    """A sheet's columns, in the layout's order: the primary number, its variables,
    each secondary number with its variables, the time zone, the lead's own columns
    (``state``: its state, then what its calls found out), its results, its consent."""

    variables: list[str] = field(default_factory=list)
    secondaries: int = 0
    secondary_variables: list[str] = field(default_factory=list)
    timezone: bool = True
    state: list[str] = field(default_factory=lambda: list(LEAD_COLUMNS))
    results: list[str] = field(default_factory=list)
    consent: list[str] = field(default_factory=lambda: list(CONSENT_COLUMNS))

    def targets(self) -> list[Target]:
        targets = [PRIMARY, *(Target.variable(name) for name in self.variables)]
        for n in range(1, self.secondaries + 1):
            targets.append(Target.phone(n))
            targets.extend(Target.variable(name, n) for name in self.secondary_variables)
        if self.timezone:
            targets.append(Target.timezone())
        targets.extend(Target.state(name) for name in self.state)
        targets.extend(Target.result(name) for name in self.results)
        return targets + [Target.consent(name) for name in self.consent]

    def header(self) -> list[str]:
        return [target.header for target in self.targets()]


def phone_columns(targets: Iterable[Target | None]) -> list[bool]:
    """Which of these columns hold phone numbers (``neutralise``'s ``phone``)."""
    return [target is not None and target.kind == PHONE for target in targets]


# --- Formulas ----------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_ESCAPES = {"\t": r"\t", "\r": r"\r"}
# A bracket expression of the starts, "-" last so it is itself and not a range.
_STARTS = "[" + "".join(_ESCAPES.get(c, c) for c in FORMULA_STARTS if c != "-") + "-]"
# What gets one more ': a run of ' (maybe none), then a start.
QUOTED = "'*" + _STARTS
# A phone number as people write one: +, digits and their separators, a digit at least.
PHONE_NUMBER = r"\+[ ().-]*[0-9][0-9 ().-]*"

_quoted = re.compile(QUOTED)
_phone = re.compile(PHONE_NUMBER)


def neutralise(value: str, *, phone: bool = False) -> str:
    """The cell as written to a file; ``phone`` for a phone number's column."""
    if _quoted.match(value) and not (phone and _phone.fullmatch(value)):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """The value a cell written by ``neutralise`` holds (any other cell as it is)."""
    if value[:1] == "'" and _quoted.match(value, 1):
        return value[1:]
    return value


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def neutralise_sql(expression: str, *, phone: bool = False) -> str:
    """``neutralise`` in PostgreSQL, for the text ``expression``; an empty or NULL
    value is written as an empty cell."""
    keep = f" AND {expression} !~ {_literal('^' + PHONE_NUMBER + '$')}" if phone else ""
    return (
        f"CASE WHEN {expression} ~ {_literal('^' + QUOTED)}{keep} THEN '''' || {expression} "
        f"ELSE NULLIF({expression}, '') END"
    )
