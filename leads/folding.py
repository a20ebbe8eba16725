"""Search text folded so that case and accents do not matter: "GARCIA", "garcía" and
"García" are the same text to the search box.

Folding is Unicode's compatibility decomposition (NFKD) with the combining diacritical
marks (U+0300 to U+036F) dropped, then upper case, one character for one: é → E,
ü → U, ñ → N, ﬁ → FI, a mark typed after its letter goes too. What Unicode does not
decompose stays as it is (ø, ł, đ, æ), and ß stays ß (upper-casing it would make two
letters, which PostgreSQL's UPPER does not do): "Muller" finds "Müller", "Lodz" does
not find "Łódź", "Mueller" and "Strasse" find neither "Müller" nor "Straße". Other
scripts' marks (Hebrew points, Devanagari signs, kana's voicing marks) are kept:
dropping them changes the word.

It is the SQL function ``leads_fold(text)`` on both databases, so the search box, the
value filter and the trigram index of migration 0019 fold alike: on PostgreSQL an
IMMUTABLE function in plain SQL (``normalize`` and ``regexp_replace``, no extension to
install); on SQLite ``fold`` below, registered on every connection by leads.apps.
"""

from __future__ import annotations

import unicodedata

from django.db.models import Func, TextField

# The name of the SQL function on both databases (migration 0019 creates it on PostgreSQL).
FUNCTION = "leads_fold"


def _upper(char: str) -> str:
    # One for one, as PostgreSQL's UPPER: Python's "ß".upper() is "SS".
    upper = char.upper()
    return upper if len(upper) == 1 else char


def fold(text: str) -> str:
    """``text`` as the search compares it."""
    return "".join(_upper(char) for char in unicodedata.normalize("NFKD", text) if not "\u0300" <= char <= "\u036f")


def sqlite_fold(value: object) -> str | None:
    """``leads_fold`` on SQLite: what json_each gives is text, a number or NULL."""
    return None if value is None else fold(str(value))


class Fold(Func):
    """``leads_fold(expression)``: the text folded as ``fold`` folds it."""

    function = FUNCTION
    output_field = TextField()
    arity = 1
