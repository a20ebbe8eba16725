import unicodedata

import pytest
from django.db import connection

from leads.folding import fold

# Every Latin letter Unicode gives a diacritic (Latin-1, Extended-A and -B, Extended
# Additional), and the combining marks the folding drops.
LATIN = "".join(chr(c) for low, high in [(0xC0, 0x24F), (0x1E00, 0x1EFF)] for c in range(low, high + 1))
MARKS = "".join(chr(c) for c in range(0x300, 0x370))


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("García", "GARCIA"),
        ("GARCÍA", "GARCIA"),
        ("Müller", "MULLER"),
        ("Chloé Dubois", "CHLOE DUBOIS"),
        ("Garci\u0301a", "GARCIA"),  # the accent typed as its own mark
        ("Nguyễn Thị Hương", "NGUYEN THI HUONG"),
        ("Straße", "STRAßE"),  # one for one: not STRASSE
        ("Łódź", "ŁODZ"),  # Ł has no decomposition
        ("ﬁle", "FILE"),
        ("Ελένη", "ΕΛΕΝΗ"),  # Greek accents are the same combining marks
        ("", ""),
    ],
)
def test_fold_drops_case_and_accents(text, folded):
    assert fold(text) == folded


@pytest.mark.django_db
def test_the_database_folds_as_python_does_every_latin_letter():
    """leads_fold is migration 0019's SQL on PostgreSQL and leads.folding.fold on SQLite:
    both give the same text for every accented Latin letter, alone and after a
    letter with a mark typed on its own."""
    samples = [LATIN[i : i + 40] for i in range(0, len(LATIN), 40)] + ["e" + mark for mark in MARKS]
    with connection.cursor() as cursor:
        for sample in samples:
            cursor.execute("SELECT leads_fold(%s)", [sample])
            assert cursor.fetchone()[0] == fold(sample), sample
        cursor.execute("SELECT leads_fold(NULL)")
        assert cursor.fetchone()[0] is None


def test_fold_is_the_nfkd_strip_of_every_latin_letter():
    for char in LATIN:
        stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        assert fold(char) == "".join(c.upper() if len(c.upper()) == 1 else c for c in stripped), char


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's function and index")
def test_the_folding_function_is_immutable_and_indexed_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT provolatile FROM pg_proc WHERE proname = 'leads_fold'")
        assert cursor.fetchall() == [("i",)]  # an index may only use an IMMUTABLE function
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'leads_contact' AND indexdef LIKE '%%trgm%%'")
        definitions = [row[0] for row in cursor.fetchall()]
    assert any("leads_fold" in d and "variables" in d for d in definitions), definitions
    assert not any("upper(" in d.lower() for d in definitions), definitions  # the old index is gone
