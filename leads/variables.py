"""Variable values as people type them: name=value lines."""

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
