"""Generate ``tables.json`` from the full libphonenumber release we pin, without installing it.

    python -m leads.phonedata.build [--wheel FILE] [--output FILE]

``phonenumberslite`` (what we run on) has no time-zone or geocoding data, and the full
``phonenumbers`` must never be installed beside it (both are the module
``phonenumbers``). So this downloads the full release of the *installed* lite version
(``pip download --no-deps``, into a temporary directory: nothing is installed), opens
the wheel as a zip and reads, as data, never importing or running any of it:

- ``phonenumbers/tzdata/``: E.164 prefix → IANA zones (``zones`` in the table);
- ``phonenumbers/geodata/``, English names of country code 1 only: area code →
  "New Jersey", exchange → "Jersey City, NJ" (``nanp_regions``, by ISO 3166-2 code);
- ``phonenumbers/data/region_*.py`` of country code 1: which area codes belong to the
  NANP's other countries and the US territories (their ``leading_digits``).

The wheel's version must be the installed lite's: the test suite fails when they
differ, so a bump of ``phonenumberslite`` without a regeneration cannot pass CI.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

OUTPUT = Path(__file__).with_name("tables.json")

# What libphonenumber writes for "no zone known". A prefix that maps to it is kept, empty,
# so that the longest-prefix lookup stops there instead of falling back to a shorter one.
UNKNOWN_ZONE = "Etc/Unknown"

# ISO 3166-2 codes of the US states, DC and territories, and of the Canadian provinces
# and territories, by the names and postal abbreviations the English geocoding data uses
# ("New Jersey" for an area code, "Jersey City, NJ" for an exchange).
_US = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
}  # fmt: skip
_CA = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon",
}  # fmt: skip
POSTAL = {abbr: f"US-{abbr}" for abbr in _US} | {abbr: f"CA-{abbr}" for abbr in _CA}
SUBDIVISIONS = {name: f"US-{abbr}" for abbr, name in _US.items()} | {name: f"CA-{abbr}" for abbr, name in _CA.items()}
# Names the data spells its own way.
SUBDIVISIONS |= {
    "Washington State": "US-WA",
    "Washington D.C.": "US-DC",
    "British Colombia": "CA-BC",  # sic, in libphonenumber's data for 257
}

# The US territories' own NANP "countries" in libphonenumber's metadata are subdivisions
# of the US in ISO 3166-2 (US-PR, …): a US rule narrowed to them is a US rule. The
# NANP's other members are countries of their own and keep their ISO 3166-1 code (JM).
US_TERRITORIES = {"AS", "GU", "MP", "PR", "VI"}

# Area codes we know end up without a region, and why. The generator fails on any other
# area code of the zone data that it cannot place, so a new release's new name is seen.
LEFT_EMPTY = {
    "782": "Nova Scotia and Prince Edward Island share it (no exchange-level names)",
    "867": "Northwest Territories, Nunavut and Yukon share it (exchanges that name one are placed)",
    "902": "Nova Scotia and Prince Edward Island share it (exchanges that name one are placed)",
}

_WHEEL_NAME = re.compile(r"phonenumbers-(?P<version>[^-]+)-.*\.whl$")
# A prefix key of country code 1 at the start of a data line: ` '1201':{...}` (or u('1201')).
_NANP_KEY = re.compile(r"^\s*(?:u\()?['\"]1\d*['\"]\)?\s*:", re.MULTILINE)


class BuildError(Exception):
    """The wheel cannot be read into tables; the message says what to do."""


@dataclass
class Tables:
    version: str
    wheel: str
    wheel_sha256: str
    zones: dict[str, tuple[str, ...]]
    nanp_regions: dict[str, str]
    left_empty: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> str:
        """One prefix a line, sorted, so a regeneration's diff shows what changed."""
        lines = [
            "{",
            f'"version": {json.dumps(self.version)},',
            f'"wheel": {json.dumps(self.wheel)},',
            f'"wheel_sha256": {json.dumps(self.wheel_sha256)},',
            f'"left_empty": {json.dumps(self.left_empty, sort_keys=True)},',
            '"zones": {',
            ",\n".join(f"{json.dumps(p)}: {json.dumps(list(z))}" for p, z in sorted(self.zones.items())),
            "},",
            '"nanp_regions": {',
            ",\n".join(f"{json.dumps(p)}: {json.dumps(r)}" for p, r in sorted(self.nanp_regions.items())),
            "}",
            "}",
        ]
        return "\n".join(lines) + "\n"


