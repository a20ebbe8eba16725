"""How fast a number's zones, NANP region and calling code are found (leads.phonedata),
against libphonenumber's own time-zone lookup on the same numbers.

    .venv/bin/python bench/phonedata.py [--numbers 1000000] [--stock 100000] [--wheel FILE]

--numbers E.164 numbers, two thirds NANP (area codes of the table, random exchanges),
the rest other countries (prefixes of the table padded with random digits), the same
each run. Each lookup is timed over all of them. The table's load (import, first
call) is measured in a fresh process: time, the memory it allocates (tracemalloc) and
the process's resident growth.

The stock way is libphonenumber's ``timezone.time_zones_for_number`` as its full
package serves it: the full ``phonenumbers`` wheel of the pinned release (--wheel, else
``pip download``ed into a temporary directory) put on a separate process's path as a
zip, never installed, over the first --stock numbers. That process also says how many
of them its answer and ours agree on (ours reads its prefixes without parsing and
checking the number; libphonenumber answers "unknown" for a number that is not valid).

Prints JSON. No database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Time and memory in two fresh processes: tracemalloc slows what it traces several times.
LOAD = """
import json, os, sys, time, tracemalloc
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
{setup}
before = rss()
if sys.argv[1] == "memory":
    tracemalloc.start()
start = time.perf_counter()
{load}
seconds = time.perf_counter() - start
if sys.argv[1] == "memory":
    current, peak = tracemalloc.get_traced_memory()
    print(json.dumps({{"allocated_mb": round(current / 2**20, 2), "peak_mb": round(peak / 2**20, 2)}}))
else:
    print(json.dumps({{"seconds": round(seconds, 4), "rss_growth_mb": round((rss() - before) / 2**20, 1)}}))
"""

# The site imports phonenumbers anyway: its import is outside both measures.
SETUP = "import phonenumbers"
OURS_LOAD = "import leads.phonedata as p\np.zones_for('+12125551234'); p.region_for('+12125551234')"
STOCK_LOAD = "import phonenumbers.timezone as t\nt.time_zones_for_number(phonenumbers.parse('+12125551234'))"

STOCK = """
import json, sys, time
import phonenumbers
from phonenumbers.timezone import time_zones_for_number
def _parse(number):
    try:
        return phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return None
assert "site-packages" not in phonenumbers.__file__, phonenumbers.__file__
numbers = json.load(open(sys.argv[1]))
start = time.perf_counter()
answers = []
for number in numbers:
    try:
        parsed = phonenumbers.parse(number)
        zones = time_zones_for_number(parsed)
    except phonenumbers.NumberParseException:
        parsed, zones = None, ("Etc/Unknown",)
    answers.append(sorted(z for z in zones if z != "Etc/Unknown"))
seconds = time.perf_counter() - start
# Which numbers libphonenumber would store as they are (leads hold only those).
normalized = [
    parsed is not None and phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    for number, parsed in ((n, _parse(n)) for n in numbers)
]
print(json.dumps({"version": phonenumbers.__version__, "seconds": seconds, "answers": answers, "normalized": normalized}))
"""


def numbers(count: int, zones: dict[str, tuple[str, ...]]) -> list[str]:
    rng = random.Random(13)
    areas = sorted({p[:4] for p in zones if p.startswith("1") and len(p) >= 4})
    others = sorted(p for p in zones if not p.startswith("1"))
    made = []
    for i in range(count):
        if i % 3:
            made.append(f"+{rng.choice(areas)}{rng.randint(2, 9)}{rng.randrange(10**6):06d}")
        else:
            prefix = rng.choice(others)
            made.append("+" + prefix + "".join(rng.choices("0123456789", k=max(0, rng.randint(10, 12) - len(prefix)))))
    return made


def per_call(function, items: list[str]) -> float:
    """Nanoseconds per call, the loop's own cost included (as a caller pays it)."""
    start = time.perf_counter()
    for item in items:
        function(item)
    return round((time.perf_counter() - start) / len(items) * 1e9, 1)


def load(code: str, env: dict[str, str] | None = None) -> dict:
    measured = {}
    for what in ("time", "memory"):
        run = subprocess.run(
            [sys.executable, "-c", LOAD.format(setup=SETUP, load=code), what],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=True,
        )
        measured |= json.loads(run.stdout)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--stock", type=int, default=100_000, help="numbers for libphonenumber's own lookup (0: none)")
    parser.add_argument("--wheel", type=Path, help="the full phonenumbers wheel of the pinned release")
    args = parser.parse_args()

    import phonenumbers

    from leads import phonedata
    from leads.phonedata import build

    items = numbers(args.numbers, phonedata._tables().zones.table)
    result: dict = {
        "libphonenumber": phonedata.VERSION,
        "numbers": len(items),
        "ns_per_call": {
            "zones_for": per_call(phonedata.zones_for, items),
            "region_for": per_call(phonedata.region_for, items),
            "country_code": per_call(phonedata.country_code, items),
            "empty_loop": per_call(lambda _: None, items),
        },
        "load": load(OURS_LOAD),
    }
    if args.stock:
        with tempfile.TemporaryDirectory() as directory:
            wheel = args.wheel or build.download_wheel(phonenumbers.__version__, Path(directory))
            sample = items[: args.stock]
            numbers_file = Path(directory) / "numbers.json"
            numbers_file.write_text(json.dumps(sample))
            # PYTHONPATH comes before site-packages: the full package from the zip, in that process only.
            env = {"PYTHONPATH": str(wheel.resolve())}
            run = subprocess.run(
                [sys.executable, "-c", STOCK, str(numbers_file)],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                check=True,
            )
            stock = json.loads(run.stdout)
            ours = [list(phonedata.zones_for(n)) for n in sample]
            # A number libphonenumber would store otherwise (a national prefix after the
            # country code: +7 8…) is not what a lead holds: compared apart.
            stored = {n for n, ok in zip(sample, stock["normalized"]) if ok}
            differ = [(n, o, s) for n, o, s in zip(sample, ours, stock["answers"]) if o != s and n in stored]
            # libphonenumber answers a number that is not valid with "unknown", and a
            # number of a type it deems non-geographic (a mobile in most countries, a
            # toll-free number) with its country's zones; ours answers by the prefix.
            unknown = [d for d in differ if not d[2]]
            by_country = phonedata._tables().zones.table
            country = [d for d in differ if d[2] and d[2] == list(by_country.get(phonedata.country_code(d[0]), ()))]
            other = [d for d in differ if d[2] and d not in country]
            result["stock"] = {
                "what": "phonenumbers.timezone.time_zones_for_number(phonenumbers.parse(n)), full package from the wheel",
                "version": stock["version"],
                "numbers": len(sample),
                "ns_per_call": round(stock["seconds"] / len(sample) * 1e9, 1),
                "load": load(STOCK_LOAD, env),
                "not_normalized": len(sample) - len(stored),
                "agree_of_normalized": len(stored) - len(differ),
                "differ_stock_says_unknown": len(unknown),
                "differ_stock_says_its_country": len(country),
                "differ_otherwise": len(other),
                "differ_otherwise_examples": other[:5],
            }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
