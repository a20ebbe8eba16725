"""The leads export as a django-import-export resource.

Its fields are the export's columns (the layout the import reads: the primary
number, variables, secondary numbers and their values, the time zone, status and
history), worked out for the selection being exported. django-import-export's
Export page offers them for the operator to pick, with its formats. Rows come from
``leads.exports.writing``, the same cells the streamed CSV and the worker's XLSX hold, so a
file never depends on which path wrote it.
"""

from __future__ import annotations

import tablib
from import_export import fields, resources

from leads.models import Lead

from .writing import GROUP_LABELS, export_header, export_rows


class LeadResource(resources.ModelResource):
    """Columns are declared per selection by ``lead_resource``."""

    class Meta:
        model = Lead
        fields: tuple[str, ...] = ()

    def export(self, queryset=None, **kwargs) -> tablib.Dataset:
        """django-import-export's in-memory export (the Export page uses it only for
        small selections), with the picked columns in the resource's order."""
        picked = kwargs.get("export_fields")
        leads = queryset if queryset is not None else Lead.objects.all()
        header = export_header(leads, [name for name in self.get_export_order() if not picked or name in picked])
        rows = export_rows(leads, header)
        dataset = tablib.Dataset(headers=next(rows))
        for row in rows:
            dataset.append(row)
        return dataset


def lead_resource(choices: list[str]) -> type[LeadResource]:
    """A LeadResource class whose fields are the export's ``choices`` (exports.
    export_choices: columns, and groups of columns the export expands), in order."""
    header = list(choices)
    declared = {
        name: fields.Field(attribute=None, column_name=GROUP_LABELS.get(name, name), readonly=True) for name in header
    }
    meta = type("Meta", (), {"model": Lead, "fields": tuple(header), "export_order": tuple(header)})
    return type("LeadResource", (LeadResource,), {**declared, "Meta": meta, "__module__": __name__})
