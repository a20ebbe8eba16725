"""Export leads from the command line, with the same filters and layout as the list's
Export."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from campaigns.models import Campaign
from campaigns.selectors import campaign_by_id_or_name
from leads.exports import Counted, ExportTooLarge, csv_export, default_columns, export_rows, xlsx_file
from leads.filters import FilterProblem, LeadFilter, filter_leads
from leads.models import ExportRecord


class Command(BaseCommand):
    help = "Export leads to CSV or XLSX; `-` or no -o writes to standard output."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", help="The campaign's id or exact name.")
        parser.add_argument("--status", action="append", default=[], help="A status (repeatable: any of them).")
        parser.add_argument("--filter", action="append", default=[], metavar="NAME=VALUE",
                            help=f"Any filter: {', '.join(LeadFilter.base_filters)}. Repeatable.")
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
                raise CommandError(f'--filter "{pair}": write NAME=VALUE with one of {", ".join(LeadFilter.base_filters)}.')
            params.appendlist(name, value)
        try:
            leads = filter_leads(params).order_by("-id")
        except FilterProblem as problem:
            raise CommandError(str(problem)) from None
        header = default_columns(leads).header()
        written: list[int] = []
        if options["format"] == "xlsx":
            try:
                content = xlsx_file(Counted(export_rows(leads, header), on_done=written.append))
            except ExportTooLarge as problem:
                raise CommandError(str(problem)) from None
            chunks = iter(lambda: content.read(1024 * 1024), b"")
        else:
            chunks = csv_export(leads, header, bom=options["bom"], on_done=written.append)
        record = ExportRecord.objects.create(file_format=options["format"], filters=params.urlencode(),
                                             columns=header)
        target = sys.stdout.buffer if options["output"] == "-" else open(options["output"], "wb")
        try:
            for chunk in chunks:
                target.write(chunk)
        except BrokenPipeError:
            return  # the reader stopped early (| head): not an error
        finally:
            if target is not sys.stdout.buffer:
                target.close()
        record.rows = record.rows_written = written[0]
        record.status = ExportRecord.Status.DONE
        record.save(update_fields=["rows", "rows_written", "status"])
        if options["output"] != "-":
            self.stderr.write(f"Exported {record.rows} leads to {options['output']}.")


def _campaign(key: str) -> Campaign:
    campaign = campaign_by_id_or_name(key)
    if campaign is None:
        raise CommandError(f"No campaign has the id or name “{key}”.")
    return campaign
