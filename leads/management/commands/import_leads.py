"""Import a lead file from the command line, through the same code as the wizard."""

import json
import shutil
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from campaigns.selectors import campaign_by_id_or_name
from leads.imports.columns import MappingProblem, normalize_header, parse_target
from leads.imports.services import ImportProblem, import_create, import_run, import_validate, mapping_save
from leads.models import ImportRecord
from leads.transitions import Actor


class Command(BaseCommand):
    help = "Import leads from a CSV, XLSX or XLS file into a campaign."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The .csv, .xlsx or .xls file.")
        parser.add_argument("--campaign", required=True, help="The campaign's id or exact name.")
        parser.add_argument("--national", metavar="CC", help="Numbers are national, of this country (e.g. GB).")
        parser.add_argument(
            "--on-duplicate",
            choices=["skip", "update"],
            default="skip",
            help="What to do with a lead the campaign already has (default: skip).",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar='"File column=target"',
            help="Send a column somewhere else: phone_number, a variable name, secondary_phone_N, "
            "secondary_N_<variable>, timezone, consent, consent_at, consent_source, consent_certificate or ignore. Repeatable.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Validate and count; write nothing.")
        parser.add_argument("--errors", metavar="OUT.csv", help="Write the error report here.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a summary.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        campaign = _campaign(options["campaign"])
        try:
            with path.open("rb") as handle:
                record = import_create(
                    campaign=campaign,
                    file=File(handle),
                    file_name=path.name,
                    number_format=ImportRecord.NumberFormat.NATIONAL
                    if options["national"]
                    else ImportRecord.NumberFormat.INTERNATIONAL,
                    country=options["national"] or "",
                    on_duplicate=options["on_duplicate"],
                    dry_run=options["dry_run"],
                )
            if options["map"]:
                mapping_save(record=record, targets=self._remap(record, options["map"]), remember=False)
            import_validate(record=record)
            if record.status == ImportRecord.Status.FAILED:
                raise CommandError(record.message)
            if not options["dry_run"]:
                import_run(record=record, actor=Actor(source="import"))
        except (ImportProblem, MappingProblem) as problem:
            raise CommandError(str(problem)) from None
        if options["errors"]:
            with record.error_report.open("rb") as source, open(options["errors"], "wb") as target:
                shutil.copyfileobj(source, target)
        seconds = round((record.validation_seconds or 0) + (record.import_seconds or 0), 3)
        summary = {
            "new": record.rows_new,
            "updated": record.rows_updated,
            "skipped": record.rows_skipped,
            "rejected": record.rows_rejected,
            "seconds": seconds,
            "import": record.pk,
            "dry_run": record.dry_run,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            verb = "Would import" if record.dry_run else "Imported"
            self.stdout.write(
                f"{verb} {path.name} into “{campaign.name}”: {record.rows_new} new, {record.rows_updated} updated, "
                f"{record.rows_skipped} skipped, {record.rows_rejected} rejected, in {seconds} s (import #{record.pk})."
            )
            if record.rows_rejected and not options["errors"]:
                self.stdout.write("Use --errors OUT.csv to get the rejected rows with their reasons.")

    def _remap(self, record: ImportRecord, pairs: list[str]) -> list[str]:
        targets = list(record.mapping)
        by_name = {normalize_header(h): i for i, h in enumerate(record.header)}
        for pair in pairs:
            column, sep, target = pair.rpartition("=")
            if not sep or not column.strip():
                raise CommandError(f'--map "{pair}": write "File column=target".')
            index = by_name.get(normalize_header(column))
            if index is None:
                raise CommandError(f'--map "{pair}": the file has no column “{column.strip()}”.')
            target = parse_target(target)
            # The target moves: whichever column had it before goes nowhere.
            targets = ["" if t == target and target else t for t in targets]
            targets[index] = target
        return targets


def _campaign(key: str) -> Campaign:
    campaign = campaign_by_id_or_name(key)
    if campaign is None:
        raise CommandError(f"No campaign has the id or name “{key}”.")
    return campaign
