import pytest

from leads.phones import InvalidPhoneNumber, normalize_phone, search_digits


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+14155552671", None, "+14155552671"),
        ("+1 (415) 555-2671", None, "+14155552671"),
        ("+1.415.555.2671", None, "+14155552671"),
        ("14155552671", None, "+14155552671"),  # a spreadsheet dropped the +
        ("0014155552671", None, "+14155552671"),  # international call prefix
        ("(415) 555-2671", "US", "+14155552671"),
        ("07911 123456", "GB", "+447911123456"),
        ("07911 123456", "gb", "+447911123456"),
        ("+44 7911 123456", "US", "+447911123456"),  # an explicit + wins over the region
        (" \t+33 6 12 34 56 78\n", None, "+33612345678"),
        (14155552671, None, "+14155552671"),  # a spreadsheet's numeric cell
    ],
)
def test_normalize_phone_reads_what_people_type(raw, region, expected):
    assert normalize_phone(raw, region=region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("", None, "required"),
        ("   ", None, "required"),
        (None, None, "required"),
        ("call me", None, "not a phone number"),
        ("+1 415 555 CALL", None, "not a phone number"),
        ("+", None, "not a phone number"),
        ("++14155552671", None, "not a phone number"),
        ("415-555-2671 ext. 12", None, "not a phone number"),
        ("1234", None, "has 4 digits"),
        ("+1234567890123456", None, "has 16 digits"),
        ("4155552671", None, "must start with its country code"),  # national, no country set
        ("+10005552671", None, "not a valid phone number"),  # no such area code
        ("+999 12345678", None, "not a valid phone number"),  # no such country code
        ("٤١٥٥٥٥٢٦٧١", "US", "not a phone number"),  # Arabic-Indic digits are not accepted silently
        ("07911 123456", "US", "not a valid phone number"),
    ],
)
def test_normalize_phone_rejects_malformed_numbers_with_a_clear_message(raw, region, message):
    with pytest.raises(InvalidPhoneNumber, match=message):
        normalize_phone(raw, region=region)


@pytest.mark.parametrize(
    ("query", "digits"),
    [("+1415", "1415"), ("415-555", "415555"), ("(415) 555", "415555"), ("4155552671", "4155552671")],
)
def test_search_digits_recognises_number_like_queries(query, digits):
    assert search_digits(query) == digits


@pytest.mark.parametrize("query", ["Smith", "41", "a415", "+", "", "García 415"])
def test_search_digits_leaves_other_text_alone(query):
    assert search_digits(query) is None


def test_the_fast_validity_check_agrees_with_libphonenumber_for_every_region():
    import phonenumbers

    from leads.phones import is_valid

    checked = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for variant in (example.national_number, example.national_number + 1, example.national_number // 10):
                number = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=variant)
                assert is_valid(number) == phonenumbers.is_valid_number(number), (region, variant)
                checked += 1
    assert checked > 1000