def _literal(node: ast.AST) -> Any:
    """ast.literal_eval that also accepts libphonenumber's ``u('text')`` (identity on Python 3)."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id == "u" and len(node.args) == 1 and not node.keywords:
            return _literal(node.args[0])
        raise BuildError(f"Unexpected call in the data at line {node.lineno}: {ast.unparse(node)[:80]}")
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_literal(e) for e in node.elts)
    return ast.literal_eval(node)


def _assigned(tree: ast.Module, name: str) -> ast.AST | None:
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in statement.targets
        ):
            return statement.value
    return None


def _read(wheel: zipfile.ZipFile, path: str) -> str:
    try:
        return wheel.read(path).decode("utf-8")
    except KeyError:
        raise BuildError(f"The wheel has no {path}: is it libphonenumber's full `phonenumbers` package?") from None


def _data_modules(wheel: zipfile.ZipFile, package: str) -> list[str]:
    """The modules a data package's ``__init__`` merges, in its order (``from .data0 import data``)."""
    tree = ast.parse(_read(wheel, f"{package}/__init__.py"))
    modules = [
        f"{package}/{statement.module}.py"
        for statement in tree.body
        if isinstance(statement, ast.ImportFrom) and statement.level == 1 and statement.module
        if [alias.name for alias in statement.names] == ["data"]
    ]
    if not modules:
        raise BuildError(f"{package}/__init__.py merges no data modules: the wheel's layout changed.")
    return modules


def _merged(wheel: zipfile.ZipFile, package: str, *, only_nanp: bool = False) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in _data_modules(wheel, package):
        text = _read(wheel, path)
        # The geocoding data is 20 MB in 29 modules, mostly China's; parsing only the
        # few that hold a key of country code 1 takes a second instead of eight.
        if only_nanp and not _NANP_KEY.search(text):
            continue
        value = _assigned(ast.parse(text, filename=path), "data")
        if value is None:
            raise BuildError(f"{path} assigns no `data`: the wheel's layout changed.")
        merged.update(_literal(value))
    return merged


def _version(wheel: zipfile.ZipFile) -> str:
    value = _assigned(ast.parse(_read(wheel, "phonenumbers/__init__.py")), "__version__")
    if value is None:
        raise BuildError("phonenumbers/__init__.py sets no __version__.")
    return _literal(value)


def _nanp_countries(wheel: zipfile.ZipFile) -> dict[str, str]:
    """Area code → region for the NANP members other than the US and Canada, from the
    ``leading_digits`` of each country-code-1 region's metadata (JM: '658|876')."""
    by_pattern: dict[str, str] = {}
    for path in wheel.namelist():
        match = re.fullmatch(r"phonenumbers/data/region_([A-Z]{2})\.py", path)
        if not match:
            continue
        call = _assigned(ast.parse(_read(wheel, path)), f"PHONE_METADATA_{match[1]}")
        if not isinstance(call, ast.Call):
            continue
        keywords = {k.arg: k.value for k in call.keywords}
        if "country_code" in keywords and _literal(keywords["country_code"]) == 1 and "leading_digits" in keywords:
            by_pattern[_literal(keywords["leading_digits"])] = match[1]
    countries: dict[str, str] = {}
    for area in (f"{n:03d}" for n in range(200, 1000)):
        # Area-code level only: a longer alternative ('8001' of DO) names part of an area code.
        owners = [region for pattern, region in by_pattern.items() if re.fullmatch(pattern, area)]
        if len(owners) > 1:
            raise BuildError(f"Area code {area} belongs to several regions' leading digits: {owners}")
        if owners:
            countries[area] = f"US-{owners[0]}" if owners[0] in US_TERRITORIES else owners[0]
    return countries


def subdivisions_named(name: str) -> set[str]:
    """The ISO 3166-2 codes a geocoding name places a number in: "New Jersey",
    "Jersey City, NJ", "Nova Scotia/Prince Edward Island" (two); empty when it names none."""
    if name in SUBDIVISIONS:
        return {SUBDIVISIONS[name]}
    if (suffix := re.search(r", ([A-Z]{2})$", name)) and suffix[1] in POSTAL:
        return {POSTAL[suffix[1]]}
    parts = name.split("/")
    if len(parts) > 1 and all(p.strip() in SUBDIVISIONS for p in parts):
        return {SUBDIVISIONS[p.strip()] for p in parts}
    return set()


