"""The one rule that keeps a spreadsheet from running a cell of ours as a formula, for
every file Leadsite writes (exports, error reports, the import's sample file), and its
exact inverse, which the import applies to every cell it reads.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (after
any run of ``'``) gets one more leading ``'``. What the column holds decides the only
exception: in a phone column a phone number (``+`` then digits and the spaces,
brackets, dots and dashes numbers are written with) keeps its ``+``, as the spec says
phone numbers do; anywhere else ``+10`` is text, and a spreadsheet would turn it into
10. Reading a cell back removes one leading ``'`` before such a start, so every value
comes back as it was, one that began with ``'`` included.

The patterns are written once, in the syntax Python's ``re`` and PostgreSQL's regular
expressions share, so ``neutralise_sql`` (the COPY export) is the same rule.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_ESCAPES = {"\t": r"\t", "\r": r"\r"}
# A bracket expression of the starts, "-" last so it is itself and not a range.
_STARTS = "[" + "".join(_ESCAPES.get(c, c) for c in FORMULA_STARTS if c != "-") + "-]"
# What gets one more ': a run of ' (maybe none), then a start.
QUOTED = "'*" + _STARTS
# A phone number as people write one: +, digits and their separators, a digit at least.
PHONE = r"\+[ ().-]*[0-9][0-9 ().-]*"

_quoted = re.compile(QUOTED)
_phone = re.compile(PHONE)


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
    keep = f" AND {expression} !~ {_literal('^' + PHONE + '$')}" if phone else ""
    return (
        f"CASE WHEN {expression} ~ {_literal('^' + QUOTED)}{keep} THEN '''' || {expression} "
        f"ELSE NULLIF({expression}, '') END"
    )
