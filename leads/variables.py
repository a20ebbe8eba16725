"""Variable values as people type them: name=value lines; and a value as text."""

import json
from collections.abc import Mapping

from django.core.exceptions import ValidationError

from campaigns.validators import VARIABLE_NAME_RE

MAX_VALUE_LENGTH = 1000


def parse_pairs(text: str) -> dict[str, str]:
    """Read ``name=value`` lines (blank lines ignored) into a dict, or raise
    ValidationError naming every bad line."""
    values: dict[str, str] = {}
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            errors.append(f"Line {number}: write name=value.")
        elif not VARIABLE_NAME_RE.match(name):
            errors.append(f"Line {number}: “{name}” is not a variable name (lower-case letters, digits and _).")
        elif name in values:
            errors.append(f"Line {number}: {name} is given twice.")
        elif len(value) > MAX_VALUE_LENGTH:
            errors.append(f"Line {number}: the value of {name} is longer than {MAX_VALUE_LENGTH} characters.")
        else:
            values[name] = value
    if errors:
        raise ValidationError(errors)
    return values


def format_pairs(values: Mapping[str, object]) -> str:
    return "\n".join(f"{name}={value}" for name, value in values.items())


def value_text(value: object) -> str:
    """A variable's or a result's JSON value as text, as the export writes it and as
    PostgreSQL's ``->>`` gives it (so the COPY export writes the same): text as it is,
    true/false, numbers, objects and lists as JSON, null as nothing."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
