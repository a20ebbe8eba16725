"""leads.phonedata: the shipped table against the pinned libphonenumber and known numbers,
and the generator on a small wheel built here (no network)."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zoneinfo
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from leads import phonedata
from leads.phonedata import build, country_code, region_for, zones_for

TABLE = json.loads(phonedata.TABLES.read_text(encoding="utf-8"))
REGION_CODE = re.compile(r"(US|CA)-[A-Z]{2}|[A-Z]{2}")


def test_table_is_generated_from_the_installed_libphonenumber() -> None:
    # Bumping phonenumberslite without `make phonedata` fails here.
    assert phonenumbers.__version__ == phonedata.VERSION
    assert TABLE["wheel"].startswith(f"phonenumbers-{phonenumbers.__version__}-")
    assert re.fullmatch(r"[0-9a-f]{64}", phonedata.WHEEL_SHA256)


@pytest.mark.parametrize(
    ("number", "zones", "region"),
    [
        ("+12125551234", ("America/New_York",), "US-NY"),  # New York
        ("+13105551234", ("America/Los_Angeles",), "US-CA"),  # Los Angeles (no area-code entry: its exchanges agree)
        ("+13125551234", ("America/Chicago",), "US-IL"),  # Chicago
        ("+13035551234", ("America/Denver",), "US-CO"),  # Denver
        ("+16025551234", ("America/Phoenix",), "US-AZ"),  # Phoenix
        ("+18085551234", ("Pacific/Honolulu",), "US-HI"),  # Honolulu
        ("+19075551234", ("America/Adak", "America/Anchorage"), "US-AK"),  # Alaska's one area code spans two
        ("+14165551234", ("America/Toronto",), "CA-ON"),  # Toronto
        ("+15145551234", ("America/Toronto",), "CA-QC"),  # Montreal
        ("+16045551234", ("America/Vancouver",), "CA-BC"),
        ("+12025551234", ("America/New_York",), "US-DC"),
        ("+17875551234", ("America/Puerto_Rico",), "US-PR"),  # a US territory: a US subdivision
        ("+18765551234", ("America/Jamaica",), "JM"),  # another NANP country: its own code
        ("+18095551234", ("America/Santo_Domingo",), "DO"),
        ("+442079460000", ("Europe/London",), ""),  # London
        ("+351213000000", ("Europe/Lisbon",), ""),  # Lisbon
        ("+61291234567", ("Australia/Sydney",), ""),
        ("+61891234567", ("Australia/Adelaide", "Australia/Perth"), ""),  # Australia's 08 spans two
        ("+74232123456", ("Asia/Vladivostok",), ""),  # Russia, by its area codes
        ("+74951234567", ("Europe/Moscow",), ""),
    ],
)
def test_known_numbers(number: str, zones: tuple[str, ...], region: str) -> None:
    assert zones_for(number) == zones
    assert region_for(number) == region


def test_a_mobile_in_a_country_of_several_zones_gets_all_of_them_as_libphonenumber_says() -> None:
    # A mobile is not geographic in Australia: it may be in Perth as well as Sydney.
    australia = zones_for("+61412345678")
    assert {"Australia/Perth", "Australia/Sydney", "Australia/Adelaide"} <= set(australia)
    assert australia == zones_for("+61")  # the country-level entry
    # A Portuguese mobile may be on the Azores, an hour behind Lisbon.
    assert "Atlantic/Azores" in zones_for("+351912345678")
    # The NANP's area codes are geographic, mobiles included: an island's mobile is on its island.
    assert zones_for("+18764441234") == ("America/Jamaica",)


def test_a_us_area_code_spanning_two_zones_is_split_by_exchange() -> None:
    # Idaho's 208: the north is Pacific, the south Mountain; where the data cannot tell, both.
    assert zones_for("+12082011234") == ("America/Denver",)
    assert zones_for("+12082151234") == ("America/Los_Angeles",)
    assert zones_for("+12085551234") == ("America/Boise", "America/Los_Angeles")
    # Arizona keeps no DST, the Navajo Nation inside it does.
    assert zones_for("+19282831234") == ("America/Denver", "America/Phoenix")
    assert zones_for("+19285551234") == ("America/Phoenix",)
    assert {region_for("+12082011234"), region_for("+12085551234")} == {"US-ID"}


def test_shared_canadian_area_codes_are_placed_only_where_an_exchange_is_named() -> None:
    assert region_for("+19025551234") == ""
    assert region_for("+19025661234") == "CA-PE"  # Charlottetown
    assert region_for("+19024211234") == "CA-NS"  # Halifax
    assert region_for("+17825551234") == ""
    assert zones_for("+19025551234") == ("America/Halifax",)


def test_numbers_the_data_knows_only_by_country_get_all_its_zones() -> None:
    # Toll-free: no area, so every NANP zone, as libphonenumber answers.
    assert len(zones_for("+18005551234")) == 42
    assert region_for("+18005551234") == ""
    assert "Europe/London" in zones_for("+447700900123")


def test_unknown_prefixes_have_no_zone() -> None:
    assert zones_for("+99912345678") == ()  # no such calling code
    assert zones_for("+80012345678") == ()  # international freephone: no zone data
    assert region_for("+442079460000") == ""


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("+12125551234", "1"),
        ("+442079460000", "44"),
        ("+351213000000", "351"),
        ("+74951234567", "7"),
        ("+80012345678", "800"),
        ("+99912345678", ""),
        ("+2", ""),
    ],
)
def test_country_code(number: str, code: str) -> None:
    assert country_code(number) == code


JUNK = [
    "",
    "+",
    "12125551234",  # no +
    "+1 212 555 1234",
    "+1-212-555-1234",
    "+1²",  # a digit to str.isdigit, not to us
    "+١٢١٢٥٥٥١٢٣٤",  # Arabic-Indic digits
    "+1212\x005551234",
    "+" + "1" * 16,  # longer than E.164
    "+" + "9" * 1_000_000,
    "<script>+1212</script>",
    None,
    12125551234,
    b"+12125551234",
]


@pytest.mark.parametrize("junk", JUNK, ids=range(len(JUNK)))
def test_junk_is_unknown_never_an_error(junk: object) -> None:
    assert zones_for(junk) == ()  # type: ignore[arg-type]
    assert region_for(junk) == ""  # type: ignore[arg-type]
    assert country_code(junk) == ""  # type: ignore[arg-type]


def test_every_zone_in_the_table_loads() -> None:
    # The calling window reads the zones with zoneinfo; libphonenumber uses some
    # backward-compatible names (Asia/Calcutta) that the system's tz database must keep.
    names = {zone for zones in TABLE["zones"].values() for zone in zones}
    assert len(names) > 200
    for name in names:
        zoneinfo.ZoneInfo(name)


def test_every_nanp_area_code_has_a_region_or_is_knowingly_left_empty() -> None:
    areas = {prefix[1:4] for prefix in TABLE["zones"] if prefix.startswith("1") and len(prefix) >= 4}
    assert len(areas) > 400
    unplaced = {area for area in areas if not region_for(f"+1{area}5550123")}
    assert unplaced == set(TABLE["left_empty"]) == {"782", "867", "902"}
    assert all(REGION_CODE.fullmatch(code) for code in TABLE["nanp_regions"].values())


def naive_longest(table: dict[str, object], digits: str) -> object | None:
    return next((table[digits[:n]] for n in range(len(digits), 0, -1) if digits[:n] in table), None)


@pytest.mark.parametrize("suffix", ["", "0", "5", "0123456", "9876543210"])
def test_lookups_answer_the_longest_prefix_of_the_table(suffix: str) -> None:
    # The lookups start from 4-digit heads; this checks them against trying every
    # length, for each prefix of both tables and its neighbours (shorter, longer).
    for prefix in [*TABLE["zones"], *TABLE["nanp_regions"]]:
        for digits in {prefix + suffix, prefix[:-1] + suffix, prefix[:3]}:
            if not 0 < len(digits) <= 15:
                continue
            zones = naive_longest(TABLE["zones"], digits)
            # The prefix table itself: zones_for answers some mobiles at the country level.
            assert phonedata._tables().zones.lookup(digits) == (tuple(zones) if zones else None), digits
            region = naive_longest(TABLE["nanp_regions"], digits) if digits.startswith("1") else None
            assert region_for("+" + digits) == (region or ""), digits


E164 = st.text("0123456789", min_size=1, max_size=15).map(lambda digits: "+" + digits)
AVAILABLE = zoneinfo.available_timezones()


@given(E164)
@example("+1")
@example("+19075551234")
def test_any_e164_number_gets_valid_zone_names(number: str) -> None:
    zones = zones_for(number)
    assert isinstance(zones, tuple)
    assert list(zones) == sorted(set(zones))
    assert set(zones) <= AVAILABLE
    region = region_for(number)
    assert region == "" or REGION_CODE.fullmatch(region)
    assert region == "" or number.startswith("+1")
    assert country_code(number) == "" or number[1:].startswith(country_code(number))


@given(st.text(max_size=40))
def test_any_text_is_answered(text: str) -> None:
    assert isinstance(zones_for(text), tuple)
    assert isinstance(region_for(text), str)
    assert isinstance(country_code(text), str)


# The generator, on a wheel with the real one's layout and a few entries of each kind.
HEADER = '"""Auto-generated file, do not edit by hand."""\nfrom ..util import u\n\n'
WHEEL_FILES = {
    "phonenumbers/__init__.py": f'"""phonenumbers"""\nimport sys\n__version__ = "{phonenumbers.__version__}"\n',
    "phonenumbers/tzdata/__init__.py": (
        HEADER + "TIMEZONE_DATA = {}\nfrom .data0 import data\nTIMEZONE_DATA.update(data)\n"
        "from .data1 import data\nTIMEZONE_DATA.update(data)\ndel data\nTIMEZONE_LONGEST_PREFIX = 7\n"
    ),
    "phonenumbers/tzdata/data0.py": HEADER
    + "data = {\n '1':('America/New_York', 'America/Chicago'),\n '1201':('America/New_York',),\n"
    " '1203':('America/New_York',),\n '1876':('America/Jamaica',),\n '1902':('America/Halifax',),\n}\n",
    "phonenumbers/tzdata/data1.py": HEADER
    + "data = {\n '44':(u('Europe/London'),),\n '4477':('Etc/Unknown',),\n '1201':('America/New_York', 'America/New_York'),\n}\n",
    "phonenumbers/geodata/__init__.py": (
        HEADER + "GEOCODE_DATA = {}\nfrom .data0 import data\nGEOCODE_DATA.update(data)\n"
        "from .data1 import data\nGEOCODE_DATA.update(data)\ndel data\n"
    ),
    "phonenumbers/geodata/data0.py": HEADER + "data = {\n"
    " '1201':{'en': 'New Jersey'},\n"
    " '1201200':{'en': u('Jersey City, NJ')},\n"  # the area code's own state: nothing finer to say
    " '1201631':{'en': 'New York, NY'},\n"  # another state's exchange
    " '1203200':{'en': 'Ansonia, CT'},\n"  # no area-code entry, its exchanges agree
    " '1203201':{'en': 'Connecticut'},\n"
    " '1876':{'en': 'Negril'},\n"  # a country's: its metadata decides
    " '1902':{'en': 'Nova Scotia/Prince Edward Island'},\n"
    " '1902566':{'en': 'Charlottetown, PE'},\n"
    "}\n",
    # A module without country code 1, as most are: read past.
    "phonenumbers/geodata/data1.py": HEADER + "data = {\n '4420':{'en': 'London'},\n}\n",
    "phonenumbers/data/region_JM.py": (
        "from ..phonemetadata import PhoneMetadata\n"
        "PHONE_METADATA_JM = PhoneMetadata(id='JM', country_code=1, international_prefix='011', leading_digits='658|876')\n"
    ),
    "phonenumbers/data/region_US.py": (
        "from ..phonemetadata import PhoneMetadata\n"
        "PHONE_METADATA_US = PhoneMetadata(id='US', country_code=1, international_prefix='011')\n"
    ),
    "phonenumbers/data/region_GB.py": (
        "from ..phonemetadata import PhoneMetadata\n"
        "PHONE_METADATA_GB = PhoneMetadata(id='GB', country_code=44, leading_digits='876')\n"
    ),
}


def make_wheel(directory: Path, files: dict[str, str], version: str = phonenumbers.__version__) -> Path:
    path = directory / f"phonenumbers-{version}-py2.py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
    return path


def test_generator_reads_the_wheels_data(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, WHEEL_FILES)
    output = tmp_path / "tables.json"

    assert build.main(["--wheel", str(wheel), "--output", str(output)]) == 0

    table = json.loads(output.read_text())
    assert table["version"] == phonenumbers.__version__
    assert table["wheel"] == wheel.name
    assert table["wheel_sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert table["zones"] == {
        "1": ["America/Chicago", "America/New_York"],  # sorted
        "1201": ["America/New_York"],  # the later module wins, deduplicated
        "1203": ["America/New_York"],
        "1876": ["America/Jamaica"],
        "1902": ["America/Halifax"],
        "44": ["Europe/London"],
        "4477": [],  # unknown, so a lookup stops there instead of answering London
    }
    assert table["nanp_regions"] == {
        "1201": "US-NJ",
        "1201631": "US-NY",
        "1203": "US-CT",
        "1876": "JM",
        "1902566": "CA-PE",
    }
    assert table["left_empty"] == {"902": build.LEFT_EMPTY["902"]}


def test_generator_refuses_another_release_than_the_installed_one(tmp_path: Path, capsys) -> None:
    wheel = make_wheel(tmp_path, WHEEL_FILES | {"phonenumbers/__init__.py": '__version__ = "1.0.0"\n'}, "1.0.0")
    output = tmp_path / "tables.json"

    assert build.main(["--wheel", str(wheel), "--output", str(output)]) == 1

    assert f"phonenumbers 1.0.0 but phonenumberslite {phonenumbers.__version__} is installed" in capsys.readouterr().err
    assert not output.exists()


def test_generator_names_an_area_code_it_cannot_place(tmp_path: Path) -> None:
    geo = WHEEL_FILES["phonenumbers/geodata/data0.py"].replace("'New Jersey'", "'Nouvelle-Jersey'")
    wheel = make_wheel(tmp_path, WHEEL_FILES | {"phonenumbers/geodata/data0.py": geo})

    with pytest.raises(build.BuildError, match=r"201 \('Nouvelle-Jersey'\).*SUBDIVISIONS"):
        build.build_tables(wheel)


def test_generator_never_runs_the_wheels_code(tmp_path: Path) -> None:
    tz = WHEEL_FILES["phonenumbers/tzdata/data0.py"].replace("'1201':(", "'1201':(__import__('os').getcwd(), ")
    wheel = make_wheel(tmp_path, WHEEL_FILES | {"phonenumbers/tzdata/data0.py": tz})

    with pytest.raises(build.BuildError, match="Unexpected call"):
        build.build_tables(wheel)


def test_generator_answers_a_file_that_is_not_a_wheel(tmp_path: Path) -> None:
    path = tmp_path / "phonenumbers-9.0.0-py2.py3-none-any.whl"
    path.write_text("not a zip")
    assert build.main(["--wheel", str(path), "--output", str(tmp_path / "t.json")]) == 1
    missing = make_wheel(tmp_path, {"phonenumbers/__init__.py": WHEEL_FILES["phonenumbers/__init__.py"]})
    with pytest.raises(build.BuildError, match="no phonenumbers/tzdata/__init__.py"):
        build.build_tables(missing)
