"""The folded search under generated text (hypothesis): Latin letters with and without
diacritics, in any case, precomposed or with the accent typed as its own mark. The
search finds a lead exactly when a reference built on Python's unicodedata (NFKD, the
combining marks stripped, upper case one for one) says its value contains the query.

Each example runs in leadsite.testing.rolled_back."""

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from campaigns.tests.factories import make_campaign
from leads.models import Lead
from leads.selectors import search_leads
from leads.tests.factories import make_lead
from leadsite.testing import rolled_back

pytestmark = pytest.mark.django_db

LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    + "".join(chr(c) for low, high in [(0xC0, 0x24F), (0x1E00, 0x1EFF)] for c in range(low, high + 1))
    + " "
)
MARKS = "".join(chr(c) for c in range(0x300, 0x370) if unicodedata.combining(chr(c)))
text = st.text(st.sampled_from(LETTERS) | st.sampled_from(MARKS), min_size=1, max_size=24)


def reference(value: str) -> str:
    stripped = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in stripped)


def restyle(value: str, data: st.DataObject) -> str:
    """``value`` as someone else may type it: each letter in either case, with its
    accents, without them, or with them typed as separate marks."""
    chars = []
    for char in value:
        char = data.draw(st.sampled_from([char, char.upper() if len(char.upper()) == 1 else char, char.lower()]))
        chars.append(data.draw(st.sampled_from([char, reference(char), unicodedata.normalize("NFD", char)])))
    return "".join(chars)


@pytest.fixture
def campaign():
    return make_campaign()


@given(value=text, data=st.data())
@example(value="García", data=None)
def test_the_search_finds_what_the_reference_finds(campaign, value, data):
    with rolled_back():
        lead = make_lead(campaign=campaign, variables={"customer_name": value})
        if data is None:
            query = "GARCIA"
        elif data.draw(st.booleans()):
            # Part of the value as typed by someone else: the reference says it is there.
            start = data.draw(st.integers(0, len(value) - 1))
            end = data.draw(st.integers(start + 1, len(value)))
            query = restyle(value[start:end], data)
        else:
            query = data.draw(text)
        if not query.strip():
            return  # an empty search is no search
        found = search_leads(Lead.objects.filter(pk=lead.pk), query).exists()
        assert found == (reference(query.strip()) in reference(value)), (value, query)
