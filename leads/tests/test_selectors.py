import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Contact
from leads.selectors import phone_in
from leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db


def test_phone_in_finds_exactly_the_numbers_listed():
    make_lead(primary="+14155550101", secondaries=["+14155550102"])
    make_lead(primary="+14155550103")
    found = Contact.objects.filter(phone_in("phone", ["+14155550101", "+14155550103", "+19999999999"]))
    assert sorted(found.values_list("phone", flat=True)) == ["+14155550101", "+14155550103"]
    assert not Contact.objects.filter(phone_in("phone", [])).exists()


@pytest.mark.parametrize("odd", ["+1'); DROP TABLE leads_contact; --", '{"+14155550101"}', "a,b", "\\", '"'])
def test_phone_in_takes_any_text_as_a_value(odd):
    make_lead(primary="+14155550101")
    assert list(Contact.objects.filter(phone_in("phone", [odd])).values_list("phone", flat=True)) == []
    assert Contact.objects.filter(phone_in("phone", [odd, "+14155550101"])).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array parameter is PostgreSQL's")
def test_phone_in_is_one_array_parameter_on_postgresql():
    phones = [f"+1415555{n:04d}" for n in range(5000)]
    with CaptureQueriesContext(connection) as captured:
        list(Contact.objects.filter(phone_in("phone", phones)).values_list("pk"))
    sql = captured[0]["sql"]
    assert "= ANY(" in sql and " IN (" not in sql
