"""How a lead is named on every page: its primary number and the person's name, read
from the primary number's variables (``Lead.__str__``)."""

# The variables that hold the person's name, the first one filled in wins; else
# first_name and last_name together. The names the demo, the bench and the usual
# AI-calling platforms' assistants use.
NAME_VARIABLES = ("name", "full_name", "customer_name", "contact_name")
NAME_PARTS = ("first_name", "last_name")
# A name longer than this is cut (with …) where a lead is named: a value is up to 1,000 characters.
NAME_SHOWN = 60


def _name_text(value: object) -> str:
    if value is None or isinstance(value, (bool, dict, list)):
        return ""
    return " ".join(str(value).split())


def person_name(variables: object, *, shown: int | None = NAME_SHOWN) -> str:
    """The name of the person a lead's (primary number's) variables describe, or "";
    cut to ``shown`` characters (None: whole)."""
    if not isinstance(variables, dict):
        return ""
    name = next((text for key in NAME_VARIABLES if (text := _name_text(variables.get(key)))), "")
    if not name:
        name = " ".join(text for key in NAME_PARTS if (text := _name_text(variables.get(key))))
    return name if shown is None or len(name) <= shown else name[: shown - 1] + "…"


def lead_label(phone: str, variables: object) -> str:
    """How a lead is named: "+14155550123 · Ana García", or the number alone."""
    name = person_name(variables)
    return f"{phone} · {name}" if name else phone
