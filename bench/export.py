"""How fast, and in how much memory, leads export.

Exports the newest N leads of the benchmark database that bench/changelist.py seeds
(1,000,000 leads with up to 2 secondary numbers and 5 variables; run it first), as
CSV and as XLSX, through the same code as the list's Export, and prints JSON with
rows per second and the process's peak memory after each; then django-import-export's
stock export (a ModelResource over the same leads, as its documentation sets one up)
over --stock-rows of them, and the ratio of rates:

    .venv/bin/python bench/export.py --rows 1000000 [--stock-rows 20000] [--no-xlsx]

Targets (issue 4): CSV at 70,000 rows/s or more with memory under 200 MB, at least 20
times the stock export.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import common  # noqa: E402  (bench/ is on the path when a script runs; it puts the project there)


def peak_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def stock_export(leads, columns, rows: int) -> dict:
    """django-import-export exporting the same columns, as its documentation sets it
    up: a ModelResource, a field with a dehydrate method per computed column, the
    numbers prefetched, then Dataset.csv."""
    from import_export import fields, resources

    from leads.models import Lead

    def primary(lead):
        return lead.contacts.all()[0] if lead.contacts.all() else None

    def variable(name):
        return lambda lead: primary(lead).variables.get(name, "") if primary(lead) else ""

    def secondary(n, name=None):
        def value(lead):
            numbers = lead.contacts.all()
            if n >= len(numbers):
                return ""
            return numbers[n].phone if name is None else numbers[n].variables.get(name, "")

        return value

    computed = {
        "phone_number": fields.Field(column_name="phone_number", dehydrate_method=lambda lead: primary(lead).phone)
    }
    for name in columns.variables:
        computed[name] = fields.Field(column_name=name, dehydrate_method=variable(name))
    for position in range(1, columns.secondaries + 1):
        computed[f"secondary_phone_{position}"] = fields.Field(
            column_name=f"secondary_phone_{position}", dehydrate_method=secondary(position)
        )
        for name in columns.secondary_variables:
            computed[f"secondary_{position}_{name}"] = fields.Field(
                column_name=f"secondary_{position}_{name}", dehydrate_method=secondary(position, name)
            )
    resource_class = type(
        "LeadResource",
        (resources.ModelResource,),
        {
            **computed,
            "Meta": type(
                "Meta",
                (),
                {
                    "model": Lead,
                    "fields": (
                        *computed,
                        "timezone",
                        "status",
                        "attempts",
                        "last_outcome",
                        "last_attempt_at",
                        "next_attempt_at",
                        "created_at",
                    ),
                },
            ),
        },
    )
    sample = leads.prefetch_related("contacts")[:rows]
    started = time.perf_counter()
    dataset = resource_class().export(sample)
    dataset.csv  # noqa: B018 (the property renders the file: that is what is timed)
    seconds = time.perf_counter() - started
    assert len(dataset) == rows, len(dataset)
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "columns": len(dataset.headers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stock-rows", type=int, default=20_000)
    parser.add_argument("--no-xlsx", action="store_true")
    args = parser.parse_args()

    common.setup_django("leadsite_bench")
    from leads.exports.writing import csv_export, default_columns, export_rows, xlsx_file
    from leads.models import Lead

    total = Lead.objects.count()
    if total < args.rows:
        raise SystemExit(f"The bench database has {total} leads; run bench/changelist.py first.")
    edge = Lead.objects.order_by("-id").values_list("id", flat=True)[args.rows - 1]
    leads = Lead.objects.filter(id__gte=edge).order_by("-id")
    columns = default_columns(leads)
    header = columns.header()
    result: dict = {"database": "postgresql", "rows": args.rows, "columns": len(header), "memory_before_mb": peak_mb()}

    started = time.perf_counter()
    size = 0
    with open(os.devnull, "wb") as sink:
        for block in csv_export(leads, header):
            size += len(block)
            sink.write(block)
    seconds = time.perf_counter() - started
    result["csv"] = {
        "seconds": round(seconds, 1),
        "rows_per_s": round(args.rows / seconds),
        "mb": round(size / 1e6, 1),
        "peak_memory_mb": peak_mb(),
    }

    if not args.no_xlsx:
        started = time.perf_counter()
        handle = xlsx_file(export_rows(leads[: min(args.rows, 1_048_575)], header))
        seconds = time.perf_counter() - started
        handle.seek(0, os.SEEK_END)
        n = min(args.rows, 1_048_575)
        result["xlsx"] = {
            "seconds": round(seconds, 1),
            "rows_per_s": round(n / seconds),
            "mb": round(handle.tell() / 1e6, 1),
            "peak_memory_mb": peak_mb(),
        }

    if args.stock_rows:
        result["stock"] = stock_export(leads, columns, args.stock_rows)
        result["ratio"] = round(result["csv"]["rows_per_s"] / result["stock"]["rows_per_s"], 1)
    result["targets"] = {
        "csv_70k_rows_per_s": result["csv"]["rows_per_s"] >= 70_000,
        "csv_memory_under_200mb": result["csv"]["peak_memory_mb"] < 200,
        "at_least_20x_stock": result.get("ratio", 0) >= 20 if args.stock_rows else None,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
