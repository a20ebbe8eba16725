"""Export leads from the command line, with the same filters and layout as the list's
Export."""

import os
import sys
from contextlib import suppress

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from campaigns.models import Campaign
from campaigns.selectors import campaign_by_id_or_name
from leads.exports import services as exports
from leads.exports.writing import csv_export, default_columns, xlsx_chunks
from leads.filters import FilterProblem, LeadFilter
from leads.selectors import DEFAULT_ORDERING, lead_list


class Command(BaseCommand):
    help = "Export leads to CSV or XLSX; `-` or no -o writes to standard output."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", help="The campaign's id or exact name.")
        parser.add_argument("--status", action="append", default=[], help="A status (repeatable: any of them).")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"Any filter: {', '.join(LeadFilter.base_filters)}. Repeatable.",
        )
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--bom", action="store_true", help="CSV for Excel: UTF-8 with a BOM.")
        parser.add_argument("-o", "--output", default="-", help="The file to write; - is standard output.")

    def handle(self, *args, **options):
        params = QueryDict(mutable=True)
        if options["campaign"]:
            params["campaign"] = str(_campaign(options["campaign"]).pk)
        params.setlist("status", options["status"])
        for pair in options["filter"]:
            name, sep, value = pair.partition("=")
            if not sep or name not in LeadFilter.base_filters:
                raise CommandError(
                    f'--filter "{pair}": write NAME=VALUE with one of {", ".join(LeadFilter.base_filters)}.'
                )
            params.appendlist(name, value)
        try:
            leads = lead_list(filters=params)
        except FilterProblem as problem:
            raise CommandError(str(problem)) from None
        header = default_columns(leads).header()
        fmt, to_file = options["format"], options["output"] != "-"
        record = exports.export_create(
            user=None,
            file_format=fmt,
            filters=params.urlencode(),
            ordering=list(DEFAULT_ORDERING),
            columns=header,
            file_name=os.path.basename(options["output"]) if to_file else "",
        )
        if fmt == "xlsx":
            export = exports.Recorded(lambda on_done: xlsx_chunks(leads, header, on_done=on_done), record=record)
        else:
            export = exports.Recorded(
                lambda on_done: csv_export(leads, header, bom=options["bom"], on_done=on_done), record=record
            )
        try:
            target = open(options["output"], "wb") if to_file else sys.stdout.buffer  # noqa: SIM115 (closed below)
        except OSError as error:
            export.fail(error)
            raise CommandError(f"Cannot write {options['output']}: {error.strerror}.") from None
        try:
            for chunk in export:
                target.write(chunk)
            target.flush()
        except BrokenPipeError:
            export.close("the reader stopped reading")
            return  # the reader stopped early (| head): its choice, not an error
        except Exception as error:
            # Whatever stopped it (the database, a full disk), the record says so and no
            # half-written file is left behind.
            export.fail(error)
            if to_file:
                with suppress(OSError):
                    target.close()
                if os.path.isfile(options["output"]):  # a file, not a device such as /dev/full
                    os.remove(options["output"])
            raise CommandError(f"The export failed: {error}") from None
        finally:
            export.close()
            if to_file:
                with suppress(OSError):
                    target.close()
        record.refresh_from_db()
        if to_file:
            self.stderr.write(f"Exported {record.rows} leads to {options['output']}.")


def _campaign(key: str) -> Campaign:
    campaign = campaign_by_id_or_name(key)
    if campaign is None:
        raise CommandError(f"No campaign has the id or name “{key}”.")
    return campaign
