"""Leadsite's lead data, one module per concept: leads (with their numbers, history and
the do-not-call list), calls, imports and exports."""

from .calls import REPORTED_OUTCOMES, Call, CallOutcome, CallReport
from .exports import ExportRecord, export_upload_path
from .imports import ImportBatch, ImportRecord, SavedMapping, import_upload_path
from .leads import (
    DIALABLE_LEAD_STATUSES,
    E164_REGEX,
    MAX_DISPOSITION,
    MAX_SECONDARY_NUMBERS,
    Contact,
    ContactStatus,
    DoNotCallNumber,
    Lead,
    LeadStatus,
    StatusChange,
    Waiting,
)

__all__ = [
    "DIALABLE_LEAD_STATUSES",
    "E164_REGEX",
    "MAX_DISPOSITION",
    "MAX_SECONDARY_NUMBERS",
    "REPORTED_OUTCOMES",
    "Call",
    "CallOutcome",
    "CallReport",
    "Contact",
    "ContactStatus",
    "DoNotCallNumber",
    "ExportRecord",
    "ImportBatch",
    "ImportRecord",
    "Lead",
    "LeadStatus",
    "SavedMapping",
    "StatusChange",
    "Waiting",
    "export_upload_path",
    "import_upload_path",
]