def _nanp_regions(
    zones: dict[str, tuple[str, ...]], geo: dict[str, dict[str, str]], countries: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    names = {prefix: locales["en"] for prefix, locales in geo.items() if prefix.startswith("1") and "en" in locales}
    areas = sorted({p[1:4] for p in [*zones, *names] if p.startswith("1") and len(p) >= 4})
    exchanges: dict[str, dict[str, set[str]]] = {}
    for prefix, name in names.items():
        if len(prefix) > 4:
            exchanges.setdefault(prefix[1:4], {})[prefix] = subdivisions_named(name)
    regions: dict[str, str] = {}
    unplaced: list[str] = []
    for area in areas:
        prefix = "1" + area
        if area in countries:
            regions[prefix] = countries[area]
            continue
        finer = exchanges.get(area, {})
        if prefix in names:
            # The area code's own name ("Texas") places it; an area code shared by
            # several subdivisions is placed no further than its exchanges name.
            placed = subdivisions_named(names[prefix])
            if not placed:
                unplaced.append(f"{area} ({names[prefix]!r})")
                continue
        else:
            # No area-code entry (203, 718): its exchanges' names place it when they agree.
            placed = set().union(*finer.values()) if finer else set()
        if len(placed) == 1:
            regions[prefix] = placed.pop()
        elif area not in LEFT_EMPTY:
            unplaced.append(f"{area} ({sorted(placed) or 'no name'})")
        # An exchange named in another subdivision than its area code's (a border town,
        # or a shared area code's exchange) is placed where its name says.
        for exchange, codes in finer.items():
            if len(codes) == 1 and (code := next(iter(codes))) != regions.get(prefix):
                regions[exchange] = code
    if unplaced:
        raise BuildError(
            "NANP area codes without a region: "
            + ", ".join(unplaced)
            + ". Add the name to SUBDIVISIONS or the area code to LEFT_EMPTY in leads/phonedata/build.py."
        )
    return regions, {area: LEFT_EMPTY[area] for area in areas if area in LEFT_EMPTY and "1" + area not in regions}


def build_tables(wheel_path: Path) -> Tables:
    """Read the tables out of a ``phonenumbers`` wheel (a zip), importing none of it."""
    digest = hashlib.sha256(wheel_path.read_bytes()).hexdigest()
    try:
        wheel = zipfile.ZipFile(wheel_path)
    except zipfile.BadZipFile:
        raise BuildError(f"{wheel_path} is not a wheel (not a zip file).") from None
    with wheel:
        version = _version(wheel)
        zones = {
            prefix: tuple(sorted({z for z in found if z != UNKNOWN_ZONE}))
            for prefix, found in _merged(wheel, "phonenumbers/tzdata").items()
        }
        geo = _merged(wheel, "phonenumbers/geodata", only_nanp=True)
        regions, left_empty = _nanp_regions(zones, geo, _nanp_countries(wheel))
    return Tables(
        version=version,
        wheel=wheel_path.name,
        wheel_sha256=digest,
        zones=zones,
        nanp_regions=regions,
        left_empty=left_empty,
    )


def download_wheel(version: str, directory: Path) -> Path:
    """``pip download`` the full release into ``directory``: a file, never an install."""
    command = [sys.executable, "-m", "pip", "download", f"phonenumbers=={version}", "--no-deps"]
    command += ["--only-binary=:all:", "--dest", str(directory), "--quiet"]
    subprocess.run(command, check=True)
    wheels = sorted(directory.glob(f"phonenumbers-{version}-*.whl"))
    if not wheels:
        raise BuildError(f"pip download left no phonenumbers-{version} wheel in {directory}.")
    return wheels[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="a phonenumbers-<version>-*.whl already downloaded")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write (default {OUTPUT})")
    args = parser.parse_args(argv)
    pinned = phonenumbers.__version__
    try:
        if args.wheel:
            tables = build_tables(args.wheel)
        else:
            with tempfile.TemporaryDirectory() as directory:
                tables = build_tables(download_wheel(pinned, Path(directory)))
        if tables.version != pinned:
            raise BuildError(
                f"The wheel is phonenumbers {tables.version} but phonenumberslite {pinned} is installed: "
                "the tables must come from the release we run on."
            )
    except (BuildError, OSError, subprocess.CalledProcessError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    args.output.write_text(tables.as_json(), encoding="utf-8")
    sys.stdout.write(
        f"{args.output}: libphonenumber {tables.version} ({tables.wheel}, sha256 {tables.wheel_sha256[:12]}…), "
        f"{len(tables.zones)} zone prefixes, {len(tables.nanp_regions)} NANP region prefixes; "
        f"area codes left without a region: "
        + (", ".join(f"{a} ({why})" for a, why in sorted(tables.left_empty.items())) or "none")
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
