"""Entry points of the processes that validate large imports in parallel.

A spawned process imports this module before Django is set up, so it imports
nothing that defines models until start() has run.
"""


def start() -> None:
    import django

    django.setup()


def parse_rows(mapping, rows, region):
    from .validation import parse_rows as parse

    return parse(mapping, rows, region)
